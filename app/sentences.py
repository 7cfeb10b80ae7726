"""A passage's sentences, and those a quote can be: what an answer cites, what a topic is scored on.

The sentences are cut once per passage when the index snapshot is built (`sentence_rows`, kept
by `index_snapshot`), so a question over 10,000s of reports reads them from an array and
finds the quotable ones with numpy (`quotable_rows`) instead of cutting every passage again.
"""

from __future__ import annotations

import numpy as np

from ingest.passages import sentence_spans
from ingest.sections import LEVEL1

SHORT_SENTENCE = 24


def quotable_spans(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, joined) of the passage's sentences a quote can be: headings left out (their
    content follows), a short sentence joined with the next ("二是突出矛盾化解。" says little
    alone; the next is also a span of its own)."""
    spans = sentence_spans(text, 0, len(text))
    out = []
    for i, (a, b) in enumerate(spans):
        joined = b - a < SHORT_SENTENCE and i + 1 < len(spans)
        if joined:
            if _is_heading(text, a, b):
                continue
            b = spans[i + 1][1]
        out.append((a, b, joined))
    return out


def sentence_rows(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, heading) of the passage's sentences (`sentence_spans`)."""
    return [(a, b, _is_heading(text, a, b)) for a, b in sentence_spans(text, 0, len(text))]


def quotable_rows(rows: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`quotable_spans` of several passages at once, from their `sentence_rows` one passage
    after another (`counts[p]` rows for passage p): rows of (start, end, joined), and how
    many each passage has."""
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    ends = np.cumsum(counts)
    last = np.zeros(len(rows), dtype=bool)
    last[ends[counts > 0] - 1] = True
    a, b, heading = rows[:, 0], rows[:, 1], rows[:, 2].astype(bool)
    joined = (b - a < SHORT_SENTENCE) & ~last
    keep = ~(joined & heading)
    following = np.r_[b[1:], 0] if len(b) else b
    spans = np.stack([a, np.where(joined, following, b), joined], axis=1)[keep]
    owner = np.repeat(np.arange(len(counts)), counts)
    return spans, np.bincount(owner[keep], minlength=len(counts))


def _is_heading(text: str, a: int, b: int) -> bool:
    line_end = b >= len(text) or text[b] == "\n"
    return (line_end and text[b - 1] not in "。；;！!？?") or bool(LEVEL1.match(text[a:b]))
