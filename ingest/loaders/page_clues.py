"""Where a saved web page names its report besides its title: breadcrumb trail and meta tags.

Pages saved without their heading still say whose report they are around it: the breadcrumb
("您当前的位置：首页 > 街镇 > 塘坊镇人民政府 > 政务公开"), and `<meta>` tags government CMSes fill in
(`ColumnName`, `ArticleTitle`, `Keywords`, `Description`, `og:title`...). `page_clues` collects
them as short strings, in page order, for metadata to read when the text has no title.
"""

from __future__ import annotations

import re

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


def _collapse(text: str) -> str:
    text = _BREAK_IN_CHINESE.sub("", text)
    return re.sub(r"\s+", " ", text.replace("\xa0", " ").replace("\u3000", " ")).strip()


def _tokens(tag: object) -> list[str]:
    attrs = getattr(tag, "attrs", None) or {}
    classes = attrs.get("class") or []
    if isinstance(classes, str):
        classes = classes.split()
    ident = attrs.get("id")
    return [*classes, ident] if isinstance(ident, str) and ident else list(classes)


def _breadcrumbs(soup: object) -> list[str]:
    """Trails like '首页 > 街镇 > 塘坊镇人民政府', from an element marked or labelled as one."""
    trails: list[str] = []
    for tag in soup.find_all(["div", "p", "span", "td", "li", "nav", "ol", "ul", "section"]):  # type: ignore[attr-defined]
        text = _collapse(tag.get_text(" "))
        if not text or len(text) > 2 * MAX_CLUE_CHARS:
            continue
        labelled = bool(_TRAIL_LABEL.match(text))
        hinted = any(_CRUMB_HINT.search(token) for token in _tokens(tag))
        if not (labelled or hinted):
            continue
        links = [_collapse(a.get_text(" ")) for a in tag.find_all("a")]
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
        content = _collapse(meta.get("content") or "")
        if name in _CLUE_META and content:
            clues.append(content)
    return clues
