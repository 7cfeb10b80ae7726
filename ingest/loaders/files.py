"""Which files a user's paths name: folders walked, metadata and noise left out, the rest reasoned."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset({".txt", ".md", ".docx", ".pdf", ".html", ".htm"})
_OLD_WORD_EXTENSIONS = {".doc", ".wps", ".rtf"}


def _supported_list() -> str:
    return ", ".join(sorted(SUPPORTED_EXTENSIONS))


def unsupported_reason(path: Path) -> str:
    ext = path.suffix.lower()
    if not ext:
        return f"no file extension (supported: {_supported_list()})"
    reason = f"unsupported file type '{ext}' (supported: {_supported_list()})"
    if ext in _OLD_WORD_EXTENSIONS:
        reason += "; open it in Word or WPS and save it as .docx"
    return reason


def _is_metadata_file(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(".meta.json") or lowered == "manifest.csv"


def _is_hidden(name: str) -> bool:
    # `~$x.docx` is the lock file Word leaves next to an open document.
    return name.startswith((".", "~$"))


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not _is_hidden(d)]
        base = Path(dirpath)
        found.extend(base / name for name in filenames if not _is_hidden(name))
    return sorted(found, key=lambda p: p.relative_to(root).parts)


def find_report_files(paths: Iterable[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand `paths` (files and directories, recursively) into report files to load.

    Returns `(files, skipped)`: files in a deterministic order (each directory's contents sorted
    by relative path, each file once), and `(path, reason)` for each path that will not be
    loaded. Hidden files,
    Word lock files (`~$…`), `*.meta.json` sidecars and `manifest.csv` are metadata or noise and
    are left out silently.
    """
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def consider(path: Path, *, explicit: bool) -> None:
        if _is_metadata_file(path.name) or (not explicit and _is_hidden(path.name)):
            return
        key = path.resolve()
        if key in seen:
            return
        seen.add(key)
        if not path.is_file():
            skipped.append((path, "not a regular file"))
        elif path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            skipped.append((path, unsupported_reason(path)))
        else:
            files.append(path)

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in _walk(path):
                consider(found, explicit=False)
        elif path.exists():
            consider(path, explicit=True)
        else:
            skipped.append((path, "no such file or directory"))
    return files, skipped
