"""Places named in a question, read through the gazetteer and matched to the store's reports.

"普宁那个镇" names 普宁市 (a short form, matched against the counties the store has); "涪陵增福镇"
names 增福镇 of 涪陵区 (a township with its county written before it); "黄石街" names 黄石街道.
A real place the store has no report of is `unknown`, so the answer can say so instead of
answering from other places; `nearest` names the store's places closest to it.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field

from app.text import common_words
from ingest.gazetteer import Level, gazetteer, province_short, short_name

TOWNSHIP_ENDINGS = ("镇", "乡", "街道", "苏木", "办事处", "街")
# short forms of the store's counties: 石柱土家族自治县 → 石柱, 宝丰县 → 宝丰
_COUNTY_SUFFIXES = ("土家族自治县", "自治县", "县", "区", "市", "旗")
_QUALIFIER_SPAN = 12  # how far before a township its county may be written (河南省平顶山市宝丰县)
# places named to leave them out: "重庆以外的镇", "除石柱县外", "不包括王场镇和西联镇"
EXCLUDING = r"(?:除了|除去|除|不包括|不含|排除)"
_EXCLUDED_END = r"(?:以外|之外|外)"
_PLACE_SUFFIX = r"(?:土家族自治县|自治县|县|区|市|省|镇|乡|街道)?"
_LIST_JOIN = r"(?:、|和|及|与|以及|，|,)?"
# a name like a township's, known or not
TOWNSHIP_NAME = r"[\u4e00-\u9fff]{2,4}?(?:镇|乡|街道)"
# what, after a 乡, makes it begin a word instead of ending a township's name: 乡村, 乡土, 乡风,
# 乡镇 ("平安乡村建设", "平安乡镇创建" name no 平安乡; "城关镇村干部" still names 城关镇)
WORD_AFTER_XIANG = "村土风亲情民间贤镇"
NOT_A_XIANG = rf"乡(?=[{WORD_AFTER_XIANG}])"
# what a scope is when every place of a level is left out: no report matches it
NOTHING_LEFT = "（排除后没有其他地方）"


@dataclass
class QuestionPlaces:
    townships: list[str] = field(default_factory=list)  # the store's townships named
    counties: list[str] = field(default_factory=list)  # counties named (full names)
    provinces: list[str] = field(default_factory=list)  # the store's provinces named
    unknown: list[str] = field(default_factory=list)  # real places the store has no report of
    written: list[str] = field(default_factory=list)  # the text naming them, for the topic
    left_out: bool = False  # some were named to leave them out ("除了王场镇")


def _variants(name: str, *, short: bool) -> set[str]:
    variants = {name}
    if short:
        variants |= {province_short(name), short_name(name)}  # 屏边, 浦东, 神农架
        if everyday := gazetteer().everyday(name):
            variants.add(everyday)  # 石柱县
        for suffix in _COUNTY_SUFFIXES:
            if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                variants.add(name[: -len(suffix)])
    elif name.endswith("街道") and len(name) >= 4:
        variants.add(name[:-1])  # 黄石街 for 黄石街道
    return variants


def _named(
    question: str, names: list[str], *, short: bool, everyday: bool = False
) -> dict[str, str]:
    """The store's names written in the question: name → the form written. With `everyday`
    (counties), a short form that is an everyday word (平安 of 平安区, 和平 of 和平县) names the
    place only where a place is spoken of there ("平安那个镇", "和平的乡镇"): "平安建设" is no
    平安区. A province's short form (河南, 重庆) always names it."""
    found: dict[str, str] = {}
    for name in names:
        written = [v for v in _variants(name, short=short) if v and v in question]
        if everyday:
            written = [v for v in written if v == name or _as_place(question, v)]
        if written:
            found[name] = max(written, key=len)
    return found


# what follows a place's short name when the place is meant: "平安那个镇", "和平的乡镇", "长安哪些
# 街道", "朝阳区" (not 平安乡镇 or 平安建设哪些镇: everyday phrases; nor 平安市场, 区域)
_PLACE_AFTER = re.compile(
    r"(?:的|那个|这个|那边|这边|那几个|这几个|那些|这些|各|所有|全部|有哪些|哪些|哪个|哪几个|的哪些)"
    r"(?:乡镇|镇|乡|街道|街镇|镇街|地方)"
    r"|(?:县|区(?!域)|市(?![场民])|旗)"
)


def _as_place(question: str, written: str) -> bool:
    """Whether a short form written in the question names a place there (`_named`)."""
    if written not in common_words():
        return True
    return any(
        _PLACE_AFTER.match(question, m.end()) for m in re.finditer(re.escape(written), question)
    )


# what may stand between two places written as one ("河南的王场镇", "王场镇以及塘坊镇")
_RUN_JOIN = re.compile(r"(?:以及|、|和|及|与|跟|同|或|，|,|的)?")


def written_forms(places: QuestionPlaces) -> set[str]:
    """Every way the question may write the places it names (宝丰县, 宝丰; 重庆市, 重庆)."""
    forms = set(places.written)
    for name in places.townships:
        forms |= _variants(name, short=False)
    for name in (*places.counties, *places.provinces):
        forms |= _variants(name, short=True)
    return {f for f in forms if len(f) >= 2}


def place_runs(question: str, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """Where the question writes what `pattern` finds (places, years) as (start, end),
    neighbours joined by 和, 以及, 、 or 的 taken as one run: "河南的王场镇和塘坊镇有哪些问题" →
    [(0, 10)]."""
    runs: list[tuple[int, int]] = []
    for match in pattern.finditer(question):
        if runs and _RUN_JOIN.fullmatch(question, runs[-1][1], match.start()):
            runs[-1] = (runs[-1][0], match.end())
        else:
            runs.append(match.span())
    return runs


def place_words(facets: dict[str, list]) -> frozenset[str]:
    """The store's place names with its counties' and provinces' short forms (马关 for 马关县):
    words that are never a paraphrase of a question's word."""
    others = (*facets.get("county", []), *facets.get("province", []))
    return _place_forms(tuple(facets.get("township", [])), others)


@functools.lru_cache(maxsize=4)  # per list of places: a whole country's is ~33,000 names
def _place_forms(townships: tuple[str, ...], others: tuple[str, ...]) -> frozenset[str]:
    forms = set(townships)
    for name in others:
        forms |= _variants(name, short=True)
    return frozenset(f for f in forms if len(f) >= 2)


def _is_township_word(name: str) -> bool:
    """A township name as a question writes it: a stem of two or more characters and a
    township ending (the table's stray rows such as 街道, 城区 or 农场 are not)."""
    return any(name.endswith(e) and len(name) - len(e) >= 2 for e in TOWNSHIP_ENDINGS)


def _full_township(name: str) -> str:
    gaz = gazetteer()
    if gaz.lookup(name, "township"):
        return name
    places = gaz.townships(name)
    return places[0].name if places else name


def _full_area(written: str, level: Level) -> str:
    """The full name of a county or province as written (长阳县 → 长阳土家族自治县), when it
    means one place; else as written."""
    if gazetteer().lookup(written, level):
        return written
    places = [p for p in gazetteer().areas(written) if p.level == level]
    return places[0].name if len(places) == 1 else written


def _qualifier(question: str, at: int, township: str) -> tuple[str, str] | None:
    """(county, as written) just before a township ("涪陵增福镇", "宝丰县石桥镇"), if any."""
    gaz = gazetteer()
    for start in range(max(0, at - _QUALIFIER_SPAN), at - 1):
        written = question[start:at]
        places = gaz.townships(township, within=written)
        counties = {p.county for p in places if p.county}
        if len(counties) == 1 and gaz.areas(written):
            return next(iter(counties)), written
    return None


def places_in(question: str, facets: dict[str, list]) -> QuestionPlaces:
    """The places `question` names; `facets` are the store's townships, counties, provinces."""
    gaz = gazetteer()
    known_townships = list(facets.get("township", []))
    found = QuestionPlaces()
    townships = _named(question, known_townships, short=False)
    counties = _named(question, list(facets.get("county", [])), short=True, everyday=True)
    provinces = _named(question, list(facets.get("province", [])), short=True)
    for name, written in list(counties.items()):
        if written in provinces.values():
            # "重庆、河南的镇" names the province, not 河南蒙古族自治县 (its everyday name is 河南
            # too): a county is meant when written as one (河南县)
            del counties[name]
    for at, name in gaz.names_in(question, "township", aliases=True):
        if not _is_township_word(name) or re.match(NOT_A_XIANG, question[at + len(name) - 1 :]):
            continue
        full = _full_township(name)
        if full not in known_townships:
            found.unknown.append(full)
        found.written.append(name)
        qualifier = _qualifier(question, at, full)
        if qualifier is not None:
            counties.setdefault(*qualifier)
    store_counties = list(facets.get("county", []))
    cities: dict[str, list[str]] = {}
    for _, name in gaz.names_in(question, "city"):
        # a city is no filter of its own: it means the store's counties in it
        inside = [c for c in store_counties if any(p.city == name for p in gaz.areas(c))]
        for county in inside:
            counties.setdefault(county, "")
        if inside:
            found.written.append(name)
            cities[name] = inside
        else:
            found.unknown.append(name)
    levels: tuple[Level, ...] = ("county", "province")
    for level in levels:
        for _, written in gaz.names_in(question, level, aliases=True):
            name = _full_area(written, level)
            if len(name) < 3 or name in counties or name in provinces:
                continue
            if level == "county" and townships:
                # 宝丰县下洋镇: a filter, which keeps the named township's reports of unknown county
                counties[name] = written
            else:
                found.unknown.append(name)
                found.written.append(written)
    excluded = _left_out(question, townships, counties, provinces, cities, found)
    found.left_out = any(excluded.values())
    for level, named in (("township", townships), ("county", counties), ("province", provinces)):
        if excluded[level]:
            others = {n: "" for n in facets.get(level, []) if n not in excluded[level]}
            named.clear()
            named.update(others or {NOTHING_LEFT: ""})
    found.townships = list(townships)
    found.counties = list(counties)
    found.provinces = list(provinces)
    found.written += [*townships.values(), *counties.values(), *provinces.values()]
    found.written = sorted({w for w in found.written if w}, key=len, reverse=True)
    found.unknown = list(dict.fromkeys(found.unknown))
    return found


def _left_out(
    question: str,
    townships: dict[str, str],
    counties: dict[str, str],
    provinces: dict[str, str],
    cities: dict[str, list[str]],
    found: QuestionPlaces,
) -> dict[str, set[str]]:
    """The store's places a question names to leave out, per level: "除了王场镇和西联镇",
    "重庆、河南以外", "除平顶山市外" (its counties). A county written before a township it
    qualifies ("除了宝丰县石桥镇") leaves out the township only. The words are dropped from the
    topic (`found.written`)."""
    mentions: list[tuple[str, str, list[str]]] = [
        (written, level, [name])
        for level, named in (("township", townships), ("county", counties), ("province", provinces))
        for name, written in named.items()
        if written
    ]
    mentions += [(city, "county", inside) for city, inside in cities.items()]
    excluded: dict[str, set[str]] = {"township": set(), "county": set(), "province": set()}
    # the store's places as written, the real places it lacks, and any township-like name
    # ("除了马家镇、石桥镇": a list may mix them)
    named = sorted({m[0] for m in mentions} | set(found.unknown), key=len, reverse=True)
    forms = "".join(f"{re.escape(w)}{_PLACE_SUFFIX}|" for w in named)
    place = f"(?:{forms}{TOWNSHIP_NAME})"
    listed = f"{place}(?:{_LIST_JOIN}{place})*"
    spans = re.compile(f"{EXCLUDING}\\s*({listed})\\s*{_EXCLUDED_END}?|({listed})\\s*(?:以外|之外)")
    for match in spans.finditer(question):
        text = match.group(1) or match.group(2)
        inside = [m for m in mentions if m[0] in text]
        if any(level == "township" for _, level, _ in inside):
            for _, level, names in inside:
                if level != "township":  # the county qualifying it is no filter either
                    for name in names:
                        (counties if level == "county" else provinces).pop(name, None)
            inside = [m for m in inside if m[1] == "township"]
        for _, level, names in inside:
            excluded[level].update(names)
        found.unknown = [u for u in found.unknown if u not in text]  # nothing to leave out
        found.written.append(match.group(0))
    return excluded


def nearest(
    place: str, facets: dict[str, list], counties: list[str] | None = None, n: int = 5
) -> list[str]:
    """The store's townships closest to a place it has no report of: those of the county the
    question names, or of the place's own county when its name is unique, else the closest
    names."""
    known = list(facets.get("township", []))
    gaz = gazetteer()
    counties = counties or sorted({p.county for p in gaz.townships(place) if p.county})
    if len(counties) == 1:
        same = [t for t in known if gaz.townships(t, within=counties[0])]
        if same:
            return same[:n]
    return difflib.get_close_matches(place, known, n=n, cutoff=0.5)


def no_reports_of(
    places: list[str], facets: dict[str, list], counties: list[str] | None = None
) -> str:
    """ "库中没有周庄镇的报告。相近的…：石桥镇。", never the whole store's list of townships."""
    text = f"库中没有{'、'.join(places)}的报告。"
    near = [t for place in places for t in nearest(place, facets, counties)]
    if near:
        return text + f"相近的、库中有报告的乡镇：{'、'.join(dict.fromkeys(near[:5]))}。"
    count = len(facets.get("township", []))
    return text + (f"库中共有 {count} 个乡镇的报告。" if count else "库中还没有报告。")
