"""The 对比 tab: a township × topic matrix separating problems from measures, with CSV/XLSX."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from app.answers import MENTIONED, NOT_MENTIONED, RELATED
from app.charts import CHART_NAMES, CHART_SHORT, chart, chart_data, write_chart_csv
from app.compare import (
    KINDS,
    TOPIC_PRESETS,
    CompareCell,
    CompareMatrix,
    TopicTotals,
    compare,
    parse_topics,
)
from app.export import write_csv, write_xlsx
from app.web.context import WebContext, static_text
from app.web.filters import FilterControls, FilterInputs, filter_controls, to_filters
from app.web.markup import esc, open_spec
from app.web.reports import ReportsTab
from ingest.errors import FazhiError

PROGRESS = gr.Progress()  # Gradio swaps in a per-event tracker for a Progress default
SCORES = {MENTIONED: 2, RELATED: 1, NOT_MENTIONED: 0}
MARKS = {MENTIONED: "✔", RELATED: "～"}


def matrix_html(matrix: CompareMatrix | None) -> str:
    """The matrix with its totals row; sorting, the mentions filter and the grouping by county
    run in the browser (`static/matrix.js`) on the data attributes written here."""
    if matrix is None:
        return '<div class="fz-matrix"><p class="fz-empty">选择主题后点击“生成对比”。</p></div>'
    if not matrix.rows:
        return '<div class="fz-matrix"><p class="fz-empty">筛选范围内没有报告。</p></div>'
    columns = ["乡镇", "县区", "年份", *matrix.topics]
    head = "".join(
        f'<th><button type="button" class="fz-sort" data-col="{i}" title="点击排序">'
        f"{esc(name)}</button></th>"
        for i, name in enumerate(columns)
    )
    totals = "".join(_totals_cell(t) for t in matrix.totals())
    rows = []
    for i, row in enumerate(matrix.rows):
        county = " ".join(p for p in (row.province, row.county) if p) or "县区未知"
        cells = "".join(_matrix_cell(row.cells[t]) for t in matrix.topics)
        rows.append(
            f'<tr data-county="{esc(county)}" data-mentions="{int(row.mentions)}" data-order="{i}">'
            f'<th scope="row">{esc(row.township)}</th>'
            f'<td class="fz-place">{esc(row.county or "")}<small>{esc(row.province or "")}</small></td>'
            f'<td data-k="{row.year or 0}">{row.year or ""}</td>{cells}</tr>'
        )
    mentioning = sum(row.mentions for row in matrix.rows)
    counties = len({(r.province, r.county) for r in matrix.rows})
    legend = (
        '<p class="fz-legend"><span class="fz-mark fz-problem">✔ 问题</span> 在“存在问题”中明确提到 '
        '<span class="fz-mark fz-measure">✔ 举措</span> 在“举措成效/创新做法”中明确提到 '
        '<span class="fz-mark fz-related">～</span> 相关：谈到这个主题，但没有明确这样说；'
        "空白：未提及。点击标记查看引文所在的全文，点击表头排序。"
        '<span class="fz-narrow-only">表格较宽，可左右滑动查看各主题。</span></p>'
    )
    tools = (
        '<div class="fz-matrix-tools">'
        f'<label><input type="checkbox" class="fz-only-mentions"> 只看提到任一主题的乡镇'
        f"（{mentioning}/{len(matrix.rows)}）</label>"
        f'<label><input type="checkbox" class="fz-by-county"> 按县区分组（{counties} 个县区）</label>'
        "</div>"
    )
    return (
        f'<div class="fz-matrix" data-topics="{len(matrix.topics)}">{legend}{tools}'
        f'<div class="fz-scroll"><table><thead><tr>{head}</tr>'
        f'<tr class="fz-totals"><th scope="row">合计</th>'
        f'<td colspan="2">{len(matrix.rows)} 份报告</td>{totals}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></div>"
    )


def _totals_cell(t: TopicTotals) -> str:
    return (
        f'<td><span class="fz-total fz-problem" title="列为存在问题的乡镇">问题 {t.problems}</span>'
        f'<span class="fz-total fz-measure" title="有举措的乡镇">举措 {t.measures}</span>'
        f'<span class="fz-total fz-related" title="只是相关的乡镇">相关 {t.related}</span></td>'
    )


def _matrix_cell(cell: CompareCell) -> str:
    marks = []
    for kind in KINDS:
        grade, citation = cell.grade(kind), cell.citation(kind)
        if grade == NOT_MENTIONED:
            continue
        cls = (
            ("fz-problem" if kind == "problem" else "fz-measure")
            if grade == MENTIONED
            else (f"fz-related fz-related-{kind}")
        )
        label = f"{MARKS[grade]} {'问题' if kind == 'problem' else '举措'}"
        if citation is None:
            marks.append(f'<span class="fz-mark {cls}">{label}</span>')
            continue
        spec = esc(open_spec(vars(citation)))
        title = esc(f"{grade}：{citation.quote[:80]}")
        marks.append(
            f'<button type="button" class="fz-mark {cls}" data-fz-open="{spec}" '
            f'title="{title}">{label}</button>'
        )
    key = SCORES[cell.grade("problem")] * 3 + SCORES[cell.grade("measure")]
    return f'<td data-k="{key}" data-p="{int(cell.grade("problem") == MENTIONED)}">{"".join(marks)}</td>'


class CompareTab:
    def __init__(self, ctx: WebContext, reports: ReportsTab) -> None:
        self.ctx = ctx
        self.reports = reports

    def run(
        self,
        selected: list[str],
        typed: str,
        provinces: list[str],
        counties: list[str],
        townships: list[str],
        year_from: str | None,
        year_to: str | None,
        progress: gr.Progress = PROGRESS,
    ) -> tuple[Any, ...]:
        """The matrix and its downloads; while the Chroma server is down, what to do instead."""
        values = FilterInputs(provinces, counties, townships, year_from, year_to)
        try:
            return self._matrix(selected, typed, values, progress)
        except Exception as exc:
            message = self.ctx.outage(exc)
            if message is None:
                raise
            hidden = gr.DownloadButton(value=None, visible=False)
            return f'<p class="fz-error fz-outage">⚠ {esc(message)}</p>', hidden, hidden, None

    def _matrix(
        self, selected: list[str], typed: str, values: FilterInputs, progress: gr.Progress
    ) -> tuple[Any, ...]:
        service = self.ctx.service
        try:
            topics = parse_topics(selected, typed)
            filters = service.resolve(to_filters(values))
        except FazhiError as exc:
            raise gr.Error(str(exc)) from None

        def report(i: int, n: int, topic: str) -> None:
            progress(i / max(n, 1), desc=f"正在对比“{topic}”（{i + 1}/{n}）" if topic else "完成")

        matrix = compare(service, topics, filters, progress=report)
        stem = self.ctx.export_stem("fazhi-compare")
        csv_path = write_csv(matrix, stem.with_suffix(".csv"))
        return (
            matrix_html(matrix),
            gr.DownloadButton(value=str(csv_path), visible=True),
            gr.DownloadButton(value=None, visible=False),  # written once the views are shown
            matrix,
        )

    def workbook(self, matrix: CompareMatrix | None) -> gr.DownloadButton:
        """The XLSX download, written after the table and the charts are on screen (at 200
        townships × 10 topics it takes longer than both together: BENCHMARKS.md)."""
        if matrix is None:
            return gr.DownloadButton(value=None, visible=False)
        path = write_xlsx(matrix, self.ctx.export_stem("fazhi-compare").with_suffix(".xlsx"))
        return gr.DownloadButton(value=str(path), visible=True)

    def charts(self, matrix: CompareMatrix | None) -> list[Any]:
        """Each chart of the matrix and its data as CSV; a chart the matrix has not (by year,
        over a single year) is hidden."""
        out: list[Any] = []
        drawn = {data.name: data for data in chart_data(matrix)} if matrix and matrix.rows else {}
        stem = self.ctx.export_stem("fazhi-chart")
        for name in CHART_NAMES:
            data = drawn.get(name)
            if data is None:
                out += [gr.Plot(value=None, visible=False), gr.DownloadButton(visible=False)]
                continue
            path = write_chart_csv(data, Path(f"{stem}-{name}.csv"))
            out += [
                gr.Plot(value=chart(data), visible=True),
                gr.DownloadButton(value=str(path), visible=True),
            ]
        return out

    def build(self, facets: dict[str, list[Any]]) -> FilterControls:
        gr.Markdown("比较各乡镇报告是否提到某个主题，并区分列为**存在问题**还是**举措/创新**。")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                topics = gr.CheckboxGroup(
                    list(TOPIC_PRESETS), value=list(TOPIC_PRESETS[:4]), label="主题"
                )
                typed = gr.Textbox(
                    label="其他主题（用逗号分隔）", placeholder="例如：行政复议、安全生产"
                )
            with gr.Column(scale=2, min_width=280):
                controls = filter_controls(facets, "fz-cmp")
                controls.narrow_places(self.ctx.store)
        run = gr.Button("生成对比", variant="primary", elem_id="fz-compare-run")
        matrix = self.reports.viewer_html(
            matrix_html(None), "fz-matrix", extra_js=static_text("matrix.js")
        )
        with gr.Row():
            csv_button = gr.DownloadButton("下载 CSV", visible=False, size="sm", elem_id="fz-csv")
            xlsx_button = gr.DownloadButton(
                "下载 Excel", visible=False, size="sm", elem_id="fz-xlsx"
            )
        shown = gr.State(None)
        plots: list[Any] = []
        with gr.Accordion("图表", open=True, elem_id="fz-charts"):
            gr.Markdown(
                "每个图表右上角的 ⋯ 菜单可保存为 SVG 或 PNG；“下载数据”是图表所画的数字（CSV）。",
                elem_classes="fz-chart-hint",
            )
            for name in CHART_NAMES:
                plots.append(gr.Plot(visible=False, show_label=False, elem_id=f"fz-chart-{name}"))
                plots.append(
                    gr.DownloadButton(
                        f"下载图表数据（CSV，{CHART_SHORT[name]}）",
                        visible=False,
                        size="sm",
                        elem_id=f"fz-chart-{name}-csv",
                    )
                )
        run.click(
            self.run,
            [topics, typed, *controls.components()],
            [matrix, csv_button, xlsx_button, shown],
            api_name="compare",
            api_visibility="undocumented",
        ).then(self.charts, shown, plots, api_visibility="private").then(
            self.workbook, shown, xlsx_button, api_visibility="private"
        )
        return controls
