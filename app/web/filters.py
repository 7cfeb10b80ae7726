"""The place/year/section filters shown on the chat and compare tabs, and their parsing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from app.answers.service import Filters
from ingest.errors import FazhiError
from ingest.model import SECTION_LABELS, SECTION_TYPES

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
