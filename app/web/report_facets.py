"""The 报告 tab's facets: province, county, year and kind, each value with its count of reports.

A facet's counts are over the reports the *other* facets let through, so each count says how
many rows choosing that value would show.
"""

from __future__ import annotations

from collections import Counter

from app.web.markup import KIND_LABELS
from vectorstore.store import StoredReport

FACETS: tuple[tuple[str, str], ...] = (
    ("province", "省份"),
    ("county", "县区"),
    ("year", "年份"),
    ("kind", "类型"),
)
UNKNOWN = "未知"
Selection = dict[str, list[str]]


def facet_value(report: StoredReport, key: str) -> str:
    meta = report.meta
    if key == "kind":
        return KIND_LABELS.get(meta.kind, meta.kind)
    value = getattr(meta, key)
    return str(value) if value else UNKNOWN


def selection(values: list[list[str] | None]) -> Selection:
    """The facets' dropdown values, in FACETS order, as {key: chosen values}."""
    return {
        key: [str(v) for v in chosen or []] for (key, _), chosen in zip(FACETS, values, strict=True)
    }


def matches(report: StoredReport, chosen: Selection, *, skip: str | None = None) -> bool:
    return all(
        not values or facet_value(report, key) in values
        for key, values in chosen.items()
        if key != skip
    )


def facet_choices(
    reports: list[StoredReport], chosen: Selection
) -> dict[str, list[tuple[str, str]]]:
    """Each facet's choices as ("河南省（12）", "河南省"), most reports first; a chosen value that
    no report has any more stays, with 0."""
    out: dict[str, list[tuple[str, str]]] = {}
    for key, _ in FACETS:
        counts = Counter(facet_value(r, key) for r in reports if matches(r, chosen, skip=key))
        for value in chosen.get(key, []):
            counts.setdefault(value, 0)
        if key == "year":  # newest first
            ordered = sorted(counts.items(), key=lambda kv: kv[0], reverse=True)
        else:
            ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        out[key] = [(f"{value}（{n}）", value) for value, n in ordered]
    return out
