"""Web pages saved from government sites: the article kept, the site around it dropped."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ingest.loaders.failure import LoadFailure
from ingest.loaders.page_hints import class_tokens, collapse, page_clues, page_date, page_title
from ingest.loaders.text import CELL_SEPARATOR, cjk_count, decode_text
from ingest.model import LoadedDocument

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


def load_web_page(path: Path, data: bytes) -> LoadedDocument:
    from bs4 import BeautifulSoup

    declared_match = _META_CHARSET.search(data[:8192])
    declared = declared_match.group(1).decode("ascii", "replace") if declared_match else None
    html, encoding = decode_text(data, declared, markup=True)
    soup = BeautifulSoup(html, "lxml")

    title_hint = page_title(soup)
    published_hint = page_date(soup)
    clues = page_clues(soup)  # before the head and the site around the article are dropped

    for tag in soup.find_all(_DROP_TAGS):
        if not tag.decomposed:
            tag.decompose()
    body = soup.body or soup
    container = _pick_container(body)
    if container is None:
        raise LoadFailure(
            "no article text found in the web page (the page may load its text with JavaScript "
            "or in a frame); save the article text as .txt instead"
        )
    _strip_noise(container)
    lines = [line for line in _html_lines(container) if not _is_furniture_line(line)]
    text = "\n".join(lines)
    if cjk_count(text) < 30:
        raise LoadFailure(
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
        page_clues=clues,
    )


def _is_container_token(token: str) -> bool:
    """A class/id naming an article container (`zoom`, `TRS_Editor`), not a widget in one."""
    return bool(_CONTAINER_HINT.search(token)) and not _NOISE_HINT.search(token)


def _own_cjk(tag: object) -> int:
    """CJK characters in a tag's text that are not link text (menus are all links)."""
    total = cjk_count(tag.get_text())  # type: ignore[attr-defined]
    linked = sum(cjk_count(a.get_text()) for a in tag.find_all("a"))  # type: ignore[attr-defined]
    return total - linked


def _pick_container(body: object) -> object | None:
    """The element holding the article: a known CMS container, else the densest text block."""
    from bs4 import Tag
    from bs4.element import PreformattedString

    hinted: list[tuple[int, int, Tag]] = []
    for depth_tag in body.find_all(True):  # type: ignore[attr-defined]
        tokens = class_tokens(depth_tag)
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
        n = cjk_count(string)
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
        tokens = class_tokens(tag)
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
    if cjk_count(text) >= 400:
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
    return any(len(collapse(cell.get_text())) > 300 for cell in cells)


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
