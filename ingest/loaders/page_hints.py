"""What a saved web page says about its report besides the article: title, date, clues.

`page_title` and `page_date` find the article's title and publication date. `page_clues` finds
where a page saved without its heading still says whose report it is: the breadcrumb
("您当前的位置：首页 > 街镇 > 塘坊镇人民政府 > 政务公开") and the `<meta>` tags government CMSes
fill in (`ColumnName`, `ArticleTitle`, `Keywords`, `Description`, `og:title`...), as short
strings in page order, for metadata to read when the text has no title.
"""

from __future__ import annotations

import re

from ingest.loaders.text import cjk_count


def collapse(text: str) -> str:
    """A tag's text on one line: runs of whitespace (and no-break spaces) made one space."""
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()


def class_tokens(tag: object) -> list[str]:
    """A tag's classes and id: where CMSes say what an element is (`zoom`, `position`)."""
    attrs = getattr(tag, "attrs", None) or {}
    classes = attrs.get("class") or []
    if isinstance(classes, str):
        classes = classes.split()
    ident = attrs.get("id")
    tokens = list(classes)
    if isinstance(ident, str) and ident:
        tokens.append(ident)
    return tokens


def page_title(soup: object) -> str | None:
    """The article's title: ArticleTitle meta, a heading the <title> repeats, or the <title>."""
    title_name = re.compile(r"^articletitle$", re.I)
    meta = soup.find("meta", attrs={"name": title_name})  # type: ignore[attr-defined]
    if meta and collapse(meta.get("content", "")):
        return collapse(meta["content"])
    page_title = collapse(soup.title.get_text()) if soup.title else ""  # type: ignore[attr-defined]
    site = soup.find("meta", attrs={"name": re.compile(r"^sitename$", re.I)})  # type: ignore[attr-defined]
    site_name = collapse(site.get("content", "")) if site else ""
    candidates: list[str] = []
    for tag in soup.find_all(True):  # type: ignore[attr-defined]
        if tag.name in ("h1", "h2", "h3") or any(
            re.search(r"title|^bt$|^tit", t, re.I) for t in class_tokens(tag)
        ):
            if tag.name in ("title", "head", "html", "body"):
                continue
            text = collapse(tag.get_text(" "))
            linked = collapse(" ".join(a.get_text(" ") for a in tag.find_all("a")))
            if linked == text or text == site_name:  # a logo or a menu, not the article's title
                continue
            if 4 <= len(text) <= 150 and cjk_count(text) >= 4:
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


def _valid_date(y: str, m: str, d: str) -> str | None:
    year, month, day = int(y), int(m), int(d)
    if 1990 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31:
        return f"{year:04d}-{month:02d}-{day:02d}"
    return None


def page_date(soup: object) -> str | None:
    """The publication date (ISO), from date meta tags or a labelled 发布日期 line."""
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


MAX_CLUE_CHARS = 200
"""A clue is a name or a line, not an article: longer texts are cut to this."""

# <meta name=… | property=…> whose content names the page's report, its column or its site.
_CLUE_META = frozenset(
    {
        "keywords",
        "description",
        "articletitle",
        "columnname",
        "columnkeywords",
        "columndescription",
        "sitename",
        "contentsource",
        "og:title",
        "og:description",
        "og:site_name",
    }
)
_CRUMB_HINT = re.compile(
    r"crumb|position|location|weizhi|dqwz|curpos|mianbao|mbx|lujing|dangqian|^path$", re.I
)
_TRAIL_LABEL = re.compile(
    r"^\s*(?:您?(?:现在|当前)?(?:的|所在)?(?:当前)?(?:位置|路径)|当前位置)\s*[:：]?\s*"
)
_TRAIL_SEPARATOR = re.compile(r"\s*(?:>{1,2}|»|›|＞|→|>>)\s*")


def page_clues(soup: object) -> list[str]:
    """The page's breadcrumb trails, then its clue-bearing meta tags, each once and short."""
    clues: list[str] = []
    for clue in [*_breadcrumbs(soup), *_meta_clues(soup)]:
        clue = clue[:MAX_CLUE_CHARS]
        if clue and clue not in clues:
            clues.append(clue)
    return clues


_HANZI = "\u3400-\u9fff\uf900-\ufaff"
# A source line break between two Chinese characters is no space (browsers drop it too).
_BREAK_IN_CHINESE = re.compile(rf"(?<=[{_HANZI}])[ \t\r]*\n\s*(?=[{_HANZI}])")


def _clue_text(text: str) -> str:
    text = _BREAK_IN_CHINESE.sub("", text)
    return re.sub(r"\s+", " ", text.replace("\xa0", " ").replace("\u3000", " ")).strip()


def _breadcrumbs(soup: object) -> list[str]:
    """Trails like '首页 > 街镇 > 塘坊镇人民政府', from an element marked or labelled as one."""
    trails: list[str] = []
    for tag in soup.find_all(["div", "p", "span", "td", "li", "nav", "ol", "ul", "section"]):  # type: ignore[attr-defined]
        text = _clue_text(tag.get_text(" "))
        if not text or len(text) > 2 * MAX_CLUE_CHARS:
            continue
        labelled = bool(_TRAIL_LABEL.match(text))
        hinted = any(_CRUMB_HINT.search(token) for token in class_tokens(tag))
        if not (labelled or hinted):
            continue
        links = [_clue_text(a.get_text(" ")) for a in tag.find_all("a")]
        links = [link for link in links if link]
        body = _TRAIL_LABEL.sub("", text)
        if _TRAIL_SEPARATOR.search(body):
            steps = [step for step in _TRAIL_SEPARATOR.split(body) if step]
        elif len(links) >= 2:  # separators drawn as images: the links are the steps
            steps = links
        else:
            continue
        if len(steps) >= 2:
            trails.append(" > ".join(steps))
    return trails


def _meta_clues(soup: object) -> list[str]:
    clues: list[str] = []
    for meta in soup.find_all("meta"):  # type: ignore[attr-defined]
        name = (meta.get("name") or meta.get("property") or "").strip().lower()
        content = _clue_text(meta.get("content") or "")
        if name in _CLUE_META and content:
            clues.append(content)
    return clues
