"""Ingesting files into the store: the service behind `fazhi ingest`, first start and upload."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ingest import ChunkSettings, ReportLoadError, build_report, find_report_files, fingerprint
from vectorstore import PassageStore

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
    for path in files:
        result = _ingest_one(path, store, max_bytes, chunking, events)
        summary.results.append(result)
        events.on_result(result)
    summary.seconds = time.perf_counter() - started
    return summary


def _ingest_one(
    path: Path, store: PassageStore, max_bytes: int, chunking: ChunkSettings, events: IngestEvents
) -> FileResult:
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
    )
    stamp = fingerprint(report, chunking)
    existing = store.report_ids_for_source(report.source)
    if store.fingerprint(report.id) == stamp:
        result.status = "unchanged"
        result.passages = 0
        sources = store.sources(report.id)
        if report.source not in sources:
            result.reason = "same text as an already stored report: " + ", ".join(sources)
        return result
    events.on_passages(len(report.passages))
    replaced = store.add_report(report, stamp, progress=events.on_embedded)
    if replaced or report.id in existing:
        result.status = "replaced"
    return result
