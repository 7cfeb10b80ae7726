"""Charts of a township × topic comparison: each one a data table first, then a Vega-Lite chart.

The tables are what the CSV downloads hold and what the charts draw, all counted from the same
`CompareMatrix` the 对比 table shows (its totals row included), so a chart never says what the
table does not. Charts are Altair, which Gradio's `gr.Plot` renders in the browser (vega-embed:
its ⋯ menu saves the chart as SVG or PNG).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from app.answers import MENTIONED
from app.compare import CompareMatrix
from app.export import spreadsheet_safe

__all__ = [
    "CHART_NAMES",
    "CHART_SHORT",
    "CHART_TITLES",
    "ChartData",
    "chart",
    "chart_data",
    "write_chart_csv",
]

GRADE_BARS = ("列为存在问题", "有举措（未列为问题）", "仅相关")
GRADE_COLORS = ("#b91c1c", "#15803d", "#d4a017")
ASPECTS = ("列为存在问题", "有举措")
MAX_COUNTIES = 40  # more counties than this (a national corpus) are drawn by province
UNKNOWN_AREA = "未知"
COUNT_AXIS = alt.Axis(format="d", tickMinStep=1)  # townships are whole
CHART_NAMES = ("grades", "areas", "years")
CHART_SHORT = {"grades": "按等级", "areas": "按地区", "years": "按年份"}
CHART_TITLES = {
    "grades": "各主题的乡镇数（按等级）",
    "areas": "各县区把主题列为存在问题的乡镇占比",
    "years": "各年份把主题列为问题、报告举措的乡镇数",
}


@dataclass
class ChartData:
    """One chart's table: `columns` name the fields of each row (also the CSV's header)."""

    name: str  # grades, areas, years
    title: str
    columns: list[str]
    rows: list[dict[str, Any]]
    note: str = ""  # e.g. why counties are drawn by province

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=self.columns)


def chart_data(matrix: CompareMatrix) -> list[ChartData]:
    """The charts a comparison has: grades always; by year only when it spans several years."""
    charts = [_grades(matrix), _areas(matrix)]
    if len({row.year for row in matrix.rows if row.year}) > 1:
        charts.append(_years(matrix))
    return charts


def _grades(matrix: CompareMatrix) -> ChartData:
    rows = []
    for t in matrix.totals():
        for category, count in zip(
            GRADE_BARS, (t.problems, t.measures_only, t.related), strict=True
        ):
            rows.append({"主题": t.topic, "等级": category, "乡镇数": count, "报告数": t.reports})
    return ChartData("grades", CHART_TITLES["grades"], ["主题", "等级", "乡镇数", "报告数"], rows)


def _areas(matrix: CompareMatrix) -> ChartData:
    counties = {(row.province, row.county) for row in matrix.rows}
    by_county = len(counties) <= MAX_COUNTIES
    level = "县区" if by_county else "省份"
    groups: dict[str, list[Any]] = {}
    for row in matrix.rows:
        if by_county:
            area = " ".join(p for p in (row.province, row.county) if p) or UNKNOWN_AREA
        else:
            area = row.province or UNKNOWN_AREA
        groups.setdefault(area, []).append(row)
    rows = []
    for area in sorted(groups):
        members = groups[area]
        for topic in matrix.topics:
            problems = sum(1 for r in members if r.cells[topic].grade("problem") == MENTIONED)
            rows.append(
                {
                    level: area,
                    "主题": topic,
                    "乡镇数": len(members),
                    "列为存在问题": problems,
                    "占比": round(problems / len(members), 4),
                }
            )
    note = (
        ""
        if by_county
        else f"共 {len(counties)} 个县区，超过 {MAX_COUNTIES} 个：按省份汇总（按县区的数字见对比表）。"
    )
    title = CHART_TITLES["areas"] if by_county else "各省份把主题列为存在问题的乡镇占比"
    return ChartData("areas", title, [level, "主题", "乡镇数", "列为存在问题", "占比"], rows, note)


def _years(matrix: CompareMatrix) -> ChartData:
    years = sorted({row.year for row in matrix.rows if row.year})
    rows = []
    for topic in matrix.topics:
        for year in years:
            members = [r for r in matrix.rows if r.year == year]
            for aspect, kind in zip(ASPECTS, ("problem", "measure"), strict=True):
                count = sum(1 for r in members if r.cells[topic].grade(kind) == MENTIONED)
                rows.append(
                    {
                        "主题": topic,
                        "年份": year,
                        "方面": aspect,
                        "乡镇数": count,
                        "报告数": len(members),
                    }
                )
    return ChartData(
        "years", CHART_TITLES["years"], ["主题", "年份", "方面", "乡镇数", "报告数"], rows
    )


def chart(data: ChartData) -> alt.Chart | alt.FacetChart:
    """The Altair chart of one table."""
    frame = data.frame()
    title = alt.TitleParams(data.title, subtitle=data.note) if data.note else data.title
    if data.name == "grades":
        order = {c: i for i, c in enumerate(GRADE_BARS)}
        frame["次序"] = frame["等级"].map(order)
        return (
            alt.Chart(frame, title=title)
            .mark_bar()
            .encode(
                y=alt.Y("主题:N", sort=None, title=None),
                x=alt.X("乡镇数:Q", stack="zero", title="乡镇数", axis=COUNT_AXIS),
                color=alt.Color(
                    "等级:N",
                    scale=alt.Scale(domain=list(GRADE_BARS), range=list(GRADE_COLORS)),
                    legend=alt.Legend(orient="bottom", title=None),
                ),
                order=alt.Order("次序:Q"),
                tooltip=["主题", "等级", "乡镇数", "报告数"],
            )
            .properties(height=alt.Step(26))
        )
    if data.name == "areas":
        level = data.columns[0]
        return (
            alt.Chart(frame, title=title)
            .mark_rect()
            .encode(
                x=alt.X("主题:N", sort=None, title=None, axis=alt.Axis(labelAngle=0, orient="top")),
                y=alt.Y(f"{level}:N", sort=None, title=None),
                color=alt.Color(
                    "占比:Q",
                    scale=alt.Scale(domain=[0, 1], range=["#f8f8f8", "#991b1b"]),
                    legend=alt.Legend(format=".0%", title="占比"),
                ),
                tooltip=[
                    level,
                    "主题",
                    "列为存在问题",
                    "乡镇数",
                    alt.Tooltip("占比:Q", format=".0%"),
                ],
            )
            .properties(width=alt.Step(72), height=alt.Step(18))
        )
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("年份:O", title=None),
            y=alt.Y("乡镇数:Q", title="乡镇数", axis=COUNT_AXIS),
            color=alt.Color("主题:N", sort=None, legend=alt.Legend(title=None)),
            tooltip=["主题", "年份", "方面", "乡镇数", "报告数"],
        )
        .properties(width=260, height=220)
        .facet(column=alt.Column("方面:N", sort=list(ASPECTS), title=None))
        .properties(title=title)
    )


def write_chart_csv(data: ChartData, path: Path) -> Path:
    """A chart's table as UTF-8 CSV with a BOM (Excel opens the Chinese correctly)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=data.columns)
        writer.writeheader()
        for row in data.rows:
            writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
    return path
