"""The reason a file cannot be loaded, raised by each format's loader."""

from __future__ import annotations


class LoadFailure(Exception):
    """A reason a file cannot be loaded; `load_document` adds the path to make a `ReportLoadError`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def format_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} bytes"
