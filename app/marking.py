"""The best sentence of many passages for one topic, marked at once (corpus-wide questions).

A corpus-wide question marks ~3 passages per report in scope: 30,000 at 10,000 reports.
`HybridRetriever.mark_best_sentence` marks one passage at a time, with Python work per passage,
per sentence and per topic string. Here the passages' texts are joined into one string, each
topic string is found in it with numpy (as an array with a code unit per character: ~3 bytes per
character of the joined texts while it runs, ~5 when one is outside the Basic Multilingual
Plane), which also places every occurrence in its passage and its sentences; each passage's best
sentence is then chosen by one sort. The marks are the same as one by one (tests/test_marking.py
compares the two on every sample passage).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

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
    rows = np.asarray(rows)
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
        sentences, counts = passages.quotable_rows(rows[todo])
        best, coverage = _best_sentences(
            joined, starts[todo], sentences, counts, found, retriever, topic
        )
        marked = best >= 0
        chosen = sentences[best[marked]]
        offsets = passages.report_offsets[rows[todo[marked]]]
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
    in) of the strings found in the texts joined (text p begins at `starts[p]`).

    The texts are searched as an array with one code unit per character (`_code_units`):
    where each string's first character is comes from one pass for all the strings' first
    characters (一人, 一次 and 一项 share 一), and each following character is checked only
    there, so a common string costs no more than a rare one."""
    if not strings:
        return []
    codes = _code_units(joined, strings)
    first = _where_each(codes, {string[0] for string in strings if string})
    found = []
    for i, string in enumerate(strings):
        at = _occurrences(codes, string, first)
        if len(at):
            found.append((i, at, len(string), np.searchsorted(starts, at, side="right") - 1))
    return found


def _code_units(joined: str, strings: Sequence[str]) -> np.ndarray:
    """The texts as an array with one code unit per character: UTF-16 when every character is
    in the Basic Multilingual Plane (Chinese text is; half the bytes of UTF-32 to write and
    search), else UTF-32."""
    if all(ord(char) < 0x10000 for string in strings for char in string):
        units = joined.encode("utf-16-le", "surrogatepass")
        if len(units) == 2 * len(joined):  # no character took two units
            return np.frombuffer(units, dtype=np.uint16)
    return np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _where_each(codes: np.ndarray, chars: set[str]) -> dict[str, np.ndarray]:
    """Where each of the characters is in the code units, in order."""
    wanted = np.zeros(0x10000 if codes.dtype == np.uint16 else 0x110000, dtype=bool)
    wanted[[ord(c) for c in chars]] = True
    at = np.flatnonzero(wanted[codes])
    which = codes[at]
    return {c: at[which == ord(c)] for c in chars}


def _occurrences(codes: np.ndarray, string: str, first: dict[str, np.ndarray]) -> np.ndarray:
    """Where `string` starts in the code units, every occurrence (overlapping ones too);
    `first`: where its first character is (`_where_each`)."""
    if not string:
        return np.arange(len(codes) + 1, dtype=np.int64)
    at = first[string[0]]
    for j, char in enumerate(string[1:], 1):
        at = at[at < len(codes) - j]
        at = at[codes[at + j] == ord(char)]
    return at.astype(np.int64, copy=False)


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
