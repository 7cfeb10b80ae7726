"""Load every file format a township publishes its report in to raw text.

`find_report_files` turns the paths a user gives into the files to load (and the ones skipped,
with a reason); `load_document` reads one file to a `LoadedDocument`, or raises a
`ReportLoadError` that names the file and says what is wrong with it and what to do.

Only format-specific work happens here: decoding text files honestly, keeping Word tables in
document order, rejoining the lines a PDF wraps mid-sentence and dropping its page furniture, and
keeping a web page's article while dropping the site around it. Cleaning of the report text itself
(breadcrumbs and page numbers pasted into plain text, bookmarks...) is `ingest.clean`'s job.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import logging
import os
import re
import threading
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from ingest.errors import ReportLoadError, UnsupportedFormatError
from ingest.model import LoadedDocument

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset({".txt", ".md", ".docx", ".pdf", ".html", ".htm"})
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
CELL_SEPARATOR = "｜"
"""Joins the cells of one table row (Word and HTML tables) into one line."""

_FORMATS = {
    ".txt": "txt",
    ".md": "md",
    ".docx": "docx",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
}
_OLD_WORD_EXTENSIONS = {".doc", ".wps", ".rtf"}
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class _Fail(Exception):
    """Internal: a reason a file cannot be loaded; `load_document` adds the path."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------------
# Finding files


def _supported_list() -> str:
    return ", ".join(sorted(SUPPORTED_EXTENSIONS))


def _unsupported_reason(path: Path) -> str:
    ext = path.suffix.lower()
    if not ext:
        return f"no file extension (supported: {_supported_list()})"
    reason = f"unsupported file type '{ext}' (supported: {_supported_list()})"
    if ext in _OLD_WORD_EXTENSIONS:
        reason += "; open it in Word or WPS and save it as .docx"
    return reason


def _is_metadata_file(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(".meta.json") or lowered == "manifest.csv"


def _is_hidden(name: str) -> bool:
    # `~$x.docx` is the lock file Word leaves next to an open document.
    return name.startswith((".", "~$"))


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not _is_hidden(d)]
        base = Path(dirpath)
        found.extend(base / name for name in filenames if not _is_hidden(name))
    return sorted(found, key=lambda p: p.relative_to(root).parts)


def find_report_files(paths: Iterable[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand `paths` (files and directories, recursively) into report files to load.

    Returns `(files, skipped)`: files in a deterministic order (each directory's contents sorted
    by relative path, each file once), and `(path, reason)` for each path that will not be
    loaded. Hidden files,
    Word lock files (`~$…`), `*.meta.json` sidecars and `manifest.csv` are metadata or noise and
    are left out silently.
    """
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def consider(path: Path, *, explicit: bool) -> None:
        if _is_metadata_file(path.name) or (not explicit and _is_hidden(path.name)):
            return
        key = path.resolve()
        if key in seen:
            return
        seen.add(key)
        if not path.is_file():
            skipped.append((path, "not a regular file"))
        elif path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            skipped.append((path, _unsupported_reason(path)))
        else:
            files.append(path)

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in _walk(path):
                consider(found, explicit=False)
        elif path.exists():
            consider(path, explicit=True)
        else:
            skipped.append((path, "no such file or directory"))
    return files, skipped


# --------------------------------------------------------------------------------------------
# Entry point


def _fmt_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} bytes"


def load_document(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedDocument:
    """Read one report file to raw text with `\\n` line endings.

    Raises `UnsupportedFormatError` for an extension outside `SUPPORTED_EXTENSIONS` and
    `ReportLoadError` (whose message names the file and the reason) for a file that is missing,
    too large, empty, binary, undecodable, corrupt, encrypted, scanned, or has no article text.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise UnsupportedFormatError(path, _unsupported_reason(path))
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise ReportLoadError(path, "is a directory, not a file")
        if size > max_bytes:
            enough = -(-size // (1024 * 1024)) * 1024 * 1024  # rounded up to whole MB
            raise ReportLoadError(
                path,
                f"file is {_fmt_size(size)}, over the {_fmt_size(max_bytes)} size limit; "
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
        raise ReportLoadError(path, f"cannot read the file ({exc.strerror or exc})") from None
    if not data:  # the file shrank between stat and read
        raise ReportLoadError(path, "file is empty (0 bytes)")

    fmt = _FORMATS[ext]
    try:
        if fmt in ("txt", "md"):
            doc = _load_text(path, data, fmt)
        elif fmt == "docx":
            doc = _load_docx(path, data)
        elif fmt == "pdf":
            doc = _load_pdf(path, data)
        else:
            doc = _load_html(path, data)
    except _Fail as fail:
        raise ReportLoadError(path, fail.reason) from None
    doc.text = _normalize_newlines(doc.text)
    return doc


def _normalize_newlines(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    return text.removeprefix("\ufeff")


# --------------------------------------------------------------------------------------------
# Text decoding (.txt, .md, and the bytes of .html pages)

_CJK_PUNCT_RANGES = ((0x3000, 0x303F), (0xFF00, 0xFFEF), (0x2000, 0x206F), (0x3200, 0x33FF))


def _is_hanzi(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF


@lru_cache(maxsize=1)
def _common_hanzi() -> frozenset[str]:
    """The characters everyday Chinese is written in: GB2312 level 1 and Big5's frequent set.

    Right decodings of Chinese text are made of these almost entirely; mojibake (GBK bytes read
    as Big5 or the reverse, UTF-16 with swapped bytes) is not.
    """
    chars: set[str] = set()
    for lead in range(0xB0, 0xD8):  # GB2312 level 1: 3755 most frequent simplified characters
        for trail in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                chars.add(bytes((lead, trail)).decode("gb2312"))
    for lead in range(0xA4, 0xC7):  # Big5 frequently used characters: 5401 traditional ones
        for trail in (*range(0x40, 0x7F), *range(0xA1, 0xFF)):
            with contextlib.suppress(UnicodeDecodeError):
                chars.add(bytes((lead, trail)).decode("big5"))
    return frozenset(c for c in chars if _is_hanzi(c))


def _chinese_quality(text: str) -> float:
    """Score in [0, 1] for how much `text` reads like Chinese; 0 when it plainly does not.

    Counts a sample's characters: frequent hanzi, ASCII and CJK punctuation are good; rare
    hanzi, controls, private-use and other scripts are not. Requires a real share of hanzi.
    """
    sample = text[:40000]
    common = _common_hanzi()
    total = hanzi = good = bad = 0
    for ch in sample:
        if ch in "\n\r\t ":
            continue
        total += 1
        if _is_hanzi(ch):
            hanzi += 1
            if ch in common:
                good += 1
            continue
        o = ord(ch)
        if 0x20 < o < 0x7F or any(lo <= o <= hi for lo, hi in _CJK_PUNCT_RANGES) or ch in "\xa0·":
            good += 1
        elif unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Cn") or ch == "\ufffd":
            bad += 1
    if total == 0:
        return 0.0
    if hanzi < 0.2 * total or bad > 0.01 * total:
        return 0.0
    return good / total


_QUALITY_THRESHOLD = 0.85


def _control_share(text: str) -> float:
    sample = text[:20000]
    if not sample:
        return 0.0
    controls = sum(
        1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f\v\x1a"
    )
    return controls / len(sample)


def _c0_control_share(data: bytes) -> float:
    sample = data[:20000]
    controls = sum(1 for b in sample if (b < 0x20 and b not in b"\n\r\t\f\v\x1a") or b == 0x7F)
    return controls / max(len(sample), 1)


def _sniff(data: bytes) -> str | None:
    """Name the kind of a binary file from its first bytes, with the extension it should have."""
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF-"):
        return "a PDF file (rename it to .pdf)"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive or Word .docx file"
    if head.startswith(_OLE2_MAGIC):
        return "an old Word .doc (or Excel .xls) file; save it as .docx"
    if head.startswith(b"{\\rtf"):
        return "an RTF file; save it as .docx"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*")):
        return "an image (scanned page?); OCR is not supported"
    if head.startswith((b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")):
        return "a compressed archive; extract it first"
    return None


def _binary_reason(data: bytes) -> str:
    kind = _sniff(data)
    if kind:
        return f"this is not a text file: it looks like {kind}"
    return "looks like binary data, not text; check that this is the right file"


_UTF16_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_GB_ALIASES = {"gb2312", "gbk", "gb_2312", "gb_2312-80", "x-gbk", "cp936", "gb18030", "euc-cn"}


def _canonical_encoding(name: str) -> str | None:
    """Python codec name for a declared/detected encoding, widening GB2312/GBK to GB18030."""
    lowered = name.strip().lower().replace("_", "-")
    if lowered in _GB_ALIASES or lowered.replace("-", "_") in _GB_ALIASES:
        return "gb18030"
    try:
        return codecs.lookup(lowered).name
    except LookupError:
        return None


def _strict_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _visible_text(html: str) -> str:
    """Roughly the text a browser shows: markup, scripts and styles removed (for scoring)."""
    html = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>|<!--.*?-->", " ", html)
    return re.sub(r"<[^>]*>|&[#\w]+;", " ", html)


def _decode_text(
    data: bytes, declared: str | None = None, *, markup: bool = False
) -> tuple[str, str]:
    """Decode the bytes of a text file or web page; return (text, encoding).

    Order: a byte-order mark; strict UTF-8; a declared charset (web pages); BOM-less UTF-16;
    charset-normalizer restricted to encodings Chinese files are saved in, each result checked
    to read like Chinese (for `markup`, its visible text). Raises `_Fail` rather than
    returning mojibake.
    """

    def quality(text: str) -> float:
        return _chinese_quality(_visible_text(text) if markup else text)

    for bom, encoding in _UTF16_BOMS:
        if data.startswith(bom):
            text = _strict_decode(data, encoding)
            if text is None:
                raise _Fail(
                    f"file starts with a {encoding.upper()} byte-order mark but is not valid "
                    f"{encoding.upper()}; save the file as UTF-8"
                )
            if _control_share(text) > 0.05:
                raise _Fail(_binary_reason(data))
            return text, encoding

    has_nul = b"\x00" in data
    text = _strict_decode(data, "utf-8")
    if text is not None and not has_nul:
        if _control_share(text) > 0.05:
            raise _Fail(_binary_reason(data))
        return text, "utf-8"

    tried = ["utf-8"]
    if declared:
        encoding = _canonical_encoding(declared)
        if encoding and encoding not in ("utf-8", "utf-16", "utf-32"):
            tried.append(encoding)
            text = _strict_decode(data, encoding)
            if text is not None and quality(text) >= _QUALITY_THRESHOLD:
                return text, encoding

    # Without a BOM, UTF-16 is the only way a Chinese text file holds NUL bytes.
    candidates: dict[str, str] = {}
    if len(data) % 2 == 0:
        for encoding in ("utf-16-le", "utf-16-be"):
            text = _strict_decode(data, encoding)
            if text is not None:
                candidates[encoding] = text
    tried.append("utf-16")
    if has_nul:
        best = _best_candidate(candidates, quality)
        if best is None:
            raise _Fail(_binary_reason(data))
        return best

    for encoding in _detected_encodings(data):
        if encoding not in candidates:
            text = _strict_decode(data, encoding)
            if text is not None:
                candidates[encoding] = text
    for encoding in ("gb18030", "big5"):
        if encoding not in tried:
            tried.append(encoding)
        if encoding not in candidates:
            text = _strict_decode(data, encoding)
            if text is not None:
                candidates[encoding] = text
    best = _best_candidate(candidates, quality)
    if best is not None:
        return best
    if _sniff(data) or _c0_control_share(data) > 0.05:
        raise _Fail(_binary_reason(data))
    damaged = _damaged_text_reason(data, quality)
    if damaged:
        raise _Fail(damaged)
    raise _Fail(
        f"cannot detect the text encoding (tried {', '.join(tried)}); "
        "open the file in an editor and save it as UTF-8"
    )


def _damaged_text_reason(data: bytes, quality: Callable[[str], float]) -> str | None:
    """Say so when the file is UTF-8 or GB18030 text with a few broken bytes, not mojibake."""
    for encoding in ("utf-8", "gb18030"):
        text = data.decode(encoding, errors="replace")
        bad = text.count("\ufffd")
        if not bad or bad > max(3, len(text) // 1000):
            continue
        if quality(text.replace("\ufffd", "")) < _QUALITY_THRESHOLD:
            continue
        first = text.index("\ufffd")
        context = text[max(0, first - 10) : first].strip()
        near = f" (after '{context}')" if context else ""
        return (
            f"the text looks like {encoding.upper()} but has {bad} invalid byte "
            f"sequence{'s' if bad > 1 else ''}{near}; the file may be damaged or mix "
            "encodings: open it in an editor, fix it and save it as UTF-8"
        )
    return None


_DETECTABLE = ["gb18030", "big5", "utf_16_le", "utf_16_be"]


def _detected_encodings(data: bytes) -> list[str]:
    """Encodings charset-normalizer finds plausible, limited to those Chinese files use."""
    from charset_normalizer import from_bytes

    found: list[str] = []
    try:
        matches = from_bytes(data, cp_isolation=_DETECTABLE)
    except Exception:  # a detector failure only means one fewer guess
        return found
    for match in matches:
        encoding = _canonical_encoding(match.encoding)
        if encoding and encoding not in found:
            found.append(encoding)
    return found


def _best_candidate(
    candidates: dict[str, str], quality: Callable[[str], float]
) -> tuple[str, str] | None:
    scored = [
        (quality(text), encoding, text)
        for encoding, text in candidates.items()
        if _control_share(text) <= 0.01
    ]
    scored = [item for item in scored if item[0] >= _QUALITY_THRESHOLD]
    if not scored:
        return None
    _, encoding, text = max(scored, key=lambda item: item[0])
    return text, encoding


def _load_text(path: Path, data: bytes, fmt: str) -> LoadedDocument:
    text, encoding = _decode_text(data)
    text = _normalize_newlines(text)
    if not text.strip():
        raise _Fail("file has no text (only whitespace)")
    return LoadedDocument(source=path, text=text, format=fmt, encoding=encoding)


# --------------------------------------------------------------------------------------------
# Word .docx


def _load_docx(path: Path, data: bytes) -> LoadedDocument:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        head = data[:1024].lstrip()
        if head.startswith(_OLE2_MAGIC):
            raise _Fail(
                "looks like an old .doc file (or a password-protected document), not .docx; "
                "open it in Word or WPS and save it as .docx"
            )
        if head.startswith(b"{\\rtf"):
            raise _Fail("is an RTF file, not .docx; open it in Word or WPS and save it as .docx")
        if head[:512].lower().lstrip(b"\xef\xbb\xbf").startswith((b"<!doctype", b"<html")):
            raise _Fail("is a web page saved with a .docx name; rename it to .html")
        raise _Fail("not a valid .docx (corrupt or not a Word file)")

    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                lines.append(_docx_paragraph_text(block))
            elif isinstance(block, Table):
                lines.extend(_docx_table_lines(block))
    except Exception:  # python-docx raises KeyError, ValueError, lxml errors... on bad packages
        raise _Fail("not a valid .docx (corrupt or not a Word file)") from None
    text = "\n".join(lines)
    if not text.strip():
        raise _Fail(
            "the document contains no text (only images? scanned pages are not supported: "
            "OCR is not supported, convert it to text first)"
        )
    return LoadedDocument(source=path, text=text, format="docx")


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_DOCX_SKIP = {
    f"{_W}del",
    f"{_W}moveFrom",
    f"{_W}txbxContent",
    f"{_W}pPr",
    f"{_W}rPr",
    f"{_MC}Fallback",
}


def _docx_paragraph_text(paragraph: object) -> str:
    """A paragraph's text as Word shows it.

    Unlike `Paragraph.text`, keeps text in tracked insertions, smart tags, inline content
    controls and fields (all of which Word displays), and still drops tracked deletions and
    floating text boxes.
    """
    root = paragraph._p  # type: ignore[attr-defined]
    parts: list[str] = []
    for el in root.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr", f"{_W}noBreakHyphen"):
        node, skip = el.getparent(), False
        while node is not None and node is not root:
            if node.tag in _DOCX_SKIP:
                skip = True
                break
            node = node.getparent()
        if skip:
            continue
        tag = el.tag[len(_W) :]
        if tag == "t":
            parts.append(el.text or "")
        elif tag == "tab":
            parts.append("\t")
        elif tag == "cr" or (tag == "br" and el.get(f"{_W}type") in (None, "textWrapping")):
            parts.append("\n")
        elif tag == "noBreakHyphen":
            parts.append("-")
    return "".join(parts)


def _docx_cell_text(cell: object) -> str:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    parts: list[str] = []
    for block in cell.iter_inner_content():  # type: ignore[attr-defined]
        if isinstance(block, Paragraph):
            parts.append(_docx_paragraph_text(block).strip())
        elif isinstance(block, Table):
            parts.extend(line.replace(CELL_SEPARATOR, " ") for line in _docx_table_lines(block))
    return " ".join(p for p in parts if p)


def _docx_table_lines(table: object) -> list[str]:
    """One line per row, cells joined by `CELL_SEPARATOR`.

    python-docx returns a merged cell once per grid column and row it spans; a vertically merged
    cell stays in every row (each row reads whole), a horizontal span is kept once per row.
    """
    lines: list[str] = []
    for row in table.rows:  # type: ignore[attr-defined]
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:
                continue
            previous = cell._tc
            text = _docx_cell_text(cell)
            if text:
                cells.append(text)
        if cells:
            lines.append(CELL_SEPARATOR.join(cells))
    return lines


# --------------------------------------------------------------------------------------------
# PDF

_TERMINAL_PUNCT = "。！？；：!?;:…"
_CLOSERS = "”’」』）)】》\"'"
_HEADING_START = re.compile(
    r"^\s*(?:"
    r"[一二三四五六七八九十百]+\s*[、.．]"  # 一、
    r"|[（(]\s*[一二三四五六七八九十百]+\s*[）)]"  # （一）
    r"|\d{1,2}\s*[、．.](?!\d)"  # 1. 1、 (not 1.5)
    r"|[（(]\s*\d{1,2}\s*[）)]"  # （1）
    r"|[①-⑳]"  # ①
    r"|第[一二三四五六七八九十百\d]+[章节部分条篇]"  # 第一部分
    r")"
)
_PAGE_NUMBER = re.compile(
    r"^(?:"
    r"[-—–－·\s]*\d{1,4}[-—–－·\s]*"  # 3, - 3 -, —3—
    r"|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"  # 第 3 页（共 10 页）
    r"|共\s*\d{1,4}\s*页\s*第\s*\d{1,4}\s*页"
    r"|\d{1,4}\s*/\s*\d{1,4}"  # 3/10
    r"|[Pp]age\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?"
    r")$"
)
_CJK_CLASS = r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"
_SPACE_IN_CJK = re.compile(rf"(?<={_CJK_CLASS}) +(?={_CJK_CLASS})")


def _load_pdf(path: Path, data: bytes) -> LoadedDocument:
    if b"%PDF-" not in data[:1024]:
        kind = _sniff(data)
        raise _Fail(f"not a PDF file{f' (it looks like {kind})' if kind else ''}")
    if b"%%EOF" not in data[-2048:]:
        raise _Fail(
            "the PDF is truncated or corrupt (its end-of-file marker is missing); "
            "download or export it again"
        )

    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError

    damage = _PdfDamageLog()
    pypdf_logger = logging.getLogger("pypdf")
    pypdf_logger.addHandler(damage)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                result = reader.decrypt("")
            except DependencyError:
                raise _Fail(
                    "the PDF is encrypted with AES and opening it needs the 'cryptography' "
                    "package (pip install cryptography); or save an unencrypted copy"
                ) from None
            if result == PasswordType.NOT_DECRYPTED:
                raise _Fail("the PDF is password-protected; save a copy without a password first")
        pages = [page.extract_text() or "" for page in reader.pages]
    except _Fail:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        detail = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise _Fail(f"cannot read the PDF (corrupt or damaged: {detail})") from None
    finally:
        pypdf_logger.removeHandler(damage)
    if damage.messages:
        # pypdf recovers from missing objects by skipping them: text would be silently lost
        raise _Fail(
            f"the PDF is damaged ({damage.messages[0]}), so part of its text cannot be read; "
            "download or export it again"
        )

    page_lines = [
        [_SPACE_IN_CJK.sub("", line.strip()) for line in page.splitlines() if line.strip()]
        for page in pages
    ]
    if sum(len("".join(lines)) for lines in page_lines) == 0:
        raise _Fail(
            "the PDF has no text layer (scanned PDF?); OCR is not supported — "
            "convert it to text first"
        )
    if _unreadable_share("".join("".join(lines) for lines in page_lines)) > 0.3:
        raise _Fail(
            "the PDF's text layer cannot be read (its fonts have no Unicode mapping); "
            "export the text from the original document, or convert it to text first"
        )
    body = [line for lines in _drop_page_furniture(page_lines) for line in lines]
    text = "\n".join(_rejoin_lines(body))
    if not text.strip():
        raise _Fail("the PDF has no text besides page headers and numbers")
    return LoadedDocument(source=path, text=text, format="pdf")


class _PdfDamageLog(logging.Handler):
    """Collects pypdf's warnings that objects or streams are missing, for this thread only."""

    _DAMAGE = re.compile(
        r"not defined|Invalid Elementary Object|Stream has ended unexpectedly|"
        r"Unexpected end of stream|Object .* not found",
        re.I,
    )

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            message = record.getMessage()
            if self._DAMAGE.search(message):
                self.messages.append(message.strip()[:100])


def _unreadable_share(text: str) -> float:
    """Share of characters no reader could use: private-use glyph codes, controls, U+FFFD."""
    if not text:
        return 0.0
    bad = sum(
        1 for ch in text if ch == "\ufffd" or unicodedata.category(ch) in ("Co", "Cn", "Cc", "Cs")
    )
    return bad / len(text)


def _furniture_key(line: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))


def _drop_page_furniture(pages: list[list[str]]) -> list[list[str]]:
    """Drop page numbers and headers/footers repeated on many pages from each page's edges."""
    edge = 2
    counts: Counter[str] = Counter()
    for lines in pages:
        keys = {_furniture_key(line) for line in lines[:edge] + lines[-edge:]}
        counts.update(keys)
    repeated_at = max(2, (len(pages) + 1) // 2)
    repeated = {key for key, n in counts.items() if n >= repeated_at and len(pages) >= 2}

    def is_furniture(line: str) -> bool:
        return bool(_PAGE_NUMBER.match(line.strip())) or _furniture_key(line) in repeated

    cleaned: list[list[str]] = []
    for lines in pages:
        lines = list(lines)
        for _ in range(edge + 1):
            if lines and is_furniture(lines[0]):
                lines.pop(0)
        for _ in range(edge + 1):
            if lines and is_furniture(lines[-1]):
                lines.pop()
        cleaned.append(lines)
    return cleaned


def _display_width(line: str) -> float:
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.5 for ch in line)


def _ends_sentence(line: str) -> bool:
    stripped = line.rstrip().rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _TERMINAL_PUNCT


def _latin_word_break(previous: str, line: str) -> bool:
    """Lines split between two Latin words need the space back; Chinese ones must not get one."""
    last, first = previous[-1:], line[:1]
    return last.isascii() and last.isalpha() and first.isascii() and first.isalpha()


def _rejoin_lines(lines: list[str]) -> list[str]:
    """Join lines a PDF wrapped mid-sentence, without a space between Chinese characters.

    A line break is kept after sentence punctuation, before a heading (一、 （一） 1.), and after
    a line that stops short of the text width (a title, or a paragraph's last line).
    """
    if not lines:
        return []
    widths = sorted(_display_width(line) for line in lines)
    full = widths[int(0.9 * (len(widths) - 1))]
    out: list[str] = [lines[0]]
    previous = lines[0]
    for line in lines[1:]:
        width = _display_width(previous)
        continues = not (
            _ends_sentence(previous)
            or _HEADING_START.match(line)
            or width < 0.8 * full
            or width < 12
        )
        if continues:
            out[-1] = out[-1] + (" " if _latin_word_break(previous, line) else "") + line
        else:
            out.append(line)
        previous = line
    return out


# --------------------------------------------------------------------------------------------
# HTML pages saved from government sites

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "svg",
    "canvas",
    "select",
    "button",
    "input",
    "textarea",
    "nav",
    "header",
    "footer",
    "head",
    "link",
    "meta",
)
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "section",
        "article",
        "blockquote",
        "pre",
        "dd",
        "dt",
        "dl",
        "center",
        "hr",
        "figure",
        "figcaption",
        "address",
        "main",
        "aside",
    }
)
_CONTAINER_HINT = re.compile(
    r"zoom|article|content|trs_?editor|view|detail|zhengwen|^zw|text|newsinfo|news_?con|"
    r"art_?con|wzy|xxgk_?con|con_?txt|bt_?content|main_?con",
    re.I,
)
_NOISE_HINT = re.compile(
    r"share|fenxiang|bdshare|jiathis|social|print|dayin|close|guanbi|crumb|position|location|"
    r"weizhi|dqwz|curpos|^nav|menu|footer|^foot|^bottom|copyright|banquan|^header|^top|"
    r"related|xgxx|xglj|qrcode|ewm|erweima|sidebar|toolbar|^tools?$|fontsize|zihao|^font|"
    r"xxgk_?table|^syh|^index|^info|^meta|^attr|pager|^prev|^next|^fl$|^fr$|banner|search|"
    r"login|skip|wza|zhuanti",
    re.I,
)
_FURNITURE_LINE = re.compile(
    r"(?:"
    r"^您?(?:当前)?(?:的|所在)?(?:当前)?位置\s*[:：]"
    r"|扫一扫在手机(?:上)?打开"
    r"|^\s*扫一扫"
    r"|分享到|分享至"
    r"|打印本?页|关闭窗口|关闭本页|【\s*打印\s*】|【\s*关闭\s*】"
    r"|字号\s*[:：]?\s*[【\[]?\s*大\s*中\s*小"
    r"|^\s*[【\[]?\s*大\s*中\s*小\s*[】\]]?\s*$"
    r"|主办单位\s*[:：]|承办单位\s*[:：]|网站标识码|ICP\s*备|公网安备|版权所有|技术支持\s*[:：]"
    r"|网站地图|联系我们|^\s*(?:上|下)一篇\s*[:：]"
    r"|浏览次数\s*[:：]|访问量\s*[:：]|阅读次数\s*[:：]"
    r"|^\s*(?:发布|发文)?(?:日期|时间)\s*[:：]\s*\d{4}"
    r"|^\s*来源\s*[:：]"
    r"|^\s*(?:索\s*引\s*号|发文字号|发布机构|发文机关|主题分类|成文日期|生效日期|有效性)\s*[:：]"
    r")",
    re.I,
)
_INDEX_LABELS = (
    "索引号",
    "发文字号",
    "文号",
    "发布机构",
    "发文机关",
    "主题分类",
    "主题词",
    "成文日期",
    "发布日期",
    "生效日期",
    "信息来源",
    "有效性",
    "信息分类",
    "组配分类",
    "体裁分类",
)
_DATE_LABELS = (
    r"发布(?:日期|时间)|发文日期|公开日期",
    r"(?<![成生效])日期|(?<![更])时间",
    r"成文日期",
)
_DATE_VALUE = r"\s*[:：]\s*(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})"
_DATE_IN_META = r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})"
_META_DATE_NAMES = {
    "pubdate",
    "publishdate",
    "firstpublishedtime",
    "article:published_time",
    "dc.date",
    "dcterms.date",
    "dc.date.issued",
    "publishtime",
}


def _load_html(path: Path, data: bytes) -> LoadedDocument:
    from bs4 import BeautifulSoup

    declared_match = _META_CHARSET.search(data[:8192])
    declared = declared_match.group(1).decode("ascii", "replace") if declared_match else None
    html, encoding = _decode_text(data, declared, markup=True)
    soup = BeautifulSoup(html, "lxml")

    title_hint = _html_title(soup)
    published_hint = _html_date(soup)

    for tag in soup.find_all(_DROP_TAGS):
        if not tag.decomposed:
            tag.decompose()
    body = soup.body or soup
    container = _pick_container(body)
    if container is None:
        raise _Fail(
            "no article text found in the web page (the page may load its text with JavaScript "
            "or in a frame); save the article text as .txt instead"
        )
    _strip_noise(container)
    lines = [line for line in _html_lines(container) if not _is_furniture_line(line)]
    text = "\n".join(lines)
    if _cjk_count(text) < 30:
        raise _Fail(
            "no article text found in the web page (the page may load its text with JavaScript "
            "or in a frame); save the article text as .txt instead"
        )
    return LoadedDocument(
        source=path,
        text=text,
        format="html",
        encoding=encoding,
        title_hint=title_hint,
        published_hint=published_hint,
    )


def _cjk_count(text: str) -> int:
    return sum(1 for ch in text if _is_hanzi(ch))


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()


def _tokens(tag: object) -> list[str]:
    attrs = getattr(tag, "attrs", None) or {}
    classes = attrs.get("class") or []
    if isinstance(classes, str):
        classes = classes.split()
    ident = attrs.get("id")
    tokens = list(classes)
    if isinstance(ident, str) and ident:
        tokens.append(ident)
    return tokens


def _html_title(soup: object) -> str | None:
    title_name = re.compile(r"^articletitle$", re.I)
    meta = soup.find("meta", attrs={"name": title_name})  # type: ignore[attr-defined]
    if meta and _collapse(meta.get("content", "")):
        return _collapse(meta["content"])
    page_title = _collapse(soup.title.get_text()) if soup.title else ""  # type: ignore[attr-defined]
    site = soup.find("meta", attrs={"name": re.compile(r"^sitename$", re.I)})  # type: ignore[attr-defined]
    site_name = _collapse(site.get("content", "")) if site else ""
    candidates: list[str] = []
    for tag in soup.find_all(True):  # type: ignore[attr-defined]
        if tag.name in ("h1", "h2", "h3") or any(
            re.search(r"title|^bt$|^tit", t, re.I) for t in _tokens(tag)
        ):
            if tag.name in ("title", "head", "html", "body"):
                continue
            text = _collapse(tag.get_text(" "))
            linked = _collapse(" ".join(a.get_text(" ") for a in tag.find_all("a")))
            if linked == text or text == site_name:  # a logo or a menu, not the article's title
                continue
            if 4 <= len(text) <= 150 and _cjk_count(text) >= 4:
                candidates.append(text)
    in_page_title = [c for c in candidates if page_title and c in page_title and len(c) >= 6]
    if in_page_title:
        return max(in_page_title, key=len)
    for text in candidates:
        if re.search(r"报告|情况|关于|总结|工作", text):
            return text
    if page_title:
        parts = [p.strip() for p in re.split(r"\s*[_|｜]\s*|\s+[-—–]+\s+", page_title) if p.strip()]
        return max(parts, key=len) if parts else page_title
    return candidates[0] if candidates else None


def _valid_date(y: str, m: str, d: str) -> str | None:
    year, month, day = int(y), int(m), int(d)
    if 1990 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31:
        return f"{year:04d}-{month:02d}-{day:02d}"
    return None


def _html_date(soup: object) -> str | None:
    for meta in soup.find_all("meta"):  # type: ignore[attr-defined]
        name = (meta.get("name") or meta.get("property") or "").lower()
        if name in _META_DATE_NAMES:
            found = re.search(_DATE_IN_META, meta.get("content", ""))
            if found and (iso := _valid_date(*found.groups())):
                return iso
    body = soup.body or soup  # type: ignore[attr-defined]
    text = body.get_text("\n")
    for labels in _DATE_LABELS:
        for found in re.finditer(f"(?:{labels})" + _DATE_VALUE, text):
            iso = _valid_date(*found.groups())
            if iso:
                return iso
    return None


def _is_container_token(token: str) -> bool:
    """A class/id naming an article container (`zoom`, `TRS_Editor`), not a widget in one."""
    return bool(_CONTAINER_HINT.search(token)) and not _NOISE_HINT.search(token)


def _own_cjk(tag: object) -> int:
    """CJK characters in a tag's text that are not link text (menus are all links)."""
    total = _cjk_count(tag.get_text())  # type: ignore[attr-defined]
    linked = sum(_cjk_count(a.get_text()) for a in tag.find_all("a"))  # type: ignore[attr-defined]
    return total - linked


def _pick_container(body: object) -> object | None:
    """The element holding the article: a known CMS container, else the densest text block."""
    from bs4 import Tag
    from bs4.element import PreformattedString

    hinted: list[tuple[int, int, Tag]] = []
    for depth_tag in body.find_all(True):  # type: ignore[attr-defined]
        tokens = _tokens(depth_tag)
        if depth_tag.name == "article" or any(_is_container_token(t) for t in tokens):
            score = _own_cjk(depth_tag)
            if score > 0:
                hinted.append((score, len(list(depth_tag.parents)), depth_tag))

    # Fallback: credit each text's CJK characters to its block (a <p>'s to the <p>'s parent)
    # and to that block's parent, so paragraphs add up in the element that holds them all.
    credit: Counter[int] = Counter()
    by_id: dict[int, tuple[int, Tag]] = {}
    for string in body.find_all(string=True):  # type: ignore[attr-defined]
        if isinstance(string, PreformattedString) or string.find_parent("a") is not None:
            continue
        n = _cjk_count(string)
        block = string.parent
        while block is not None and block.name not in _BLOCK_TAGS | {"td", "th", "body"}:
            block = block.parent
        if not n or block is None:
            continue
        if block.name == "p" and block.parent is not None:
            block = block.parent
        for holder in (block, block.parent):
            if isinstance(holder, Tag):
                credit[id(holder)] += n
                by_id[id(holder)] = (len(list(holder.parents)), holder)
    dense = None
    if credit:
        most = credit.most_common(1)[0][1]
        dense = max(
            (by_id[key] for key, n in credit.items() if n >= 0.85 * most), key=lambda d: d[0]
        )[1]

    best = None
    if hinted:
        top = max(score for score, _, _ in hinted)
        # the tightest hinted element that still holds nearly all of the best one's text
        close = [item for item in hinted if item[0] >= 0.85 * top]
        best = max(close, key=lambda item: item[1])[2]
        if dense is not None and _own_cjk(dense) > 2 * _own_cjk(best):
            best = dense
    elif dense is not None:
        best = dense
    if best is None:
        return None
    if _own_cjk(best) < 30:
        return None
    return best


def _strip_noise(container: object) -> None:
    """Remove share widgets, index tables, print/close links... inside the article container."""
    from bs4 import Tag

    total = max(_own_cjk(container), 1)
    for tag in list(container.find_all(True)):  # type: ignore[attr-defined]
        if not isinstance(tag, Tag) or tag.decomposed:
            continue
        tokens = _tokens(tag)
        noisy = any(_NOISE_HINT.search(t) for t in tokens) and not any(
            _is_container_token(t) for t in tokens
        )
        if not noisy and tag.name in ("table", "ul", "ol", "dl", "div"):
            noisy = _is_index_block(tag)
        if noisy and _own_cjk(tag) < 0.5 * total:
            tag.decompose()


def _is_index_block(tag: object) -> bool:
    """The 索引号/发文字号/发布机构 block government pages put above an article."""
    text = tag.get_text()  # type: ignore[attr-defined]
    if _cjk_count(text) >= 400:
        return False
    if tag.name == "table":  # type: ignore[attr-defined]
        return sum(label in text for label in _INDEX_LABELS) >= 2
    labelled = sum(1 for label in _INDEX_LABELS if re.search(rf"{label}\s*[:：]", text))
    return labelled >= 2


def _is_furniture_line(line: str) -> bool:
    return len(line) <= 120 and bool(_FURNITURE_LINE.search(line))


_WIDE_CHAR = r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f\u2014\u2018-\u201f\u2026]"
_SEGMENT_BREAK = re.compile(rf"(?<={_WIDE_CHAR})[ \t\r\f]*\n\s*|[ \t\r\f]*\n\s*(?={_WIDE_CHAR})")


def _inline_text(raw: str) -> str:
    """Collapse HTML whitespace; a source line break next to a Chinese character is dropped.

    (Browsers turn it into a space, which Chinese text does not have.)
    """
    raw = _SEGMENT_BREAK.sub("", raw)
    return re.sub(r"[ \t\r\n\f\xa0]+", " ", raw)


def _is_layout_row(tr: object) -> bool:
    """A row of a page-layout table (holding paragraphs), not of a data table."""
    if tr.find("table") is not None:  # type: ignore[attr-defined]
        return True
    cells = tr.find_all(["td", "th"], recursive=False)  # type: ignore[attr-defined]
    return any(len(_collapse(cell.get_text())) > 300 for cell in cells)


def _html_lines(container: object) -> list[str]:
    """One line per block element (<p>, <div>, <li>, <br>...), table rows joined by cells."""
    from bs4 import NavigableString, Tag
    from bs4.element import PreformattedString

    lines: list[str] = []
    buffer: list[str] = []

    def flush() -> None:
        text = _inline_text("".join(buffer)).strip(" \u3000")
        buffer.clear()
        if text:
            lines.append(text)

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, PreformattedString):
                    buffer.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            if child.name == "br":
                flush()
            elif child.name == "tr" and not _is_layout_row(child):
                flush()
                cells = [
                    _inline_text(cell.get_text()).strip(" \u3000")
                    for cell in child.find_all(["td", "th"], recursive=False)
                ]
                row = CELL_SEPARATOR.join(c for c in cells if c)
                if row:
                    lines.append(row)
            elif child.name in _BLOCK_TAGS or child.name in ("td", "th"):
                flush()
                walk(child)
                flush()
            else:
                walk(child)

    walk(container)  # type: ignore[arg-type]
    flush()
    return lines
