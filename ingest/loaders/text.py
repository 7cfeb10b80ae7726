"""Plain text files (.txt, .md) and the bytes of web pages: encodings decoded honestly.

A file's bytes are decoded only when the result reads like Chinese; otherwise the file is refused
with the reason (binary, damaged, unknown encoding) rather than stored as mojibake.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from ingest.loaders.failure import LoadFailure
from ingest.model import LoadedDocument

CELL_SEPARATOR = "｜"
"""Joins the cells of one table row (Word and HTML tables) into one line."""
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def normalize_newlines(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    return text.removeprefix("\ufeff")


_CJK_PUNCT_RANGES = ((0x3000, 0x303F), (0xFF00, 0xFFEF), (0x2000, 0x206F), (0x3200, 0x33FF))


def is_hanzi(ch: str) -> bool:
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
    return frozenset(c for c in chars if is_hanzi(c))


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
        if is_hanzi(ch):
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


def sniff(data: bytes) -> str | None:
    """Name the kind of a binary file from its first bytes, with the extension it should have."""
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF-"):
        return "a PDF file (rename it to .pdf)"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive or Word .docx file"
    if head.startswith(OLE2_MAGIC):
        return "an old Word .doc (or Excel .xls) file; save it as .docx"
    if head.startswith(b"{\\rtf"):
        return "an RTF file; save it as .docx"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*")):
        return "an image (scanned page?); OCR is not supported"
    if head.startswith((b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")):
        return "a compressed archive; extract it first"
    return None


def _binary_reason(data: bytes) -> str:
    kind = sniff(data)
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


def decode_text(
    data: bytes, declared: str | None = None, *, markup: bool = False
) -> tuple[str, str]:
    """Decode the bytes of a text file or web page; return (text, encoding).

    Order: a byte-order mark; strict UTF-8; a declared charset (web pages); BOM-less UTF-16;
    charset-normalizer restricted to encodings Chinese files are saved in, each result checked
    to read like Chinese (for `markup`, its visible text). Raises `LoadFailure` rather than
    returning mojibake.
    """

    def quality(text: str) -> float:
        return _chinese_quality(_visible_text(text) if markup else text)

    for bom, encoding in _UTF16_BOMS:
        if data.startswith(bom):
            text = _strict_decode(data, encoding)
            if text is None:
                raise LoadFailure(
                    f"file starts with a {encoding.upper()} byte-order mark but is not valid "
                    f"{encoding.upper()}; save the file as UTF-8"
                )
            if _control_share(text) > 0.05:
                raise LoadFailure(_binary_reason(data))
            return text, encoding

    has_nul = b"\x00" in data
    text = _strict_decode(data, "utf-8")
    if text is not None and not has_nul:
        if _control_share(text) > 0.05:
            raise LoadFailure(_binary_reason(data))
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
            raise LoadFailure(_binary_reason(data))
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
    if sniff(data) or _c0_control_share(data) > 0.05:
        raise LoadFailure(_binary_reason(data))
    damaged = _damaged_text_reason(data, quality)
    if damaged:
        raise LoadFailure(damaged)
    raise LoadFailure(
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


# Markdown's markup, which is not the report's text: "## 二、存在的问题" is the heading 二、存在的问题
_MD_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_MD_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_MD_BULLET = re.compile(r"^[ \t]*[-*+][ \t]+", re.MULTILINE)
_MD_QUOTE = re.compile(r"^[ \t]*>[ \t]?", re.MULTILINE)
_MD_RULE = re.compile(r"^[ \t]*(?:[-*_][ \t]*){3,}$", re.MULTILINE)
_MD_UNDERLINE = re.compile(r"^[ \t]{0,3}=+[ \t]*$", re.MULTILINE)  # a heading's, "标题\n===="
_MD_FENCE = re.compile(r"^[ \t]{0,3}(?:`{3,}|~{3,})[^\n]*$", re.MULTILINE)
# a table's rule line, with or without outer pipes: "|:---|---:|", "--- | ---"
_MD_TABLE_RULE = re.compile(
    r"^[ \t]*(?:\|(?:[ \t]*:?-+:?[ \t]*\|)+|:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?)[ \t]*$"
)


def _tables(text: str) -> str:
    """Markdown tables as a Word table's rows read: cells joined by CELL_SEPARATOR, no rule
    line. A table is its header row, its rule and the rows with a pipe after it."""
    lines = text.split("\n")
    out: list[str] = []
    in_table = False
    for line in lines:
        if _MD_TABLE_RULE.match(line) and out and "|" in out[-1]:
            out[-1] = _table_row(out[-1])  # the header
            in_table = True
            continue
        in_table = in_table and "|" in line
        out.append(_table_row(line) if in_table else line)
    return "\n".join(out)


def _table_row(line: str) -> str:
    cells = line.strip().removeprefix("|").removesuffix("|").split("|")
    return CELL_SEPARATOR.join(cell.strip() for cell in cells if cell.strip())


def markdown_text(text: str) -> str:
    """A Markdown report's text without its markup: heading marks and underlines, bold, links
    (their text kept), bullets, quotes, rules and code fences; a table's rows as a Word table's
    are read; numbered lists stay (1. is a report's own numbering)."""
    text = _tables(text)
    text = _MD_FENCE.sub("", _MD_UNDERLINE.sub("", _MD_RULE.sub("", text)))
    text = _MD_HEADING.sub(r"\1", text)
    text = _MD_QUOTE.sub("", _MD_BULLET.sub("", text))
    return _MD_LINK.sub(r"\1", _MD_STRONG.sub(r"\2", text))


def load_text(path: Path, data: bytes, fmt: str) -> LoadedDocument:
    text, encoding = decode_text(data)
    text = normalize_newlines(text)
    if fmt == "md":
        text = markdown_text(text)
    if not text.strip():
        raise LoadFailure("file has no text (only whitespace)")
    return LoadedDocument(source=path, text=text, format=fmt, encoding=encoding)


def cjk_count(text: str) -> int:
    return sum(1 for ch in text if is_hanzi(ch))
