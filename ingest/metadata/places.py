"""Township, county, city and province: read off the report's clues, checked in the gazetteer.

A township is taken only where it is a real place name: a gazetteer name (under the county the
report names, when it names one), or a name standing where a title puts the township (before
人民政府/委员会/办事处/关于/a year…). Scaffolding (现将, 将, 由, 在, 中共…委员会, 人民政府, 办事处…)
never becomes part of a name. County, city and province come from the gazetteer given the
township, or the township and the county the text names; a name several counties share is left
unknown and flagged, never guessed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ingest.gazetteer import TOWNSHIP_SUFFIXES, Gazetteer, Place, gazetteer
from ingest.metadata.traditional import simplified
from ingest.model import FieldSource, ReportMeta

# where a title's words end: a township name sits between two of these
_BOUNDARY = re.compile(
    r"\s+|[，,：:;；、。（）()【】\[\]《》〈〉“”\"'<>＞/|｜_\-—·.]"
    r"|中国共产党|中共|委员会|党工委|党委|人民政府|政府|办事处|关于|(?:19|20)\d{2}\s*年度?|年度|\d+"
    r"|法治|依法|述法|述职|书记|工作|情况|报告|履行|推进|第一责任"
)
# words that are never part of a township's name (for names the gazetteer does not know)
_SCAFFOLDING = re.compile(
    r"现将|将|由|在|结合|推动|年度|委员|政府|办事|中共|书记|作为|关于|工作|建设|开展|落实|坚持|"
    r"^[我全本各该此这其所两各]|[的了对为以等与及和是]|城乡|乡镇|村镇|城镇|镇街|乡村|农村"
)
_GENERIC = frozenset({"街道", "城区", "城南", "农场", "林场", "盐场", "苗圃", "牛场", "新镇"})
_PARTY = ("中国共产党", "中共")
_SUBJECT_BEFORE = ("，", ",", "。", "\n", "年", "现将", "度", "：", ":")
_PLACE_WORD = re.compile(r"[省市县区旗州盟]")
_OPENING = 400  # characters of the body whose places are the report's own
# outside a title, only names of the common kinds are read (a body's 经济开发区 or 良种场 is
# rarely the report's own, and such names recur across counties)
_PLAIN_SUFFIXES = ("镇", "乡", "街道", "苏木", "街")
# How a warning says to fix a field, in both places a field can be wrong (township, year)
FIX_HINT = (
    "fix it with `fazhi meta REPORT_ID --township … --year …` after ingest, or in a sidecar "
    'file \'{name}.meta.json\' next to the report, e.g. {{"township": "石桥镇", "year": 2023}}'
)
_LISTING = ("、", "和", "及", "与", "等")
_GENERIC_COUNTIES = frozenset({"城区", "郊区", "矿区", "东区", "西区"})
# 2-character counties (和县, 新县) read as counties only where nothing joins them to a word
_MIN_FREE_COUNTY = 3


@dataclass
class Clue:
    """A piece of text that may name the report's place or year, and where it was found."""

    source: FieldSource
    text: str  # simplified characters


@dataclass
class _Mentions:
    """Counties, cities and provinces a set of clues names (gazetteer names, in order)."""

    counties: list[str] = field(default_factory=list)
    cities: list[str] = field(default_factory=list)
    provinces: list[str] = field(default_factory=list)
    source: FieldSource | None = None

    @property
    def named(self) -> bool:
        return bool(self.counties or self.cities or self.provinces)

    def add(self, other: _Mentions) -> None:
        for key in ("counties", "cities", "provinces"):
            mine = getattr(self, key)
            mine.extend(v for v in getattr(other, key) if v not in mine)
        self.source = self.source or other.source


def _sourced(mentions: _Mentions, source: FieldSource) -> _Mentions:
    if mentions.named:
        mentions.source = source
    return mentions


def title_townships(text: str, *, known_only: bool = False) -> list[tuple[str, _Mentions]]:
    """Names standing where a title puts the township, with the places written before them;
    with `known_only`, gazetteer names only (for clues that are not a title: a signature)."""
    g = gazetteer()
    found: list[tuple[str, _Mentions]] = []
    for segment in _BOUNDARY.split(text):
        if len(segment) < 2:
            continue
        reading = _read_segment(g, segment, known_only)
        if reading:
            found.append(reading)
    return found


def _read_segment(g: Gazetteer, segment: str, known_only: bool) -> tuple[str, _Mentions] | None:
    # the longest tail the gazetteer knows, after nothing but place names (宝丰县, 徐闻, 中共)
    for start in range(len(segment) - 1):
        tail = segment[start:]
        # a county's name is the county even where a township-level unit shares it (涧西区)
        places = [] if tail in _GENERIC or g.areas(tail) else g.townships(tail)
        if not places:
            continue
        mentions = _places_before(g, segment[:start])
        # the places written before a known name must hold it (徐闻下洋镇: 下洋镇 is in 徐闻县);
        # else the name only ends the segment by chance (永安洲镇 is not 永安's 洲镇)
        if mentions is not None and (not mentions.named or _holds(mentions, places)):
            return tail, mentions
    if known_only:
        return None
    # a name the gazetteer does not know (new since 2023, or mistyped): only in township shape,
    # after the longest run of place names (鼓楼区某某街道 → 某某街道)
    for start in range(len(segment) - 2, -1, -1):
        mentions = _places_before(g, segment[:start])
        if mentions is not None and _is_township_shape(segment[start:]):
            return segment[start:], mentions
    return None


def _holds(mentions: _Mentions, places: list[Place]) -> bool:
    return any(
        p.county in mentions.counties
        or p.city in mentions.cities
        or p.province in mentions.provinces
        for p in places
    )


def _places_before(g: Gazetteer, prefix: str) -> _Mentions | None:
    """The places `prefix` consists of, or None if it holds anything else."""
    mentions = _Mentions()
    rest = prefix
    while rest:
        for party in _PARTY:
            if rest.startswith(party):
                rest = rest[len(party) :]
                break
        else:
            for size in range(min(len(rest), 12), 1, -1):
                areas = g.areas(rest[:size])
                if areas:
                    for area in areas:
                        getattr(mentions, _LEVEL_KEY[area.level]).append(area.name)
                    rest = rest[size:]
                    break
            else:
                return None
    return mentions


_LEVEL_KEY = {"province": "provinces", "city": "cities", "county": "counties"}


def _is_township_shape(name: str) -> bool:
    suffix = next((s for s in TOWNSHIP_SUFFIXES if name.endswith(s) and s != "办事处"), None)
    if suffix is None or name in _GENERIC:
        return False
    core = name[: -len(suffix)]
    # a name the gazetteer does not know has a stem of 2+ characters (one-character stems such as
    # 乌镇 are all long known)
    if not 2 <= len(core) <= 6 or not all("\u4e00" <= ch <= "\u9fff" for ch in core):
        return False
    # a county, city or province word inside means places were not told apart (屏边县新华乡)
    return not _SCAFFOLDING.search(name) and not _PLACE_WORD.search(core)


def mentions_in(text: str, *, strict: bool = True) -> _Mentions:
    """Counties, cities and provinces named anywhere in `text`. A 2-character county (和县, 新县)
    counts only where no other word joins it (after a province, a city, 在, or not after a
    Chinese character), and in a body (not `strict`) only before 委/人民政府: "区委和县委" names
    no county, "在冠县委…" names 冠县."""
    g = gazetteer()
    mentions = _Mentions()
    for level, key in _LEVEL_KEY.items():
        for position, name in g.names_in(text, level):  # type: ignore[arg-type]
            if name in _GENERIC or name in _GENERIC_COUNTIES:
                continue
            if len(name) < _MIN_FREE_COUNTY:
                before = text[position - 1] if position else ""
                after = text[position + len(name) : position + len(name) + 2]
                joined = "\u4e00" <= before <= "\u9fff" and before not in "省市州盟在"
                # in a body, only as the county's own committee or government (在冠县委…)
                if joined or not (strict or after.startswith(("委", "人民", "政府"))):
                    continue
            values = getattr(mentions, key)
            if name not in values:
                values.append(name)
    return mentions


def body_townships(g: Gazetteer, text: str) -> list[tuple[str, _Mentions]]:
    """Gazetteer townships a body names, most often first, with the places written before the
    name where it is the subject (2023年，冠县辛集镇坚持… → 冠县). One named once counts only
    where it stands as the subject ("2025年，龙颈镇坚持…", "现将石桥镇…"), and so does a 街道's
    short form (黄石街党工委…)."""
    counts: Counter[str] = Counter()
    subject: dict[str, _Mentions] = {}
    for position, name in g.names_in(text, "township", aliases=True):
        if len(name) < 3 or name in _GENERIC or not name.endswith(_PLAIN_SUFFIXES):
            continue
        window = text[max(0, position - 24) : position]
        before = _without_places_at_end(g, window)
        after = text[position + len(name) : position + len(name) + 1]
        # the subject opens a clause; one of a list (石桥镇、闹店镇…) is not the report's own
        at_subject = (not before or before.endswith(_SUBJECT_BEFORE)) and after not in _LISTING
        if not g.lookup(name, "township") and not at_subject:
            continue  # a short form (黄石街) only as the subject, never a street in passing
        counts[name] += 1
        if at_subject and name not in subject:
            subject[name] = _places_before(g, window[len(before) :]) or _Mentions()
    return [
        (n, subject.get(n) or _Mentions())
        for n, c in counts.most_common()
        if c >= 2 or n in subject
    ]


def _without_places_at_end(g: Gazetteer, text: str) -> str:
    """`text` without the place names it ends with (2023年，宝丰县 → 2023年，)."""
    stripped = True
    while stripped and text:
        stripped = False
        for size in range(min(len(text), 12), 1, -1):
            if g.areas(text[-size:]):
                text, stripped = text[:-size], True
                break
    return text


def file_townships(g: Gazetteer, text: str) -> list[str]:
    return [
        n
        for _, n in g.names_in(text, "township")
        if len(n) >= 3 and n not in _GENERIC and n.endswith(_PLAIN_SUFFIXES)
    ]


def read_places(
    meta: ReportMeta, title_clues: list[Clue], other_clues: list[Clue], body: str, name: str
) -> None:
    """Set township, county, city and province on `meta`, with their sources and certainty.

    `title_clues`: the title, the page's title-like clues and the signature, strongest first;
    `other_clues`: file and folder names; `body`: the text's opening, in simplified characters.
    """
    g = gazetteer()
    # places the title and page state; places the file and folder names give (a report filed
    # under the wrong folder keeps its title's county); places the body mentions
    stated, filed = _Mentions(), _Mentions()
    for clue in title_clues:
        stated.add(_sourced(mentions_in(clue.text), clue.source))
    for clue in other_clues:
        filed.add(_sourced(mentions_in(clue.text), clue.source))
    context = _Mentions()
    context.add(filed)
    context.add(mentions_in(body[:3000], strict=False))
    # the body's opening names the report's own county (在宝丰县委、县政府的领导下…) when it
    # names exactly one: the last place to look when the title names none
    opening = _sourced(mentions_in(body[:_OPENING], strict=False), "body")
    if len(opening.counties) != 1:
        opening = _Mentions()
    said = next((m for m in (stated, filed, opening) if m.named), stated)

    township: str | None = None
    readings = []  # every title-position name, with the places written before it
    for clue in title_clues:
        known_only = clue.source == "signature" or (
            clue.source == "page" and "报告" not in clue.text
        )
        for candidate, before in title_townships(clue.text, known_only=known_only):
            stated.add(before)  # 屏边县新华乡人民政府 names the county even where read second
            readings.append((candidate, clue.source))
    if readings:
        township, source = readings[0]
        _settle(meta, g, township, source, (stated, said, context), in_title=True, name=name)
    if not township and not _county_sends(simplified(meta.title or "")):
        counties = stated.counties or filed.counties
        within = [(t, m) for t, m in body_townships(g, body) if _under(g, t, counties)]
        clue_names = [(c.source, t) for c in other_clues for t in file_townships(g, c.text)]
        clue_names = [(s, t) for s, t in clue_names if _under(g, t, counties)]
        if within:
            township, before = within[0]
            context.add(before)  # 冠县辛集镇: the county written just before the subject
            _settle(meta, g, township, "body", (stated, said, context), in_title=False, name=name)
        elif clue_names:
            source, township = clue_names[0]
            _settle(meta, g, township, source, (stated, said, context), in_title=False, name=name)
    if not township:
        _county_only(meta, g, said, context, name)
        meta.warnings.insert(0, "township not found; " + FIX_HINT.format(name=name))


_COUNTY_SENDER = re.compile(
    r"^(?:中共)?([\u4e00-\u9fff]{2,12}?[县区市旗])(?:人民政府|政府|委员会|[\u4e00-\u9fff]{0,6}局)"
)


def _county_sends(title: str | None) -> bool:
    """A title sent by a county government or department (宝丰县人民政府关于…, 宝丰县司法局…):
    the townships its body names are not the report's own."""
    match = _COUNTY_SENDER.match(title or "")
    return bool(match and gazetteer().areas(match.group(1)))


_SITE = re.compile(r"^(.{2,15}?)(?:人民政府)?(?:门户网站|政府网站|政府网|网站|门户网|网|人民政府)$")


def is_site_name(clue: str) -> bool:
    """A county's, city's or province's site name (巫溪县人民政府, 宝丰县政府网), not a title."""
    match = _SITE.match(clue.strip())
    return bool(match and gazetteer().areas(match.group(1)))


def _under(g: Gazetteer, township: str, counties: list[str]) -> bool:
    """True when the township lies in one of the named counties (or none is named)."""
    if not counties:
        return True
    return any(p.county in counties for p in g.townships(township))


def _settle(
    meta: ReportMeta,
    g: Gazetteer,
    township: str,
    source: FieldSource,
    places: tuple[_Mentions, _Mentions, _Mentions],
    *,
    in_title: bool,
    name: str,
) -> None:
    """Take `township`; its county, city and province from the gazetteer, checked against the
    places the title states, then narrowed by file/folder names and the body. `places`: what
    the title states, what names a place first (title, file/folder, body opening), context."""
    stated, said, context = places
    candidates = g.townships(township)
    meta.township = candidates[0].name if candidates else township
    meta.sources["township"] = source
    meta.certainty["township"] = "sure" if in_title else "likely"
    if not candidates:
        meta.certainty["township"] = "uncertain"
        meta.warnings.append(
            f"township '{township}' is not in the gazetteer (2023 divisions): a new or misspelt "
            "name? " + FIX_HINT.format(name=name)
        )
        _county_only(meta, g, said, context, name)
        return
    if stated.counties:
        named = [p for p in candidates if p.county in stated.counties]
        if not named:
            meta.certainty["township"] = "uncertain"
            where = "、".join(dict.fromkeys(f"{p.county}" for p in candidates))
            meta.warnings.append(
                f"township '{township}' is not under {'、'.join(stated.counties)} in the "
                f"gazetteer (it is under {where}); " + FIX_HINT.format(name=name)
            )
            _county_only(meta, g, stated, context, name)
            return
        candidates = named
    if len(candidates) > 1:
        candidates = _narrow(candidates, stated) or _narrow(candidates, context) or candidates
    if len(candidates) == 1:
        place = candidates[0]
        meta.county, meta.city, meta.province = place.county, place.city, place.province
        county_stated = place.county in stated.counties
        for key in ("county", "city", "province"):
            meta.sources[key] = (stated.source or source) if county_stated else "gazetteer"
            meta.certainty[key] = (
                "sure" if county_stated or len(g.townships(township)) == 1 else "likely"
            )
        return
    counties = "、".join(f"{p.city or p.province}{p.county}" for p in candidates[:8])
    meta.certainty["county"] = "uncertain"
    meta.warnings.append(
        f"county unknown: '{township}' exists in {len(candidates)} counties ({counties}) and the "
        "report does not say which; " + FIX_HINT.format(name=name)
    )


def _narrow(candidates: list[Place], mentions: _Mentions) -> list[Place]:
    for key, attr in (("counties", "county"), ("cities", "city"), ("provinces", "province")):
        named = getattr(mentions, key)
        if named:
            kept = [p for p in candidates if getattr(p, attr) in named]
            if kept:
                return kept
    return []


def _county_only(
    meta: ReportMeta, g: Gazetteer, stated: _Mentions, context: _Mentions, name: str
) -> None:
    """County, city and province from the places the report names, without its township."""
    for county in stated.counties:
        places = g.lookup(county, "county")
        if len(places) > 1:
            places = _narrow(places, stated) or _narrow(places, context) or places
        meta.county = county
        meta.sources["county"] = stated.source or "title"
        if len(places) == 1:
            meta.city, meta.province = places[0].city, places[0].province
            meta.certainty["county"] = "likely" if stated.source == "body" else "sure"
            meta.sources["city"] = meta.sources["province"] = "gazetteer"
            return
        cities = "、".join(p.city or p.province for p in places)
        meta.certainty["county"] = "uncertain"
        meta.warnings.append(
            f"county '{county}' exists in several cities ({cities}) and the report names none "
            "of them; province left unknown — " + FIX_HINT.format(name=name)
        )
        return
    for city in stated.cities:
        places = g.lookup(city, "city")
        if len(places) == 1:
            meta.city, meta.province = city, places[0].province
            meta.sources["city"], meta.sources["province"] = stated.source or "title", "gazetteer"
            return
    for province in stated.provinces:
        meta.province = province
        meta.sources["province"] = stated.source or "title"
        return


def fill_places_from_township(meta: ReportMeta, *, keep_county: bool = True) -> None:
    """County, city and province of a township set by hand, when the gazetteer has it once (in
    the county already known, if any)."""
    if not meta.township:
        return
    g = gazetteer()
    places = g.townships(meta.township, within=meta.county if keep_county else None)
    if len(places) != 1 and meta.county:
        places = g.townships(meta.township, within=meta.county)
    if len(places) == 1:
        place = places[0]
        meta.county, meta.city, meta.province = place.county, place.city, place.province
        for key in ("county", "city", "province"):
            meta.sources[key], meta.certainty[key] = "gazetteer", "sure"
        meta.warnings = [w for w in meta.warnings if not w.startswith("county")]


def fill_places_from_county(meta: ReportMeta) -> None:
    """City and province of a county set by hand, when the gazetteer has that name once."""
    places = gazetteer().areas(meta.county or "")
    if len(places) == 1 and places[0].level == "county":
        meta.county, meta.city, meta.province = places[0].name, places[0].city, places[0].province
        for key in ("city", "province"):
            meta.sources[key], meta.certainty[key] = "gazetteer", "sure"
        meta.warnings = [w for w in meta.warnings if not w.startswith("county")]


__all__ = [
    "Clue",
    "fill_places_from_county",
    "fill_places_from_township",
    "is_site_name",
    "read_places",
]
