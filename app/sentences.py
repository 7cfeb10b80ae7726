"""A passage's sentences, and those a quote can be: what an answer cites, what a topic is scored on.

The sentences are cut once per passage when the index snapshot is built (`sentence_rows`, kept
by `index_snapshot`), so a question over 10,000s of reports reads them from an array and
finds the quotable ones with numpy (`quotable_rows`) instead of cutting every passage again.
"""

from __future__ import annotations

import numpy as np

from ingest.passages import sentence_spans
from ingest.sections import LEVEL1, LEVEL2

SHORT_SENTENCE = 24
HEADING, SECTION_TITLE = 1, 2  # kinds of sentence (`sentence_rows`)
_SENTENCE_ENDS = "。；;！!？?"
_HEADING_ENDS = "。：:；;，,"


def quotable_spans(text: str, section: str = "") -> list[tuple[int, int, bool]]:
    """(start, end, joined) of the passage's sentences a quote can be: headings left out (their
    content follows), a short sentence joined with the next ("二是突出矛盾化解。" says little
    alone; the next is also a span of its own). `section`: the heading of the passage's section
    (`section_title`); repeated in its text, it is no quote while the passage has another
    sentence ("三、2023年度推进法治政府建设存在的不足和原因" only names what the citation shows)."""
    spans = sentence_spans(text, 0, len(text))
    out, titles = [], []
    for i, (a, b) in enumerate(spans):
        kind = _kind(text, a, b, section)
        joined = b - a < SHORT_SENTENCE and i + 1 < len(spans)
        if joined:
            if kind:
                continue
            b = spans[i + 1][1]
        (titles if kind == SECTION_TITLE else out).append((a, b, joined))
    return out or titles


def section_title(meta: dict) -> str:
    """The heading of the section a passage is in: the first of its `heading` path, unless
    that is a (一)-level heading (a report without 一、 headings)."""
    first = str(meta.get("heading", "")).split(" > ", 1)[0].strip()
    return "" if LEVEL2.match(first) and not LEVEL1.match(first) else first


def sentence_rows(text: str, section: str = "") -> list[tuple[int, int, int]]:
    """(start, end, kind) of the passage's sentences (`sentence_spans`): kind HEADING for a
    heading, SECTION_TITLE for its section's own heading (`quotable_spans`), 0 otherwise."""
    return [(a, b, _kind(text, a, b, section)) for a, b in sentence_spans(text, 0, len(text))]


def quotable_rows(rows: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`quotable_spans` of several passages at once, from their `sentence_rows` one passage
    after another (`counts[p]` rows for passage p): rows of (start, end, joined), and how
    many each passage has."""
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    ends = np.cumsum(counts)
    last = np.zeros(len(rows), dtype=bool)
    last[ends[counts > 0] - 1] = True
    a, b, kind = rows[:, 0], rows[:, 1], rows[:, 2]
    heading = kind != 0
    joined = (b - a < SHORT_SENTENCE) & ~last
    keep = ~(joined & heading)
    owner = np.repeat(np.arange(len(counts)), counts)
    title = keep & ~joined & (kind == SECTION_TITLE)
    others = np.bincount(owner[keep & ~title], minlength=len(counts))
    keep &= ~(title & (others[owner] > 0))
    following = np.r_[b[1:], 0] if len(b) else b
    spans = np.stack([a, np.where(joined, following, b), joined], axis=1)[keep]
    return spans, np.bincount(owner[keep], minlength=len(counts))


def _is_heading(text: str, a: int, b: int) -> bool:
    return _ends_line_unfinished(text, b) or bool(LEVEL1.match(text[a:b]))


def _ends_line_unfinished(text: str, b: int) -> bool:
    """Whether a sentence ending at `b` ends its line without a sentence's end."""
    return (b >= len(text) or text[b] == "\n") and text[b - 1] not in _SENTENCE_ENDS


def _is_title(text: str, a: int, b: int, section: str) -> bool:
    """Whether text[a:b] is a section's own heading: the passage's section heading (whitespace
    and end punctuation aside; ingest keeps a long one's first 40 characters), or a line of its
    own numbered 一、 that ends without a sentence's end."""
    if section:
        span, bare = _bare(text[a:b]), _bare(section)
        if span == bare or (len(section) >= 40 and span.startswith(bare)):
            return True
    if not _ends_line_unfinished(text, b):
        return False
    # a line of its own: only spaces between the line's break and the sentence
    line = text.rfind("\n", 0, a)
    alone = a == 0 or (line >= 0 and not text[line + 1 : a].strip(" \t\u3000"))
    return alone and bool(LEVEL1.match(text[a:b]))


def _bare(heading: str) -> str:
    return "".join(heading.split()).rstrip(_HEADING_ENDS)


def _kind(text: str, a: int, b: int, section: str) -> int:
    if _is_title(text, a, b, section):
        return SECTION_TITLE
    return HEADING if _is_heading(text, a, b) else 0
