"""Text cleaners: small steps with one signature (`str -> str`), run in order.

They remove what is not the report — site breadcrumbs, share widgets, Word artefacts, page
numbers, metadata tables — and normalise whitespace. Citations point into the cleaned text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

Cleaner = Callable[[str], str]

_BREADCRUMB = re.compile(
    r"^\s*(您当前的位置|当前位置|您现在的位置|当前所在位置|所在位置)\s*[:：].*$"
)
_SHARE = re.compile(
    r"^\s*(扫一扫在手机打开当前页|扫一扫在手机上查看当前页面|分享到[:：]?.*|【?打印本页】?.*|【?关闭窗口】?.*"
    r"|字号[:：]\s*[大中小\s【】\[\]]*|\[?\s*(打印|关闭|收藏)\s*\]?)\s*$"
)
_WORD_ARTEFACT = re.compile(r"\[(bookmark|image|comment|footnote)[^\]\n]*\]", re.IGNORECASE)
_PAGE_NUMBER = re.compile(
    r"^\s*(?:[-—–－]\s*\d{1,4}\s*[-—–－]|\d{1,4}|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}|Page\s+\d+(?:\s+of\s+\d+)?)\s*$",
    re.IGNORECASE,
)
_METADATA_FIELD = re.compile(
    r"^\s*(索\s*引\s*号|发文字号|发文机关|发布机构|发布机关|主题分类|主题词|成文日期|发布日期|生效日期|"
    r"公开方式|公开范围|信息来源|来源|浏览次数|点击数|访问量|日期|作者|文\s*号)\s*[:：]"
)
_FOOTER = re.compile(r"^\s*(主办单位|承办单位|网站标识码|版权所有|技术支持|.*ICP备|.*公网安备)")


def normalize_whitespace(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = "".join(
        " " if unicodedata.category(ch) == "Zs" else ch
        for ch in text
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf")
    )
    return "\n".join(line.strip() for line in text.split("\n"))


_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SPACE_IN_CJK = re.compile(rf"(?<=[{_CJK}，。；：、])[ \t]+(?=[{_CJK}，。；：、])")


def join_spaced_cjk(text: str) -> str:
    """'一 是' -> '一是': spaces between Chinese characters are layout, not content."""
    return _SPACE_IN_CJK.sub("", text)


def drop_web_furniture(text: str) -> str:
    return "\n".join(
        line
        for line in text.split("\n")
        if not (_BREADCRUMB.match(line) or _SHARE.match(line) or _FOOTER.match(line))
    )


def drop_word_artefacts(text: str) -> str:
    return _WORD_ARTEFACT.sub("", text)


def drop_page_numbers(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not _PAGE_NUMBER.match(line))


def drop_metadata_fields(text: str) -> str:
    """Index-table lines (索引号/发文字号/日期…) as they come out of a saved web page.

    Only short lines are dropped: a sentence of the report that happens to start with 来源: stays.
    """
    return "\n".join(
        line for line in text.split("\n") if not (_METADATA_FIELD.match(line) and len(line) <= 60)
    )


def collapse_blank_lines(text: str) -> str:
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n") + "\n"


DEFAULT_CLEANERS: tuple[Cleaner, ...] = (
    normalize_whitespace,
    drop_word_artefacts,
    drop_web_furniture,
    drop_metadata_fields,
    drop_page_numbers,
    join_spaced_cjk,
    normalize_whitespace,
    collapse_blank_lines,
)


def clean_text(text: str, cleaners: Iterable[Cleaner] = DEFAULT_CLEANERS) -> str:
    for cleaner in cleaners:
        text = cleaner(text)
    return text
