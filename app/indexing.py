"""Ingesting files into the store: the service behind `fazhi ingest`, first start and upload."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ingest import (
    ChunkSettings,
    Report,
    ReportLoadError,
    build_report,
    find_report_files,
    fingerprint,
)
from ingest.metadata.overrides import apply_edit
from vectorstore import PassageStore, StoredReport, embedding_text
from vectorstore.embeddings import EMBED_WINDOW  # reports are embedded a window at a time

log = logging.getLogger(__name__)

Status = Literal["added", "unchanged", "replaced", "failed", "skipped"]


@dataclass
class FileResult:
    path: Path
    status: Status
    reason: str = ""
    report_id: str | None = None
    township: str | None = None
    year: int | None = None
    passages: int = 0
    warnings: list[str] = field(default_factory=list)
    needs_review: bool = False  # township or year unknown or uncertain
    # the ids (and files) of the other stored annual reports of its township, county and year
    same_township_year: list[str] = field(default_factory=list)
    same_township_year_files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "status": self.status,
            "reason": self.reason,
            "report_id": self.report_id,
            "township": self.township,
            "year": self.year,
            "passages": self.passages,
            "warnings": self.warnings,
            "needs_review": self.needs_review,
            "same_township_year": self.same_township_year,
            "same_township_year_files": self.same_township_year_files,
        }


@dataclass
class IngestSummary:
    results: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def passages(self) -> int:
        return sum(r.passages for r in self.results if r.status in ("added", "replaced"))

    @property
    def needs_review(self) -> int:
        """Stored reports from this run whose township or year is unknown or uncertain, or
        that share their township and year with another report (a file whose text another file
        already holds is that one's report, not counted again)."""
        return sum(
            1
            for r in self.results
            if (r.needs_review or r.same_township_year)
            and r.status in ("added", "replaced", "unchanged")
            and not r.reason
        )

    @property
    def failed(self) -> bool:
        return self.count("failed") > 0


class IngestEvents:
    """Callbacks for progress display; all optional."""

    def __init__(
        self,
        on_files: Callable[[list[Path]], None] | None = None,
        on_passages: Callable[[int], None] | None = None,
        on_embedded: Callable[[int], None] | None = None,
        on_result: Callable[[FileResult], None] | None = None,
    ) -> None:
        self.on_files = on_files or (lambda files: None)
        self.on_passages = on_passages or (lambda n: None)
        self.on_embedded = on_embedded or (lambda n: None)
        self.on_result = on_result or (lambda r: None)


def ingest_paths(
    paths: Iterable[Path],
    store: PassageStore,
    *,
    max_bytes: int,
    chunking: ChunkSettings,
    events: IngestEvents | None = None,
) -> IngestSummary:
    """Load, chunk, embed and store every report under `paths`.

    A bad file is reported with its reason and skipped; everything else is stored. Unchanged
    files are no-ops; a changed file replaces its old passages.
    """
    events = events or IngestEvents()
    started = time.perf_counter()
    summary = IngestSummary()
    # a write a killed process left half done is settled before anything is compared with the
    # store: an unchanged file would otherwise write nothing, and never settle it
    store.recover_interrupted_writes()
    files, skipped = find_report_files([Path(p) for p in paths])
    for path, reason in skipped:
        # a path that does not exist, or a link that loops or leads nowhere, is a mistake worth
        # a non-zero exit, not a silent skip
        broken_link = path.is_symlink() and not path.is_file()
        status: Status = "failed" if broken_link or not path.exists() else "skipped"
        summary.results.append(FileResult(path, status, reason))
        events.on_result(summary.results[-1])
    events.on_files(files)
    pending: list[_Pending] = []
    # unchanged files whose text is stored for another file
    copies: list[tuple[Report, str, FileResult]] = []
    outdated: list[str] = []  # old versions of files that are copies now
    for path in files:
        loaded = _load(path, max_bytes, chunking)
        if isinstance(loaded, FileResult):
            summary.results.append(loaded)
            events.on_result(loaded)
            continue
        report, result = loaded
        _apply_stored_edit(store, report, result)
        existing = store.report_ids_for_source(report.source)
        if _touches(report, existing, pending):
            # the same text as a queued report, or text a queued replace is about to delete:
            # store what is queued first, so this file is judged against the store as it will be
            _store_pending(pending, store, events)
            existing = store.report_ids_for_source(report.source)
        summary.results.append(result)
        stamp = fingerprint(report, chunking)
        if store.fingerprint(report.id) == stamp:
            result.status, result.passages = "unchanged", 0
            if report.source not in store.sources(report.id):
                result.reason = _copy_reason(store, report)
                copies.append((report, stamp, result))
                # the text this file held before is not its text any more
                outdated += [rid for rid in existing if rid != report.id]
            else:  # a store made before fazhi recorded where each field came from gets it now
                store.refresh_provenance(report)
            events.on_result(result)
            continue
        _queue(_Pending(report, stamp, existing, result), pending, store, events)
    _store_pending(pending, store, events)
    # b.txt changed from X to Y, which a.txt already holds: b.txt is a copy now, and X goes
    # (a copy of X elsewhere is stored again as its own file's, just below)
    for rid in dict.fromkeys(outdated):
        if store.fingerprint(rid) is not None:
            store.remove_report(rid)
    # a copy of a report that a later file's replace removed in this run (a.txt changed from
    # X to Y, 0c.txt still holds X) is stored again, as its own file's
    for report, stamp, result in copies:
        if _touches(report, [], pending):
            _store_pending(pending, store, events)
        if store.fingerprint(report.id) is None:
            result.status, result.reason, result.passages = "added", "", len(report.passages)
            existing = store.report_ids_for_source(report.source)
            item = _Pending(report, stamp, existing, result, announced=True)
            _queue(item, pending, store, events)
        elif report.source not in store.sources(report.id):
            result.reason = _copy_reason(store, report)
    _store_pending(pending, store, events)
    _find_twins(summary, store)
    summary.seconds = time.perf_counter() - started
    return summary


def _find_twins(summary: IngestSummary, store: PassageStore) -> None:
    """Each stored report's `same_township_year`, read with one query for the whole batch: a
    warning, so a store that cannot be read now (a Chroma server gone after the writes) leaves
    it out rather than fail the ingest."""
    stored = [  # a file of a report stored before is checked too ("unchanged", not a copy)
        r
        for r in summary.results
        if r.status in ("added", "replaced", "unchanged") and not r.reason and r.township and r.year
    ]
    if not stored:
        return
    try:
        others = store.reports_of({str(r.township) for r in stored})
    except Exception:
        log.warning("could not look for other reports of the same township", exc_info=True)
        return
    twins = same_township_year(others)
    for result in stored:
        found = twins.get(result.report_id or "", [])
        result.same_township_year = [t.id for t in found]
        result.same_township_year_files = [t.source for t in found]


def same_township_year(reports: list[StoredReport]) -> dict[str, list[StoredReport]]:
    """Report id → the other annual reports of its township, county and year: the same report
    published by two sites (the county's and the township's), or a year read wrong. (A
    township's 述法报告 are one per leader, so several in a year are no such thing.)"""
    groups: dict[tuple[Any, ...], list[StoredReport]] = {}
    for r in reports:
        m = r.meta
        if m.township and m.year and m.kind == "annual_report":
            groups.setdefault((m.township, m.county, m.year), []).append(r)
    return {r.id: [o for o in g if o is not r] for g in groups.values() if len(g) > 1 for r in g}


def _queue(
    item: _Pending, pending: list[_Pending], store: PassageStore, events: IngestEvents
) -> None:
    events.on_passages(len(item.report.passages))
    pending.append(item)
    if sum(len(p.report.passages) for p in pending) >= EMBED_WINDOW:
        _store_pending(pending, store, events)


@dataclass
class _Pending:
    """A loaded report waiting to be embedded with others, then stored."""

    report: Report
    stamp: str
    existing: list[str]  # the reports stored for its source before it
    result: FileResult
    announced: bool = False  # its result was already reported (a copy stored again)


def _load(
    path: Path, max_bytes: int, chunking: ChunkSettings
) -> FileResult | tuple[Report, FileResult]:
    """The report in a file and its (provisional) result, or the failed result."""
    try:
        report = build_report(path, max_bytes=max_bytes, chunking=chunking)
    except ReportLoadError as exc:
        return FileResult(path, "failed", exc.reason if exc.path == path else str(exc))
    result = FileResult(
        path,
        "added",
        report_id=report.id,
        township=report.meta.township,
        year=report.meta.year,
        passages=len(report.passages),
        warnings=list(report.meta.warnings),
        needs_review=report.meta.needs_review,
    )
    return report, result


def _apply_stored_edit(store: PassageStore, report: Report, result: FileResult) -> None:
    """What a user set by hand for this file (or this text) wins, as a sidecar would: the
    report then matches what is stored and is not embedded again."""
    found = store.edit_for(report.source, report.id)
    if not found:
        return
    edit, edited_text = found
    if edited_text != report.id:
        edit = _still_fitting(report, edit)
    apply_edit(report.meta, edit)
    result.township, result.year = report.meta.township, report.meta.year
    result.warnings = list(report.meta.warnings)
    result.needs_review = report.meta.needs_review


def _still_fitting(report: Report, edit: dict[str, Any]) -> dict[str, Any]:
    """An edit made for an earlier text of this file applies where this text does not say
    otherwise: web uploads reuse file names (法治政府建设情况报告.docx), so a field this text
    states differently (another township, next year's report) keeps this text's value."""
    meta = report.meta
    clashing = [
        key
        for key, value in edit.items()
        if key in ("township", "year")
        and getattr(meta, key) not in (None, value)
        and meta.certainty.get(key) != "uncertain"
    ]
    if not clashing:
        return edit
    said = "、".join(f"{key} {edit[key]}→{getattr(meta, key)}" for key in clashing)
    meta.warnings.append(
        f"an edit made for an earlier text of this file was not applied ({said}): this text "
        "says otherwise; check it with `fazhi show`, and `fazhi meta` if needed"
    )
    return {}


def _copy_reason(store: PassageStore, report: Report) -> str:
    return "same text as an already stored report: " + ", ".join(store.sources(report.id))


def _touches(report: Report, existing: list[str], pending: list[_Pending]) -> bool:
    """Whether storing `report` in the same batch as `pending` could clash with it."""
    queued = {p.report.id for p in pending}
    to_replace = {old for p in pending for old in p.existing}
    return report.id in queued or report.id in to_replace or bool(queued & set(existing))


def _store_pending(pending: list[_Pending], store: PassageStore, events: IngestEvents) -> None:
    """Embed the pending reports' passages in one call, then store them in a few writes."""
    if not pending:
        return
    texts = [
        embedding_text(p.report.meta, passage) for p in pending for passage in p.report.passages
    ]
    vectors = store.embeddings.embed_passages(texts, progress=events.on_embedded)
    bounds = np.cumsum([0] + [len(p.report.passages) for p in pending])
    replaced = store.add_reports(
        [
            (p.report, p.stamp, vectors[a:b])
            for p, a, b in zip(pending, bounds[:-1], bounds[1:], strict=True)
        ]
    )
    for item, old in zip(pending, replaced, strict=True):
        if old or item.report.id in item.existing:
            item.result.status = "replaced"
        if not item.announced:
            events.on_result(item.result)
    pending.clear()
