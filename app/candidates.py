"""Each report's best passages for a corpus-wide question, held as arrays.

At 10,000s of reports a question has 100,000s of candidate passages, and most are only
compared (which passage of a report covers the topic best, which is closest in meaning), never
shown. `Candidates` keeps their scores and marks as arrays, answers those comparisons with
numpy, and makes a `Hit` only for a passage somebody asks for; a report's hits are made once,
so the same passage is always the same object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from app.index_snapshot import PassageTable
from app.marking import Marks
from app.retrieval import Hit


class Candidates(Mapping[str, list[Hit]]):
    """Report id → its best passages (a `PerReport`), best fused score first.

    The candidates come report by report: report `r`'s are `bounds[r]` to `bounds[r + 1]`.
    """

    def __init__(
        self,
        passages: PassageTable,
        rows: np.ndarray,
        report_ids: list[str],
        bounds: np.ndarray,
        scores: tuple[np.ndarray, np.ndarray, np.ndarray],
        marks: Marks,
        text: tuple[str, np.ndarray],
    ) -> None:
        self.passages = passages
        self.rows = rows
        self.bounds = bounds
        # scores as Python floats have them (float32 → float64), so comparisons agree
        self.fused, self.dense, self.lexical = (np.asarray(s, dtype=np.float64) for s in scores)
        self._scores = [s.tolist() for s in (self.fused, self.dense, self.lexical)]
        self.marks = marks
        self.text = text  # their texts joined, and where each begins (`PassageTable.joined`)
        self._report = {rid: r for r, rid in enumerate(report_ids)}
        self._report_ids = report_ids
        self._hits: list[Hit | None] = [None] * len(rows)
        self._index: dict[int, int] | None = None  # snapshot row → candidate, when first asked
        self._columns: tuple[list[Any], ...] | None = None  # what `hit` reads, as lists
        self._closest: dict[float, dict[str, Hit]] = {}

    def __getitem__(self, report_id: str) -> list[Hit]:
        """The report's candidates as hits (a new list each time; the hits are the same)."""
        r = self._report[report_id]
        return [self.hit(k) for k in range(int(self.bounds[r]), int(self.bounds[r + 1]))]

    def __contains__(self, report_id: object) -> bool:
        return report_id in self._report

    def __iter__(self) -> Iterator[str]:
        return iter(self._report_ids)

    def __len__(self) -> int:
        return len(self._report_ids)

    def flagged(self, where: np.ndarray) -> Callable[[str], list[int]]:
        """A report's candidates flagged in `where` (one flag per candidate), as candidate
        numbers: the flags are grouped by report once, for many reports' asking."""
        ks = np.flatnonzero(where)
        report = np.searchsorted(self.bounds, ks, side="right") - 1
        cuts = np.searchsorted(report, np.arange(len(self._report_ids) + 1)).tolist()
        flagged = ks.tolist()

        def of(report_id: str) -> list[int]:
            r = self._report.get(report_id)
            return [] if r is None else flagged[cuts[r] : cuts[r + 1]]

        return of

    def index_of(self, hit: Hit) -> int | None:
        """Which candidate the hit is (None if it is not one of these candidates' hits)."""
        if self._index is None:
            self._index = {row: k for k, row in enumerate(self.rows.tolist())}
        k = self._index.get(hit.row) if hit.row is not None else None
        return k if k is not None and self._hits[k] is hit else None

    def hit(self, k: int) -> Hit:
        """Candidate k as a `Hit`, its best sentence marked (made once)."""
        hit = self._hits[k]
        if hit is None:
            if self._columns is None:  # as lists: a corpus-wide answer makes 1,000s of hits
                marks = self.marks
                self._columns = tuple(
                    a.tolist()
                    for a in (self.rows, self.text[1], marks.start, marks.end, marks.coverage)
                )
            rows, starts, begins, ends, coverage = self._columns
            row = rows[k]
            fused, dense, lexical = self._scores
            passage = self.passages[row]
            # decoded already; the passage is shared by every question, but this is its text
            passage.text = self.text[0][starts[k] : starts[k + 1] - 1]
            hit = Hit(passage, fused[k], dense[k], lexical[k], row=row)
            if begins[k] >= 0:
                hit.coverage = coverage[k]
                hit.sentence = (begins[k], ends[k])
            self._hits[k] = hit
        return hit

    def closest(self, lexical_weight: float) -> dict[str, Hit]:
        """Each report's candidate closest in meaning: the highest cosine plus `lexical_weight`
        times its BM25 share (`evidence.closeness`); sorted once per weight."""
        if lexical_weight not in self._closest:
            self._closest[lexical_weight] = self.best(self.dense + lexical_weight * self.lexical)
        return dict(self._closest[lexical_weight])

    def best(self, *keys: np.ndarray) -> dict[str, Hit]:
        """Each report's candidate with the highest `keys` (compared in turn, as a tuple), the
        first of equals: `max(hits, key=...)` over every report at once."""
        n = len(self.rows)
        report = np.repeat(np.arange(len(self._report_ids)), np.diff(self.bounds))
        order = np.lexsort((np.arange(n), *(-k for k in reversed(keys)), report))
        first = order[np.r_[True, report[order][1:] != report[order][:-1]]] if n else order
        return {self._report_ids[report[k]]: self.hit(k) for k in first.tolist()}
