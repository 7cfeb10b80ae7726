"""Load every file format a township publishes its report in to raw text.

`find_report_files` turns the paths a user gives into the files to load (and the ones skipped,
with a reason); `load_document` reads one file to a `LoadedDocument`, or raises a
`ReportLoadError` that names the file and says what is wrong with it and what to do.

Only format-specific work happens here, one module per format: `text` (decoding text files
honestly), `word` (Word tables in document order), `pdf` (rejoining the lines a PDF wraps
mid-sentence, dropping its page furniture) and `web_page` (keeping a web page's article, dropping
the site around it; `page_hints` reads the page's title, date, breadcrumbs and meta tags).
`files` finds the files; `limits` and `office_package` keep compressed files from unpacking
beyond what a report can be. Cleaning of the report text itself (breadcrumbs and page numbers
pasted into plain text, bookmarks...) is `ingest.clean`'s job.
"""

from __future__ import annotations

import errno
from pathlib import Path

from ingest.errors import ReportLoadError, UnsupportedFormatError
from ingest.loaders.failure import LoadFailure, format_size
from ingest.loaders.files import (
    SUPPORTED_EXTENSIONS,
    find_report_files,
    link_problem,
    unsupported_reason,
)
from ingest.loaders.limits import DEFAULT_MAX_BYTES, ExpansionLimits
from ingest.loaders.pdf import load_pdf
from ingest.loaders.text import CELL_SEPARATOR, load_text, normalize_newlines
from ingest.loaders.web_page import load_web_page
from ingest.loaders.word import load_docx
from ingest.model import LoadedDocument

__all__ = [
    "CELL_SEPARATOR",
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_EXTENSIONS",
    "find_report_files",
    "load_document",
]

_FORMATS = {
    ".txt": "txt",
    ".md": "md",
    ".docx": "docx",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
}


def load_document(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedDocument:
    """Read one report file to raw text with `\\n` line endings.

    Raises `UnsupportedFormatError` for an extension outside `SUPPORTED_EXTENSIONS` and
    `ReportLoadError` (whose message names the file and the reason) for a file that is missing,
    too large, empty, binary, undecodable, corrupt, encrypted, scanned, or has no article text,
    and for a compressed file (.docx, PDF streams) that would unpack beyond `ExpansionLimits`,
    which scale with `max_bytes`.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise UnsupportedFormatError(path, unsupported_reason(path))
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise ReportLoadError(path, "is a directory, not a file")
        if size > max_bytes:
            enough = -(-size // (1024 * 1024)) * 1024 * 1024  # rounded up to whole MB
            raise ReportLoadError(
                path,
                f"file is {format_size(size)}, over the {format_size(max_bytes)} size limit; "
                f"raise the limit with --max-bytes {enough} or FAZHI_MAX_BYTES={enough}",
            )
        if size == 0:
            raise ReportLoadError(path, "file is empty (0 bytes)")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ReportLoadError(path, "no such file or directory") from None
    except PermissionError:
        raise ReportLoadError(path, "permission denied; check the file's permissions") from None
    except IsADirectoryError:
        raise ReportLoadError(path, "is a directory, not a file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ReportLoadError(path, link_problem(path) or "symlink loop") from None
        raise ReportLoadError(path, f"cannot read the file ({exc.strerror or exc})") from None
    if not data:  # the file shrank between stat and read
        raise ReportLoadError(path, "file is empty (0 bytes)")

    fmt = _FORMATS[ext]
    limits = ExpansionLimits.for_max_bytes(max_bytes)
    try:
        if fmt in ("txt", "md"):
            doc = load_text(path, data, fmt)
        elif fmt == "docx":
            doc = load_docx(path, data, limits)
        elif fmt == "pdf":
            doc = load_pdf(path, data, limits)
        else:
            doc = load_web_page(path, data)
    except LoadFailure as fail:
        raise ReportLoadError(path, fail.reason) from None
    doc.text = normalize_newlines(doc.text)
    return doc
