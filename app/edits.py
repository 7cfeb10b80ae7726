"""Editing a report's metadata by hand (`fazhi meta`, the web app's 报告 tab).

An edit is checked against the gazetteer before anything is written: a township must exist
under the county given (or stored), a county must be one place (else its city or province is
asked for); `force` accepts names the gazetteer lacks (divisions created after 2023). The edit
is applied to the report and all its passages at once, each field recorded as "edited" and
"sure", and remembered in the store so that ingesting the same file again keeps it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, get_args

from ingest.errors import MetadataEditError
from ingest.gazetteer import Place, gazetteer
from ingest.metadata.overrides import EDITABLE_FIELDS, apply_edit
from ingest.model import ReportKind, ReportMeta
from ingest.passages import ChunkSettings
from ingest.pipeline import meta_fingerprint
from vectorstore import PassageStore, StoredReport

__all__ = ["EDITABLE_FIELDS", "EditResult", "MetadataEditError", "edit_report", "field_rows"]

PLACE_FIELDS = ("township", "county", "city", "province")
REPORT_KINDS: tuple[str, ...] = get_args(ReportKind)
FIRST_YEAR = 1990  # no 法治政府建设 report is older


@dataclass
class EditResult:
    report: StoredReport  # as stored after the edit
    fields: dict[str, Any]  # what this edit set, with the places it resolved
    passages: int  # passages updated with the report
    notes: list[str] = field(default_factory=list)  # what was accepted on --force


def edit_report(
    store: PassageStore,
    report_id: str,
    changes: dict[str, Any],
    *,
    chunking: ChunkSettings,
    force: bool = False,
) -> EditResult:
    """Check `changes` (field → value; REPORT_ID may be a unique prefix), then apply them to the
    report and its passages and remember them for re-ingest. Raises `MetadataEditError` saying
    what is wrong and what to give instead; `ReportNotFoundError` for an unknown id."""
    store.recover_interrupted_writes()  # edit the report as it stands, not a half-written one
    report = store.get_report(report_id, with_text=False)
    changes = {k: _clean(v) for k, v in changes.items() if v is not None}
    unknown = [k for k in changes if k not in EDITABLE_FIELDS]
    if unknown:
        raise MetadataEditError(
            f"cannot edit {', '.join(unknown)}; editable: {', '.join(EDITABLE_FIELDS)}",
            f"不能修改 {'、'.join(unknown)}；可修改：{'、'.join(EDITABLE_FIELDS)}",
        )
    if not changes:
        raise MetadataEditError(
            "nothing to change: give a field, e.g. --township 石桥镇 --year 2023",
            "没有要修改的内容：请填写乡镇、年份等字段。",
        )
    notes: list[str] = []
    fields = _checked_values(changes)
    if any(k in changes for k in PLACE_FIELDS):
        fields.update(_resolved_places(report.meta, changes, force, notes))
    meta = apply_edit(_copy(report.meta), fields)
    stamp = meta_fingerprint(report.id, meta, chunking)
    # remembered first: if the update below is cut short, re-ingesting the file finishes it
    store.record_edit(report.source, report.id, fields)
    passages = store.update_metadata(report.id, meta, stamp)
    return EditResult(store.get_report(report.id, with_text=False), fields, passages, notes)


def field_rows(meta: ReportMeta) -> list[dict[str, Any]]:
    """Each metadata field with its value, where it came from and how sure that is."""
    return [
        {
            "field": key,
            "value": getattr(meta, key),
            "source": meta.sources.get(key),
            "certainty": meta.certainty.get(key),
        }
        for key in EDITABLE_FIELDS
    ]


def _clean(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _checked_values(changes: dict[str, Any]) -> dict[str, Any]:
    """The fields that are not places, checked: year, publication date, title, kind."""
    fields: dict[str, Any] = {}
    if "year" in changes:
        this_year = dt.date.today().year
        try:
            year = int(changes["year"])
        except (TypeError, ValueError):
            year = 0
        if not FIRST_YEAR <= year <= this_year:
            raise MetadataEditError(
                f"year '{changes['year']}' is not a year between {FIRST_YEAR} and {this_year}",
                f"年份「{changes['year']}」不是 {FIRST_YEAR} 至 {this_year} 之间的年份。",
            )
        fields["year"] = year
    if changes.get("published") == "":
        fields["published"] = None
    elif "published" in changes:
        try:
            fields["published"] = dt.date.fromisoformat(str(changes["published"])).isoformat()
        except ValueError:
            raise MetadataEditError(
                f"publication date '{changes['published']}' is not a date like 2024-03-15",
                f"发布日期「{changes['published']}」应写成 2024-03-15 这样的日期。",
            ) from None
    if "kind" in changes:
        if changes["kind"] not in REPORT_KINDS:
            raise MetadataEditError(
                f"kind '{changes['kind']}' is not one of {', '.join(REPORT_KINDS)}",
                f"类型「{changes['kind']}」应为 {'、'.join(REPORT_KINDS)} 之一。",
            )
        fields["kind"] = changes["kind"]
    if "title" in changes:
        fields["title"] = changes["title"] or None
    return fields


def _resolved_places(
    stored: ReportMeta, changes: dict[str, Any], force: bool, notes: list[str]
) -> dict[str, Any]:
    """Township, county, city and province as the gazetteer has them for what was given."""
    given = {k: changes[k] or None for k in PLACE_FIELDS if k in changes}
    out: dict[str, Any] = dict(given)
    county: Place | None = None
    if given.get("county"):
        county = _county(given["county"], given.get("city"), given.get("province"), force, notes)
    if county is not None:
        out.update(county=county.name, city=county.city, province=county.province)
    else:
        for key in ("city", "province"):
            if given.get(key):
                out[key] = _area(given[key], key, force, notes)
    # the township is checked under the county given, else the one stored
    within = out.get("county") if "county" in given else stored.county
    if given.get("township"):
        place = _township(given["township"], within, force, notes, changed=True)
    elif "township" not in given and stored.township and "county" in given and within:
        # a new county must hold the township stored (one the gazetteer knows)
        known = gazetteer().townships(stored.township)
        place = _township(stored.township, within, force, notes, changed=False) if known else None
    else:
        place = None
    if place is not None:
        out.update(county=place.county, city=place.city, province=place.province)
        if "township" in given:
            out["township"] = place.name
    return out


def _county(
    name: str, city: str | None, province: str | None, force: bool, notes: list[str]
) -> Place | None:
    """The one county `name` means (narrowed by city/province); ambiguity asks for them."""
    places = [p for p in gazetteer().areas(name) if p.level == "county"]
    if city:
        places = [p for p in places if city in (p.city, p.province) or _short_in(city, p.city)]
    if province:
        places = [p for p in places if _short_in(province, p.province)]
    if len(places) == 1:
        return places[0]
    if not places:
        if force:
            notes.append(f"county '{name}' is not in the gazetteer; kept as given (--force)")
            return None
        near = gazetteer().suggest(name, "county")
        where = f" under {city or province}" if city or province else ""
        raise MetadataEditError(
            f"county '{name}' is not in the gazetteer{where}"
            + (f"; did you mean {', '.join(near)}?" if near else ".")
            + " Use --force for a county created after 2023.",
            f"名录中{('在' + (city or province or '') + '下') if where else ''}没有「{name}」"
            + (f"，是否是：{'、'.join(near)}？" if near else "。")
            + "（2023 年后新设的县区可勾选「强制」。）",
            near,
        )
    parents = [f"{p.province}{p.city or ''}" for p in places]
    raise MetadataEditError(
        f"county '{name}' exists in {len(places)} places ({', '.join(parents)}); give --city "
        "or --province",
        f"「{name}」有 {len(places)} 个（{'、'.join(parents)}），请同时填写所属市或省。",
        [p.label for p in places],
    )


def _township(
    name: str, county: str | None, force: bool, notes: list[str], *, changed: bool
) -> Place | None:
    """The one township `name` under `county`; refused (with near names) when the gazetteer
    does not have it there, unless `force`."""
    g = gazetteer()
    places = g.townships(name, within=county) if county else g.townships(name)
    if len(places) == 1:
        return places[0]
    elsewhere = g.townships(name)
    if len(places) > 1:  # no county known and the name is shared
        if force:
            notes.append(f"'{name}' exists in {len(places)} counties; county left as it was")
            return None
        where = "、".join(f"{p.city or p.province}{p.county}" for p in places[:8])
        raise MetadataEditError(
            f"township '{name}' exists in {len(places)} counties ({where}); give --county",
            f"「{name}」在 {len(places)} 个县区都有（{where}），请同时填写县区。",
            [p.label for p in places[:8]],
        )
    if force:
        notes.append(
            f"township '{name}' is not in the gazetteer"
            + (f" under {county}" if county else "")
            + "; kept as given (--force)"
        )
        return None
    near = [
        n for n in g.suggest(name, "township", n=40) if not county or g.townships(n, within=county)
    ][:5]
    if not changed:
        raise MetadataEditError(
            f"the report's township '{name}' is not under {county} in the gazetteer; give "
            "--township too (or --force)",
            f"名录中「{county}」下没有本报告的乡镇「{name}」；请同时修改乡镇（或勾选「强制」）。",
        )
    under = f" under {county}" if county else ""
    also = (
        f" (it is under {'、'.join(p.county or p.province for p in elsewhere[:8])}; give "
        "--county to move the report there)"
        if county and elsewhere
        else ""
    )
    raise MetadataEditError(
        f"township '{name}' is not in the gazetteer{under}{also}"
        + (f"; did you mean {', '.join(near)}?" if near else ".")
        + " Use --force for a township created after 2023.",
        f"名录中{('「' + county + '」下') if county else ''}没有「{name}」"
        + (f"（它在{'、'.join(p.county or p.province for p in elsewhere[:8])}）" if also else "")
        + (f"，是否是：{'、'.join(near)}？" if near else "。")
        + "（2023 年后新设的乡镇可勾选「强制」。）",
        near,
    )


def _area(name: str, level: str, force: bool, notes: list[str]) -> str:
    places = [p for p in gazetteer().areas(name) if p.level == level]
    if places:
        return places[0].name
    if force:
        notes.append(f"{level} '{name}' is not in the gazetteer; kept as given (--force)")
        return name
    near = gazetteer().suggest(name, level)  # type: ignore[arg-type]
    raise MetadataEditError(
        f"{level} '{name}' is not in the gazetteer"
        + (f"; did you mean {', '.join(near)}?" if near else ""),
        f"名录中没有「{name}」" + (f"，是否是：{'、'.join(near)}？" if near else "。"),
        near,
    )


def _short_in(given: str, full: str | None) -> bool:
    """河南 names 河南省, 平顶山 names 平顶山市."""
    return bool(full) and (given == full or full.startswith(given))  # type: ignore[union-attr]


def _copy(meta: ReportMeta) -> ReportMeta:
    return ReportMeta(
        **{
            **meta.__dict__,
            "warnings": list(meta.warnings),
            "sources": dict(meta.sources),
            "certainty": dict(meta.certainty),
        }
    )
