"""From a file to a `Report`: load → clean → metadata → sections → passages."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from ingest.clean import DEFAULT_CLEANERS, Cleaner, clean_text
from ingest.errors import ReportLoadError
from ingest.loaders import DEFAULT_MAX_BYTES, load_document
from ingest.metadata import MetadataOverride, apply_override, extract_metadata, read_override
from ingest.model import LoadedDocument, Report, ReportMeta
from ingest.passages import ChunkSettings, split_passages
from ingest.sections import split_sections

MIN_REPORT_CHARS = 30


def report_id_for(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def build_report(
    path: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    chunking: ChunkSettings | None = None,
    cleaners: tuple[Cleaner, ...] = DEFAULT_CLEANERS,
) -> Report:
    """Read one report file; raises `ReportLoadError` naming the file and the reason."""
    path = Path(path)
    override = read_override(path)
    document = load_document(path, max_bytes=max_bytes)
    return report_from_document(document, override=override, chunking=chunking, cleaners=cleaners)


def report_from_document(
    document: LoadedDocument,
    *,
    override: MetadataOverride | None = None,
    chunking: ChunkSettings | None = None,
    cleaners: tuple[Cleaner, ...] = DEFAULT_CLEANERS,
) -> Report:
    text = clean_text(document.text, cleaners)
    if sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff") < MIN_REPORT_CHARS:
        raise ReportLoadError(
            document.source,
            "almost no Chinese text after cleaning; is this a township report?",
        )
    meta = extract_metadata(
        text,
        raw_text=document.text,
        title_hint=document.title_hint,
        published_hint=document.published_hint,
        source_name=document.source.name,
        source=document.source,
        page_clues=document.page_clues,
    )
    meta = apply_override(meta, override)
    report_id = report_id_for(text)
    sections = split_sections(text)
    passages = split_passages(report_id, text, sections, chunking)
    return Report(
        id=report_id,
        source=str(document.source.resolve()),
        format=document.format,
        text=text,
        meta=meta,
        sections=sections,
        passages=passages,
    )


def fingerprint(report: Report, chunking: ChunkSettings | None = None) -> str:
    """Changes when anything stored for the report would change: text, metadata, chunking."""
    return meta_fingerprint(report.id, report.meta, chunking)


def meta_fingerprint(
    report_id: str, meta: ReportMeta, chunking: ChunkSettings | None = None
) -> str:
    """`fingerprint` of a report given by its id and metadata (a stored one, edited)."""
    # where each field came from and how sure it is change no stored passage: a report that
    # differs only there is refreshed in place (PassageStore.refresh_provenance), not re-embedded
    meta_values = {k: v for k, v in asdict(meta).items() if k not in ("sources", "certainty")}
    payload = {
        "id": report_id,
        "meta": meta_values,
        "chunking": asdict(chunking or ChunkSettings()),
    }
    return hashlib.sha256(
        json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    ).hexdigest()[:16]
