"""Stage 1: load report files, clean them, read metadata, type sections, cut passages."""

from ingest.clean import DEFAULT_CLEANERS, clean_text
from ingest.errors import FazhiError, ReportLoadError
from ingest.loaders import SUPPORTED_EXTENSIONS, find_report_files, load_document
from ingest.model import SECTION_LABELS, SECTION_TYPES, Passage, Report, ReportMeta, Section
from ingest.passages import ChunkSettings
from ingest.pipeline import build_report, fingerprint

__all__ = [
    "DEFAULT_CLEANERS",
    "SECTION_LABELS",
    "SECTION_TYPES",
    "SUPPORTED_EXTENSIONS",
    "ChunkSettings",
    "FazhiError",
    "Passage",
    "Report",
    "ReportLoadError",
    "ReportMeta",
    "Section",
    "build_report",
    "clean_text",
    "find_report_files",
    "fingerprint",
    "load_document",
]
