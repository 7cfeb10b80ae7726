"""The best sentence of many passages for one topic, marked at once (corpus-wide questions).

A corpus-wide question marks ~3 passages per report in scope: 30,000 at 10,000 reports.
`HybridRetriever.mark_best_sentence` marks one passage at a time, with Python work per passage,
per sentence and per topic string. Here the passages' texts are joined into one string, each
topic string is found in it by a search in C (`str.split`), and numpy places every occurrence in its
passage and its sentences; each passage's best sentence is then chosen by one sort. The marks
are the same as one by one (tests/test_marking.py compares the two on every sample passage).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from app.index_snapshot import SEPARATOR, starts_of

if TYPE_CHECKING:
    from app.index_snapshot import PassageTable
    from app.retrieval import HybridRetriever, Topic


@dataclass
class Marks:
    """Each passage's best sentence: where it is in the report (`start`, `end`; -1 for a
    passage not marked) and the topic's share it covers (`coverage`, 0 when not marked)."""

    coverage: np.ndarray
    start: np.ndarray
    end: np.ndarray
    # where the topic's strings are in the texts joined: (string index, where each occurrence
    # starts, the string's length, the text it is in), as `_found` gives them
    found: list[tuple[int, np.ndarray, int, np.ndarray]] = field(default_factory=list)

    @classmethod
    def none(cls, n: int) -> Marks:
        return cls(np.zeros(n), np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64))


def mark_passages(
    retriever: HybridRetriever,
    passages: PassageTable,
    rows: np.ndarray,
    text: tuple[str, np.ndarray],
    topic: Topic,
    coverage_floor: float | None,
) -> Marks:
    """Each passage's best sentence, as `mark_best_sentence` finds it, for the passages (rows
    of the snapshot's `passages`) holding some of the topic's strings and, as a whole text,
    covering at least `coverage_floor` of the topic (with a floor of 0, any string will do;
    with None, every passage is marked, as `mark_best_sentence` does: one holding none of the
    strings at its first sentence on its own, or saying the cue, with coverage 0).
    `text`: their texts joined, and where each begins (`PassageTable.joined`)."""
    marks = Marks.none(len(rows))
    strings = topic.strings
    every = coverage_floor is None
    if not len(rows) or not (strings or every):
        return marks
    joined, starts = text
    found = marks.found = _found(joined, starts, strings)
    if not (found or every):
        return marks
    masks, inverse = _string_sets(len(rows), ((i, owner) for i, _, _, owner in found), topic)
    # a passage's text as a whole, like a sentence, covers the topic by the strings it holds
    floor = coverage_floor or 0.0
    enough = np.array(
        [
            every or (bool(m) and (floor <= 0 or retriever._span_scores(m, topic)[1] >= floor))
            for m in masks
        ],
        dtype=bool,
    )
    todo = np.nonzero(enough[inverse])[0]
    if len(todo):
        sentences, counts = passages.quotable_rows(np.asarray(rows)[todo])
        best, coverage = _best_sentences(
            joined, starts[todo], sentences, counts, found, retriever, topic
        )
        marked = best >= 0
        chosen = sentences[best[marked]]
        offsets = passages.report_offsets[np.asarray(rows)[todo[marked]]]
        marks.coverage[todo[marked]] = coverage[marked]
        marks.start[todo[marked]] = chosen[:, 0] + offsets
        marks.end[todo[marked]] = chosen[:, 1] + offsets
    return marks


def strings_within(
    found: list[tuple[int, np.ndarray, int, np.ndarray]],
    begin: np.ndarray,
    end: np.ndarray,
    topic: Topic,
) -> tuple[list[int], np.ndarray]:
    """The sets of the topic's strings that the spans `begin[j]` to `end[j]` of the texts joined
    hold whole (`found`: `Marks.found`), as `_string_sets` gives them."""

    def holding() -> Iterator[tuple[int, np.ndarray]]:
        for i, at, length, _ in found:
            inside = np.searchsorted(at, end - length, side="right") - np.searchsorted(at, begin)
            yield i, np.flatnonzero(inside > 0)

    return _string_sets(len(begin), holding(), topic)


def _best_sentences(
    joined: str,
    starts: np.ndarray,
    table: np.ndarray,
    counts: np.ndarray,
    found: list[tuple[int, np.ndarray, int, np.ndarray]],
    retriever: HybridRetriever,
    topic: Topic,
) -> tuple[np.ndarray, np.ndarray]:
    """Each passage's best sentence (its row in `table`, -1 if it has none) and the best
    coverage of its sentences. `starts`: where each passage's text begins in `joined`, the
    text the occurrences in `found` (string index, starts, length, passage) were found in;
    `table`: the passages' quotable sentences (start, end, joined), `counts[p]` of them for
    passage p."""
    n = len(counts)
    if not len(table):  # no passage has a sentence
        return np.full(n, -1, dtype=np.int64), np.zeros(n)
    table = np.asarray(table, dtype=np.int64)
    owner = np.repeat(np.arange(n), counts)
    local = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    begin, end = table[:, 0] + starts[owner], table[:, 1] + starts[owner]

    def holding() -> Iterator[tuple[int, np.ndarray]]:
        for i, at, length, _ in found:
            # a sentence holds an occurrence when it starts at or before it and ends at or
            # after its end: only the last sentence starting at or before it, or the one
            # before that when that one is a short sentence joined with the next, can
            last = np.searchsorted(begin, at, side="right") - 1
            for k in (last, last - 1):
                yield i, k[(k >= 0) & (end[np.maximum(k, 0)] >= at + length)]

    masks, inverse = _string_sets(len(owner), holding(), topic)
    scores = [retriever._span_scores(m, topic) if m else (0.0, 0.0) for m in masks]
    rank = np.array([r for r, _ in scores], dtype=np.float64).reshape(-1)[inverse]
    strict = np.array([s for _, s in scores], dtype=np.float64).reshape(-1)[inverse]
    joined_to_next = table[:, 2].astype(bool)
    # the candidates: a passage's sentences on the topic, or all of them when none is
    on = rank > 0
    any_on = np.zeros(n, dtype=bool)
    any_on[owner[on]] = True
    candidate = on | ~any_on[owner]
    # each passage's candidates by (strict, rank, on its own), ties to the earliest sentence
    pick = np.nonzero(candidate)[0]
    order = pick[
        np.lexsort((local[pick], joined_to_next[pick], -rank[pick], -strict[pick], owner[pick]))
    ]
    owners = owner[order]
    first = np.r_[True, owners[1:] != owners[:-1]] if len(order) else np.zeros(0, dtype=bool)
    best = np.full(n, -1, dtype=np.int64)
    best[owners[first]] = order[first]
    if topic.cue is not None and len(order):
        # the first sentence in that order that says the cue wins (the first if none does); the
        # cue (a regex search) is asked in rounds: of each passage's first sentence, then of
        # the second of those whose first did not say it, and so on
        place = np.arange(len(order)) - np.maximum.accumulate(
            np.where(first, np.arange(len(order)), 0)
        )
        pending = np.bincount(owners, minlength=n) > 1
        for turn in range(int(place.max()) + 1):
            asked = np.nonzero((place == turn) & pending[owners])[0]
            if not len(asked):
                break
            ks, hs = order[asked], owners[asked]
            for k, h, a, b in zip(
                ks.tolist(),
                hs.tolist(),
                (begin[ks]).tolist(),
                (end[ks]).tolist(),
                strict=True,
            ):
                if topic.cue(joined[a:b]):
                    best[h] = k
                    pending[h] = False
    coverage = np.zeros(n, dtype=np.float64)
    np.maximum.at(coverage, owner, strict)
    return best, coverage


def _found(
    joined: str, starts: np.ndarray, strings: Sequence[str]
) -> list[tuple[int, np.ndarray, int, np.ndarray]]:
    """(string index, where it starts in `joined`, its length, the text each occurrence is
    in) of the strings found in the texts joined (text p begins at `starts[p]`). A string
    holding a shorter one (执法能力, 执法) is looked for only in the texts holding the shorter
    one, when they are fewer."""
    n = len(starts) - 1
    found: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    holding: dict[int, np.ndarray] = {}  # string index → which texts hold it
    for i in sorted(range(len(strings)), key=lambda i: len(strings[i])):
        string = strings[i]
        inside = [j for j in holding if strings[j] in string and len(strings[j]) < len(string)]
        within = None
        if inside:
            held = np.logical_and.reduce([holding[j] for j in inside])
            within = np.flatnonzero(held)
        if within is None or len(within) > n // 2:
            at = _occurrences(joined, string)
        else:
            bounds = zip(starts[within].tolist(), (starts[within + 1] - 1).tolist(), strict=True)
            some = [joined[a:b] for a, b in bounds]
            some_starts = starts_of(some)
            at = _occurrences(SEPARATOR.join(some), string)
            k = np.searchsorted(some_starts, at, side="right") - 1
            at = at - some_starts[k] + starts[within[k]]
        owner = np.searchsorted(starts, at, side="right") - 1
        holding[i] = np.zeros(n, dtype=bool)
        holding[i][owner] = True
        if len(at):
            found[i] = (at, owner)
    return [(i, at, len(strings[i]), owner) for i, (at, owner) in sorted(found.items())]


def _occurrences(text: str, string: str) -> np.ndarray:
    """Where `string` starts in `text`, every occurrence (overlapping ones too)."""
    if not string:
        return np.arange(len(text) + 1, dtype=np.int64)
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


def _string_sets(
    n: int, holding: Iterable[tuple[int, np.ndarray]], topic: Topic
) -> tuple[list[int], np.ndarray]:
    """The distinct sets of the topic's strings that n texts hold, as ints (bit i = string i,
    as `Topic.bits`), and each text's index among them: few sets recur, so each is scored
    once. `holding`: (string index, the texts holding it) pairs."""
    held = np.zeros((n, (len(topic.strings) + 63) // 64), dtype=np.uint64)
    for i, texts in holding:
        np.bitwise_or.at(held[:, i // 64], texts, np.uint64(1 << (i % 64)))
    if held.shape[1] == 1:  # one word: sorted as numbers, much faster than as rows
        unique, inverse = np.unique(held[:, 0], return_inverse=True)
        return unique.tolist(), inverse.reshape(-1)
    unique, inverse = np.unique(held, axis=0, return_inverse=True)
    ints = [sum(int(w) << (64 * j) for j, w in enumerate(row)) for row in unique.tolist()]
    return ints, inverse.reshape(-1)
