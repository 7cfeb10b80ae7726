"""Split typed sections into retrieval-sized passages at sentence boundaries.

A passage never crosses a section; each keeps [start, end) offsets into the cleaned report text
and the heading path active where it starts.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ingest.model import Passage, Section
from ingest.sections import LEVEL2, LEVEL3, subheading_at

_SENTENCE_END = re.compile(r"[。；;！!？?]+[”’」』）)]*|\n+")
_CLAUSE_END = re.compile(r"[，,、：:]")
_ENUMERATOR = re.compile(r"^[一二三四五六七八九十]{1,2}(是|要)")


@dataclass(frozen=True)
class ChunkSettings:
    """Sizes in characters; recorded with the store so an index is never mixed."""

    target_chars: int = 300
    max_chars: int = 400
    min_chars: int = 150

    def as_metadata(self) -> dict[str, int]:
        return {
            "chunk_target_chars": self.target_chars,
            "chunk_max_chars": self.max_chars,
            "chunk_min_chars": self.min_chars,
        }


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) spans of sentences in text[start:end], whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    pos = start
    for match in _SENTENCE_END.finditer(text, start, end):
        stop = match.end() if match.group().strip() else match.start()
        _append_trimmed(text, pos, stop, spans)
        pos = match.end()
    _append_trimmed(text, pos, end, spans)
    return spans


def _append_trimmed(text: str, a: int, b: int, spans: list[tuple[int, int]]) -> None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if b > a:
        spans.append((a, b))


def _split_long(text: str, a: int, b: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence at clause marks (，、：), never mid-clause if avoidable."""
    pieces: list[tuple[int, int]] = []
    while b - a > max_chars:
        cut = None
        for match in _CLAUSE_END.finditer(text, a, a + max_chars):
            if match.end() - a >= max_chars // 2:
                cut = match.end()
        cut = cut or a + max_chars
        pieces.append((a, cut))
        a = cut
    pieces.append((a, b))
    return pieces


def _starts_block(text: str, a: int) -> bool:
    line_start = a == 0 or text[a - 1] == "\n"
    head = text[a : a + 8]
    return line_start or bool(LEVEL2.match(head) or LEVEL3.match(head) or _ENUMERATOR.match(head))


def passage_id(report_id: str, start: int, end: int) -> str:
    return hashlib.sha1(f"{report_id}:{start}:{end}".encode()).hexdigest()[:16]


def split_passages(
    report_id: str, text: str, sections: list[Section], settings: ChunkSettings | None = None
) -> list[Passage]:
    settings = settings or ChunkSettings()
    passages: list[Passage] = []
    for section in sections:
        if section.heading == "落款":
            continue
        units: list[tuple[int, int]] = []
        for a, b in sentence_spans(text, section.start, section.end):
            units.extend(_split_long(text, a, b, settings.max_chars))
        groups: list[list[tuple[int, int]]] = []
        current: list[tuple[int, int]] = []
        for unit in units:
            size = current[-1][1] - current[0][0] if current else 0
            unit_len = unit[1] - unit[0]
            new_block = _starts_block(text, unit[0]) and size >= settings.min_chars
            if current and (
                size + unit_len > settings.max_chars or new_block or size >= settings.target_chars
            ):
                groups.append(current)
                current = []
            current.append(unit)
        if current:
            groups.append(current)
        # a short tail joins its predecessor when the result still fits
        if len(groups) > 1:
            tail = groups[-1][-1][1] - groups[-1][0][0]
            merged = groups[-1][-1][1] - groups[-2][0][0]
            if tail < settings.min_chars // 2 and merged <= settings.max_chars + settings.min_chars:
                groups[-2].extend(groups.pop())
        for group in groups:
            start, end = group[0][0], group[-1][1]
            passages.append(
                Passage(
                    id=passage_id(report_id, start, end),
                    report_id=report_id,
                    ordinal=len(passages),
                    section=section.type,
                    heading_path=_heading_path(text, section, start),
                    start=start,
                    end=end,
                    text=text[start:end],
                )
            )
    return passages


def _heading_path(text: str, section: Section, start: int) -> list[str]:
    """The section heading, then the nearest (一)-level heading at or before `start`."""
    path = [section.heading] if section.heading else []
    sub = subheading_at(text[section.start : section.end], start - section.start)
    return [*path, sub] if sub else path
