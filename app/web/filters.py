"""The place/year/section filters shown on the chat and compare tabs, and their parsing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from app.answers.service import Filters
from app.web.report_facets import matches
from ingest.errors import FazhiError
from ingest.model import SECTION_LABELS, SECTION_TYPES
from vectorstore import PassageStore, StoredReport

ANY_YEAR = "不限"
SECTION_CHOICES = [(label, key) for key, label in SECTION_LABELS.items()]


@dataclass
class FilterInputs:
    provinces: list[str] = field(default_factory=list)
    counties: list[str] = field(default_factory=list)
    townships: list[str] = field(default_factory=list)
    year_from: str | int | None = None
    year_to: str | int | None = None
    sections: list[str] = field(default_factory=list)


def to_filters(values: FilterInputs) -> Filters:
    """UI or API values → `Filters`; section labels (存在问题) or keys (problems) both work."""
    year_from, year_to = _year(values.year_from), _year(values.year_to)
    if year_from and year_to and year_from > year_to:
        year_from, year_to = year_to, year_from
    by_label = {label: key for key, label in SECTION_LABELS.items()}
    sections = []
    for s in values.sections or []:
        key = s if s in SECTION_TYPES else by_label.get(s)
        if key is None:
            raise FazhiError(f"未知的部分“{s}”，可选：{'、'.join(SECTION_TYPES)}")
        sections.append(key)
    return Filters(
        townships=list(values.townships or []),
        counties=list(values.counties or []),
        provinces=list(values.provinces or []),
        year_from=year_from,
        year_to=year_to,
        sections=sections,
    )


def _year(value: str | int | None) -> int | None:
    if value in (None, "", ANY_YEAR):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FazhiError(f"年份“{value}”无效") from None


@dataclass
class FilterControls:
    provinces: gr.Dropdown
    counties: gr.Dropdown
    townships: gr.Dropdown
    year_from: gr.Dropdown
    year_to: gr.Dropdown

    def components(self) -> list[gr.Dropdown]:
        return [self.provinces, self.counties, self.townships, self.year_from, self.year_to]

    def narrow_places(self, store: PassageStore) -> None:
        """Choosing provinces narrows the counties offered, and counties the townships (inside
        a Blocks context: it adds the events)."""

        def narrow(provinces: list[str], counties: list[str], townships: list[str]) -> tuple:
            offered_counties, offered_townships = place_choices(
                store.facet_values(), store.list_reports(), provinces, counties
            )
            return (
                gr.Dropdown(choices=_keeping(offered_counties, counties)),
                gr.Dropdown(choices=_keeping(offered_townships, townships)),
            )

        places = [self.provinces, self.counties, self.townships]
        for control in (self.provinces, self.counties):
            control.input(narrow, places, [self.counties, self.townships], api_visibility="private")


def place_choices(
    facets: dict[str, list[Any]],
    reports: list[StoredReport],
    provinces: list[str],
    counties: list[str],
) -> tuple[list[str], list[str]]:
    """The counties in the chosen provinces, and the townships in those and the chosen
    counties (all of them when none is chosen), in the facets' order."""
    in_provinces = [r for r in reports if matches(r, {"province": provinces})]
    in_counties = [r for r in in_provinces if matches(r, {"county": counties})]
    county_set = {r.meta.county for r in in_provinces}
    township_set = {r.meta.township for r in in_counties}
    return (
        [c for c in facets["county"] if c in county_set],
        [t for t in facets["township"] if t in township_set],
    )


def _keeping(offered: list[str], chosen: list[str]) -> list[str]:
    """The choices offered, with those already chosen kept (a choice never vanishes)."""
    return [*offered, *(c for c in chosen if c not in offered)]


def facet_dropdown(choices: list[Any], label: str, elem_id: str) -> gr.Dropdown:
    """A multi-select of a facet's values (provinces, counties, ...), none chosen."""
    return gr.Dropdown(
        choices, value=[], multiselect=True, label=label, min_width=140, elem_id=elem_id
    )


def filter_controls(facets: dict[str, list[Any]], prefix: str) -> FilterControls:
    years = [ANY_YEAR, *(str(y) for y in facets["year"])]

    def multi(label: str, key: str) -> gr.Dropdown:
        return facet_dropdown(facets[key], label, f"{prefix}-{key}")

    provinces, counties = multi("省份", "province"), multi("县区", "county")
    townships = multi("乡镇", "township")
    with gr.Row():
        year_from = gr.Dropdown(
            years, value=ANY_YEAR, label="起始年份", min_width=110, elem_id=f"{prefix}-from"
        )
        year_to = gr.Dropdown(
            years, value=ANY_YEAR, label="截止年份", min_width=110, elem_id=f"{prefix}-to"
        )
    return FilterControls(provinces, counties, townships, year_from, year_to)


def filter_choices(facets: dict[str, list[Any]]) -> list[gr.Dropdown]:
    """New choices for one set of filter controls (after an upload changed the store)."""
    years = [ANY_YEAR, *(str(y) for y in facets["year"])]
    choices = [facets["province"], facets["county"], facets["township"], years, years]
    return [gr.Dropdown(choices=c) for c in choices]
