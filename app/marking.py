"""The best sentence of many passages for one topic, marked at once (corpus-wide questions).

A corpus-wide question marks ~3 passages per report in scope: 30,000 at 10,000 reports.
`HybridRetriever.mark_best_sentence` marks one passage at a time, with Python work per passage,
per sentence and per topic string. Here the passages' texts are joined into one string, each
topic string is found in it by one C-level search, and numpy places every occurrence in its
passage and its sentences; each passage's best sentence is then chosen by one sort. The marks
are the same as one by one (tests/test_marking.py compares the two on every sample passage).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from app.index_snapshot import PassageTable
    from app.retrieval import Hit, HybridRetriever, Topic

_SEPARATOR = "\x1f"  # between passages: no topic string holds it, so none spans two


def mark_passages(
    retriever: HybridRetriever,
    passages: PassageTable,
    hits: list[Hit],
    rows: np.ndarray,
    topic: Topic,
    coverage_floor: float,
) -> None:
    """Mark each hit's best sentence, as `mark_best_sentence` does, if its passage holds some of
    the topic's strings and, as a whole text, covers at least `coverage_floor` of the topic
    (with a floor of 0, any string will do). `rows`: the hits' passages in `passages`, the
    snapshot's."""
    strings = topic.strings
    if not hits or not strings:
        return
    texts = [hit.passage.text for hit in hits]
    starts = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) + 1 for t in texts], out=starts[1:])
    found = _found(texts, starts, strings)
    if not found:
        return
    words = (len(strings) + 63) // 64
    held = np.zeros((len(hits), words), dtype=np.uint64)
    for i, _, _, owner in found:
        np.bitwise_or.at(held[:, i // 64], owner, np.uint64(1 << (i % 64)))
    masks, inverse = _unique_masks(held)
    # a passage's text as a whole, like a sentence, covers the topic by the strings it holds
    enough = np.array(
        [
            bool(m)
            and (coverage_floor <= 0 or retriever._span_scores(m, topic)[1] >= coverage_floor)
            for m in masks
        ],
        dtype=bool,
    )
    todo: list[int] = []
    for h in np.nonzero(enough[inverse])[0].tolist():
        hit = hits[h]
        mark = topic.marks.get(hit.passage.id, False)
        if mark is False:
            todo.append(h)
        elif mark is not None:
            hit.coverage, hit.sentence = mark
    if todo:
        chosen = np.asarray(rows)[todo]
        sentences, counts = passages.quotable_rows(chosen)
        _mark_sentences(
            [hits[h] for h in todo],
            starts[todo],
            passages.starts[chosen],
            sentences,
            counts,
            found,
            retriever,
            topic,
        )


def _mark_sentences(
    hits: list[Hit],
    starts: np.ndarray,
    offsets: np.ndarray,
    table: np.ndarray,
    counts: np.ndarray,
    found: list[tuple[int, np.ndarray, int, np.ndarray]],
    retriever: HybridRetriever,
    topic: Topic,
) -> None:
    """Mark the hits' best sentences. `starts`: where each passage's text begins in the joined
    text the occurrences in `found` (string index, starts, length) were found in; `offsets`:
    where it begins in its report; `table`: the passages' quotable sentences (start, end,
    joined), `counts[h]` of them for hit h."""
    table = np.asarray(table, dtype=np.int64)
    owner = np.repeat(np.arange(len(hits)), counts)
    local = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    begin, end = table[:, 0] + starts[owner], table[:, 1] + starts[owner]
    held = np.zeros((len(owner), (len(topic.strings) + 63) // 64), dtype=np.uint64)
    for i, at, length, _ in found:
        # a sentence holds an occurrence when it starts at or before it and ends at or after
        # its end: only the last sentence starting at or before it, or the one before that
        # when that one is a short sentence joined with the next, can
        last = np.searchsorted(begin, at, side="right") - 1
        for k in (last, last - 1):
            inside = (k >= 0) & (end[np.maximum(k, 0)] >= at + length)
            np.bitwise_or.at(held[:, i // 64], k[inside], np.uint64(1 << (i % 64)))
    masks, inverse = _unique_masks(held)
    scores = [retriever._span_scores(m, topic) if m else (0.0, 0.0) for m in masks]
    rank = np.array([r for r, _ in scores], dtype=np.float64).reshape(-1)[inverse]
    strict = np.array([s for _, s in scores], dtype=np.float64).reshape(-1)[inverse]
    joined = table[:, 2].astype(bool)
    # the candidates: a passage's sentences on the topic, or all of them when none is
    on = rank > 0
    any_on = np.zeros(len(hits), dtype=bool)
    any_on[owner[on]] = True
    candidate = on | ~any_on[owner]
    # each passage's candidates by (strict, rank, on its own), ties to the earliest sentence
    pick = np.nonzero(candidate)[0]
    order = pick[np.lexsort((local[pick], joined[pick], -rank[pick], -strict[pick], owner[pick]))]
    owners = owner[order]
    first = np.r_[True, owners[1:] != owners[:-1]] if len(order) else np.zeros(0, dtype=bool)
    best = np.full(len(hits), -1, dtype=np.int64)
    best[owners[first]] = order[first]
    if topic.cue is not None and len(order):
        # the first sentence in that order that says the cue wins (the first if none does); the
        # cue (a regex search) is asked in rounds: of each passage's first sentence, then of
        # the second of those whose first did not say it, and so on
        place = np.arange(len(order)) - np.maximum.accumulate(
            np.where(first, np.arange(len(order)), 0)
        )
        pending = np.bincount(owners, minlength=len(hits)) > 1
        for turn in range(int(place.max()) + 1):
            asked = np.nonzero((place == turn) & pending[owners])[0]
            if not len(asked):
                break
            for k, h in zip(order[asked].tolist(), owners[asked].tolist(), strict=True):
                a, b = table[k, 0], table[k, 1]
                if topic.cue(hits[h].passage.text[a:b]):
                    best[h] = k
                    pending[h] = False
    coverage = np.zeros(len(hits), dtype=np.float64)
    np.maximum.at(coverage, owner, strict)
    chosen = table[np.maximum(best, 0)]
    for hit, k, covered, a, b in zip(
        hits,
        best.tolist(),
        coverage.tolist(),
        (chosen[:, 0] + offsets).tolist(),
        (chosen[:, 1] + offsets).tolist(),
        strict=True,
    ):
        mark = None
        if k >= 0:
            mark = (covered, (a, b))
            hit.coverage, hit.sentence = mark
        topic.marks[hit.passage.id] = mark


def _found(
    texts: list[str], starts: np.ndarray, strings: Sequence[str]
) -> list[tuple[int, np.ndarray, int, np.ndarray]]:
    """(string index, where it starts in the texts joined, its length, the text each
    occurrence is in) of the strings found. A string holding a shorter one (执法能力, 执法) is
    looked for only in the texts holding the shorter one, when they are fewer."""
    joined = _SEPARATOR.join(texts)
    found: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    looked: list[int] = []
    for i in sorted(range(len(strings)), key=lambda i: len(strings[i])):
        string = strings[i]
        inside = [j for j in looked if strings[j] in string and len(strings[j]) < len(string)]
        looked.append(i)
        if any(j not in found for j in inside):
            continue  # a part of it is nowhere
        within = min((np.unique(found[j][1]) for j in inside), key=len, default=None)
        if within is None or len(within) > len(texts) // 2:
            at = _occurrences(joined, string)
        else:
            some = [texts[h] for h in within.tolist()]
            some_starts = np.zeros(len(some) + 1, dtype=np.int64)
            np.cumsum([len(t) + 1 for t in some], out=some_starts[1:])
            at = _occurrences(_SEPARATOR.join(some), string)
            k = np.searchsorted(some_starts, at, side="right") - 1
            at = at - some_starts[k] + starts[within[k]]
        if len(at):
            found[i] = (at, np.searchsorted(starts, at, side="right") - 1)
    return [(i, at, len(strings[i]), owner) for i, (at, owner) in sorted(found.items())]


def _occurrences(text: str, string: str) -> np.ndarray:
    """Where `string` starts in `text`, every occurrence (overlapping ones too)."""
    if not string:
        return np.arange(len(text) + 1, dtype=np.int64)
    if string not in text:
        return np.zeros(0, dtype=np.int64)
    if any(string[:n] == string[-n:] for n in range(1, len(string))):
        # it can overlap itself (人人 in 人人人): split would skip the second
        at, out = text.find(string), []
        while at >= 0:
            out.append(at)
            at = text.find(string, at + 1)
        return np.array(out, dtype=np.int64)
    pieces = text.split(string)
    lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))[:-1]
    return np.cumsum(lengths) + np.arange(len(lengths), dtype=np.int64) * len(string)


def _unique_masks(held: np.ndarray) -> tuple[list[int], np.ndarray]:
    """The distinct rows of bits as ints (bit i = the topic's string i, as `Topic.bits`), and
    each row's index among them: few sets of strings recur, so each is scored once."""
    if held.shape[1] == 1:  # one word: sorted as numbers, much faster than as rows
        unique, inverse = np.unique(held[:, 0], return_inverse=True)
        return unique.tolist(), inverse.reshape(-1)
    unique, inverse = np.unique(held, axis=0, return_inverse=True)
    ints = [sum(int(w) << (64 * j) for j, w in enumerate(row)) for row in unique.tolist()]
    return ints, inverse.reshape(-1)
