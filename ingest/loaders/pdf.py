"""PDF files: the text layer, with wrapped lines rejoined and page furniture dropped."""

from __future__ import annotations

import io
import logging
import re
import threading
import unicodedata
from collections import Counter
from pathlib import Path

from ingest.loaders.failure import LoadFailure, format_size
from ingest.loaders.limits import EXPANSION_FACTOR, ExpansionLimits
from ingest.loaders.text import sniff
from ingest.model import LoadedDocument

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


def load_pdf(path: Path, data: bytes, limits: ExpansionLimits) -> LoadedDocument:
    if b"%PDF-" not in data[:1024]:
        kind = sniff(data)
        raise LoadFailure(f"not a PDF file{f' (it looks like {kind})' if kind else ''}")
    if b"%%EOF" not in data[-2048:]:
        raise LoadFailure(
            "the PDF is truncated or corrupt (its end-of-file marker is missing); "
            "download or export it again"
        )

    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import LimitReachedError

    damage = _PdfDamageLog()
    pypdf_logger = logging.getLogger("pypdf")
    pypdf_logger.addHandler(damage)
    try:
        with apply_configuration(**_stream_limits(limits)):
            pages = _page_texts(PdfReader(io.BytesIO(data)), limits)
    except LimitReachedError as exc:
        raise LoadFailure(_limit_reason(exc, limits)) from None
    except LoadFailure:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        detail = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise LoadFailure(f"cannot read the PDF (corrupt or damaged: {detail})") from None
    finally:
        pypdf_logger.removeHandler(damage)
    if damage.messages:
        # pypdf recovers from missing objects by skipping them: text would be silently lost
        raise LoadFailure(
            f"the PDF is damaged ({damage.messages[0]}), so part of its text cannot be read; "
            "download or export it again"
        )
    return _document(path, pages)


def _stream_limits(limits: ExpansionLimits) -> dict[str, int]:
    """pypdf's per-stream decompression limits (its default is 75 MB), set from ours."""
    return {
        name: limits.part_bytes
        for name in (
            "zlib_maximum_output_length",
            "lzw_maximum_output_length",
            "run_length_maximum_output_length",
            "brotli_maximum_output_length",
            "jbig2_maximum_output_length",
            "array_based_stream_maximum_output_length",
        )
    }


def _page_texts(reader: object, limits: ExpansionLimits) -> list[str]:
    from pypdf import PasswordType
    from pypdf.errors import DependencyError

    if reader.is_encrypted:  # type: ignore[attr-defined]
        try:
            result = reader.decrypt("")  # type: ignore[attr-defined]
        except DependencyError:
            raise LoadFailure(
                "the PDF is encrypted with AES and opening it needs the 'cryptography' "
                "package (pip install cryptography); or save an unencrypted copy"
            ) from None
        if result == PasswordType.NOT_DECRYPTED:
            raise LoadFailure("the PDF is password-protected; save a copy without a password first")
    pages: list[str] = []
    unpacked = 0
    for page in reader.pages:  # type: ignore[attr-defined]
        pages.append(page.extract_text() or "")
        # Each stream is bounded by pypdf; many streams together by this running total, since
        # pypdf keeps every decoded page content in memory until the reader is dropped.
        contents = page.get_contents()
        unpacked += len(contents.get_data()) if contents is not None else 0
        if unpacked > limits.total_bytes:
            raise LoadFailure(
                f"the PDF's page contents expand to more than {format_size(limits.total_bytes)} "
                f"(limit {format_size(limits.total_bytes)}, {EXPANSION_FACTOR} times the file size "
                "limit); refused as a likely decompression bomb"
            )
    return pages


def _limit_reason(exc: Exception, limits: ExpansionLimits) -> str:
    message = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
    if "decompress" in message.lower() or "output length" in message.lower():
        return (
            f"a compressed stream in the PDF expands beyond {format_size(limits.part_bytes)} "
            f"(the limit: {EXPANSION_FACTOR} times the file size limit); "
            "refused as a likely decompression bomb"
        )
    return f"the PDF exceeds a safety limit ({message}); refused, it is damaged or hostile"


def _document(path: Path, pages: list[str]) -> LoadedDocument:
    page_lines = [
        [_SPACE_IN_CJK.sub("", line.strip()) for line in page.splitlines() if line.strip()]
        for page in pages
    ]
    if sum(len("".join(lines)) for lines in page_lines) == 0:
        raise LoadFailure(
            "the PDF has no text layer (scanned PDF?); OCR is not supported — "
            "convert it to text first"
        )
    if _unreadable_share("".join("".join(lines) for lines in page_lines)) > 0.3:
        raise LoadFailure(
            "the PDF's text layer cannot be read (its fonts have no Unicode mapping); "
            "export the text from the original document, or convert it to text first"
        )
    body = [line for lines in _drop_page_furniture(page_lines) for line in lines]
    text = "\n".join(_rejoin_lines(body))
    if not text.strip():
        raise LoadFailure("the PDF has no text besides page headers and numbers")
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
