"""How large a report file may be, and how far its compressed parts may expand.

One knob, `max_bytes` (`--max-bytes`, `FAZHI_MAX_BYTES`), sets them all: a file may be at most
`max_bytes` on disk, and what it unpacks to (a .docx's XML parts, a PDF's compressed streams) at
most `EXPANSION_FACTOR` times that. Real reports stay far below: a 30-page report's
`word/document.xml` is about 1 MB and compresses 5-20 times; a zip bomb expands a thousand times.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
EXPANSION_FACTOR = 10
"""A file's unpacked parts may hold at most this many times `max_bytes`, each and together."""
MAX_RATIO = 100
"""Unpacked-to-packed size above which a large part is refused as a bomb."""
RATIO_FLOOR = 1024 * 1024
"""Parts smaller than this are never refused for their ratio (tiny XML compresses very well)."""
MAX_PARTS = 10_000
"""A Word file has a few dozen parts; tens of thousands only make the package slow to open."""


@dataclass(frozen=True)
class ExpansionLimits:
    """What a compressed file may unpack to before it is refused, unread."""

    part_bytes: int  # one .docx part, or one PDF stream, unpacked
    total_bytes: int  # all parts or all page content together
    max_ratio: int = MAX_RATIO
    ratio_floor: int = RATIO_FLOOR
    max_parts: int = MAX_PARTS

    @classmethod
    def for_max_bytes(cls, max_bytes: int) -> ExpansionLimits:
        budget = max(EXPANSION_FACTOR * max_bytes, RATIO_FLOOR)
        return cls(part_bytes=budget, total_bytes=budget)
