"""Ingesting files into the store: the service behind `fazhi ingest`, first start and upload."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from ingest import (
    ChunkSettings,
    Report,
    ReportLoadError,
    build_report,
    find_report_files,
    fingerprint,
)
from vectorstore import PassageStore, embedding_text

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
    files, skipped = find_report_files([Path(p) for p in paths])
    for path, reason in skipped:
        # a path that does not exist is a mistake worth a non-zero exit, not a silent skip
        status: Status = "failed" if not path.exists() else "skipped"
        summary.results.append(FileResult(path, status, reason))
        events.on_result(summary.results[-1])
    events.on_files(files)
    pending: list[_Pending] = []
    for path in files:
        result, item = _prepare(path, store, max_bytes, chunking, pending)
        summary.results.append(result)
        if item is None:
            events.on_result(result)
            continue
        events.on_passages(len(item.report.passages))
        pending.append(item)
        if sum(len(p.report.passages) for p in pending) >= EMBED_WINDOW:
            _store_pending(pending, store, events)
    _store_pending(pending, store, events)
    summary.seconds = time.perf_counter() - started
    return summary


# Reports are embedded together until they hold this many passages: one model call over many
# short reports is much faster than one per report (see FazhiEmbeddings.embed_passages).
EMBED_WINDOW = 128


@dataclass
class _Pending:
    report: Report
    stamp: str
    existing: list[str]
    result: FileResult


def _prepare(
    path: Path,
    store: PassageStore,
    max_bytes: int,
    chunking: ChunkSettings,
    pending: list[_Pending],
) -> tuple[FileResult, _Pending | None]:
    """Load one file; its result, and what is left to embed and store (None if nothing)."""
    try:
        report = build_report(path, max_bytes=max_bytes, chunking=chunking)
    except ReportLoadError as exc:
        return FileResult(path, "failed", exc.reason if exc.path == path else str(exc)), None
    result = FileResult(
        path,
        "added",
        report_id=report.id,
        township=report.meta.township,
        year=report.meta.year,
        passages=len(report.passages),
        warnings=list(report.meta.warnings),
    )
    stamp = fingerprint(report, chunking)
    queued = [p.report.source for p in pending if p.report.id == report.id and p.stamp == stamp]
    if queued or store.fingerprint(report.id) == stamp:
        result.status = "unchanged"
        result.passages = 0
        sources = queued or store.sources(report.id)
        if report.source not in sources:
            result.reason = "same text as an already stored report: " + ", ".join(sources)
        return result, None
    return result, _Pending(report, stamp, store.report_ids_for_source(report.source), result)


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
        events.on_result(item.result)
    pending.clear()
