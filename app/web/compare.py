"""The 对比 tab: a township × topic matrix separating problems from measures, with CSV/XLSX."""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.compare import TOPIC_PRESETS, CompareCell, CompareMatrix, compare, parse_topics
from app.export import write_csv, write_xlsx
from app.web.context import WebContext
from app.web.filters import FilterControls, FilterInputs, filter_controls, to_filters
from app.web.markup import esc, open_spec
from app.web.reports import ReportsTab
from ingest.errors import FazhiError

PROGRESS = gr.Progress()  # Gradio swaps in a per-event tracker for a Progress default
NONE_MARK = '<span class="fz-none">—</span>'


def matrix_html(matrix: CompareMatrix | None) -> str:
    if matrix is None:
        return '<div class="fz-matrix"><p class="fz-empty">选择主题后点击“生成对比”。</p></div>'
    if not matrix.rows:
        return '<div class="fz-matrix"><p class="fz-empty">筛选范围内没有报告。</p></div>'
    head = "".join(f"<th>{esc(t)}</th>" for t in matrix.topics)
    rows = []
    for row in matrix.rows:
        place = " · ".join(esc(v) for v in (row.county, row.year) if v)
        cells = "".join(_matrix_cell(row.cells[t]) for t in matrix.topics)
        rows.append(
            f'<tr><th scope="row">{esc(row.township)}<small>{place}</small></th>{cells}</tr>'
        )
    legend = (
        '<p class="fz-legend"><span class="fz-mark fz-problem">问题</span> 报告在“存在问题”中提到 '
        '<span class="fz-mark fz-measure">举措</span> 在“举措成效/创新做法”中提到 '
        '<span class="fz-none">—</span> 未提及。点击标记查看引文所在的全文。</p>'
    )
    return (
        f'<div class="fz-matrix">{legend}<div class="fz-scroll"><table>'
        f"<thead><tr><th>乡镇</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
        "</table></div></div>"
    )


def _matrix_cell(cell: CompareCell) -> str:
    marks = []
    for citation, cls, label in (
        (cell.problem, "fz-problem", "问题"),
        (cell.measure, "fz-measure", "举措"),
    ):
        if citation is not None:
            spec = esc(open_spec(vars(citation)))
            title = esc(citation.quote[:80])
            marks.append(
                f'<button type="button" class="fz-mark {cls}" data-fz-open="{spec}" '
                f'title="{title}">{label}</button>'
            )
    return f"<td>{''.join(marks) or NONE_MARK}</td>"


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
            return f'<p class="fz-error fz-outage">⚠ {esc(message)}</p>', hidden, hidden

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
        xlsx_path = write_xlsx(matrix, stem.with_suffix(".xlsx"))
        return (
            matrix_html(matrix),
            gr.DownloadButton(value=str(csv_path), visible=True),
            gr.DownloadButton(value=str(xlsx_path), visible=True),
        )

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
        run = gr.Button("生成对比", variant="primary", elem_id="fz-compare-run")
        matrix = self.reports.viewer_html(matrix_html(None), "fz-matrix")
        with gr.Row():
            csv_button = gr.DownloadButton("下载 CSV", visible=False, size="sm", elem_id="fz-csv")
            xlsx_button = gr.DownloadButton(
                "下载 Excel", visible=False, size="sm", elem_id="fz-xlsx"
            )
        run.click(
            self.run,
            [topics, typed, *controls.components()],
            [matrix, csv_button, xlsx_button],
            api_name="compare",
            api_visibility="undocumented",
        )
        return controls
