"""Coverage for county staff: which townships of an area have reports for which years.

The area (a county, city or province, full or short name, or a city and county together such
as 南京市鼓楼区) is resolved in the gazetteer; its township-level divisions are listed with the
years their reports in the store cover. Reports in the area whose township the gazetteer does
not list (renamed or created after 2023, or not identified) are listed apart, and so are
reports whose county is unknown but whose township name exists in the area: they may belong
to it, and a person should check.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ingest.errors import FazhiError
from ingest.gazetteer import Place, gazetteer
from ingest.model import township_label
from vectorstore import PassageStore, StoredReport

MISSING_SHOWN = 40  # more townships without a report than this are shown as a count


class AreaError(FazhiError):
    """An area name the gazetteer does not know, or knows several of."""

    def __init__(self, message: str, chinese: str) -> None:
        self.chinese = chinese  # the same message for the web app
        super().__init__(message)


@dataclass
class ReportRef:
    report_id: str
    year: int | None
    source: str

    @classmethod
    def of(cls, report: StoredReport) -> ReportRef:
        return cls(report.id, report.meta.year, report.source)


@dataclass
class TownshipCoverage:
    township: str
    code: str
    county: str | None
    city: str | None
    reports: list[ReportRef] = field(default_factory=list)

    @property
    def years(self) -> list[int]:
        return sorted({r.year for r in self.reports if r.year})


@dataclass
class UnlistedReport:
    """A report in the area that no listed township could be matched to."""

    township: str  # as the report names it, or 未识别乡镇（file）
    county: str | None
    report: ReportRef
    why: str


@dataclass
class Coverage:
    area: Place
    townships: list[TownshipCoverage]
    unlisted: list[UnlistedReport]  # reports in the area not matched to a listed township
    maybe: list[UnlistedReport]  # county unknown; a township of this name is in the area

    @property
    def covered(self) -> list[TownshipCoverage]:
        return [t for t in self.townships if t.reports]

    @property
    def missing(self) -> list[TownshipCoverage]:
        return [t for t in self.townships if not t.reports]

    @property
    def shown(self) -> list[TownshipCoverage]:
        """The rows a reader sees: those with reports, and those without while they are few."""
        missing = self.missing
        return self.covered + (missing if len(missing) <= MISSING_SHOWN else [])

    def to_dict(self) -> dict[str, Any]:
        return {
            "area": asdict(self.area) | {"label": self.area.label},
            "townships_total": len(self.townships),
            "townships_with_reports": len(self.covered),
            "townships": [
                {
                    "township": t.township,
                    "code": t.code,
                    "county": t.county,
                    "city": t.city,
                    "years": t.years,
                    "reports": [asdict(r) for r in t.reports],
                }
                for t in self.townships
            ],
            "unlisted": [asdict(u) for u in self.unlisted],
            "maybe": [asdict(u) for u in self.maybe],
        }


def resolve_area(name: str) -> Place:
    """The one county, city or province `name` means; an `AreaError` says what to write else."""
    gaz = gazetteer()
    name = name.strip()
    places = _without_twins(gaz.areas(name) or _compound(name))
    if len(places) == 1:
        return places[0]
    if places:
        labels = "、".join(p.label for p in places[:8])
        raise AreaError(
            f"'{name}' names {len(places)} places ({labels}); write the city or province too, "
            f"e.g. '{places[0].label}'",
            f"「{name}」有 {len(places)} 处（{labels}），请写上所属市或省，例如「{places[0].label}」。",
        )
    near = [n for level in ("county", "city", "province") for n in gaz.suggest(name, level, n=4)]
    hint = "、".join(dict.fromkeys(near))
    raise AreaError(
        f"'{name}' is not a county, city or province in the gazetteer (NBS 2023 codes)"
        + (f"; did you mean {hint}?" if hint else ""),
        f"名录中没有叫「{name}」的县区、市或省" + (f"，是否是：{hint}？" if hint else "。"),
    )


def _compound(name: str) -> list[Place]:
    """南京市鼓楼区, 南京鼓楼区, 河南宝丰县: a higher area's name, then one of its areas."""
    gaz = gazetteer()
    found: dict[str, Place] = {}
    for i in range(2, len(name) - 1):
        heads = gaz.areas(name[:i])
        if not heads:
            continue
        for place in gaz.areas(name[i:]):
            if any(place.code.startswith(h.code) and place.code != h.code for h in heads):
                found[place.code] = place
    return list(found.values())


def _without_twins(places: list[Place]) -> list[Place]:
    """A city without counties (东莞市, 嘉峪关市) is listed again as its own county: keep the city."""
    cities = {p.code: p.name for p in places if p.level == "city"}
    return [p for p in places if not (p.level == "county" and cities.get(p.code[:4]) == p.name)]


def _in_area(report: StoredReport, area: Place) -> bool:
    meta = report.meta
    if meta.province != area.province and area.level != "province":
        return False
    if area.level == "province":
        return meta.province == area.name
    if area.level == "city":
        return meta.city == area.name
    # 鼓楼区 is in 南京市 and 徐州市, both in 江苏省: the city tells them apart
    return meta.county == area.name and meta.city == area.city


def coverage(store: PassageStore, area_name: str) -> Coverage:
    area = resolve_area(area_name)
    listed = gazetteer().townships_of(area)
    by_name: dict[tuple[str, str | None], TownshipCoverage] = {}
    for place in listed:
        by_name[(place.name, place.county)] = TownshipCoverage(
            place.name, place.code, place.county, place.city
        )
    names = {place.name for place in listed}
    unlisted: list[UnlistedReport] = []
    maybe: list[UnlistedReport] = []
    for report in store.list_reports():
        meta = report.meta
        label = township_label(meta.township, report.source)
        if _in_area(report, area):
            entry = _match(by_name, meta.township, meta.county)
            if entry is not None:
                entry.reports.append(ReportRef.of(report))
            else:
                why = (
                    "township not identified"
                    if not meta.township
                    else f"{meta.township} is not a township of {meta.county or area.name} "
                    "in the gazetteer (NBS 2023): renamed, merged or new since?"
                )
                unlisted.append(UnlistedReport(label, meta.county, ReportRef.of(report), why))
        elif meta.township in names and not meta.county:
            why = f"county unknown; {area.name} has a township called {meta.township}"
            maybe.append(UnlistedReport(label, None, ReportRef.of(report), why))
    townships = list(by_name.values())
    for entry in townships:
        entry.reports.sort(key=lambda r: (r.year or 0, r.source))
    return Coverage(area, townships, unlisted, maybe)


def _match(
    by_name: dict[tuple[str, str | None], TownshipCoverage],
    township: str | None,
    county: str | None,
) -> TownshipCoverage | None:
    if not township:
        return None
    if (township, county) in by_name:
        return by_name[(township, county)]
    if county is None:  # a city or province area: the name alone, when it is unique there
        found = [entry for (name, _), entry in by_name.items() if name == township]
        return found[0] if len(found) == 1 else None
    return None
