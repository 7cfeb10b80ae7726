"""The 报告 tab: every report in a table (marked when it needs review), its full text beside it,
a form to fix its metadata and a coverage view; and the full-text viewer that citation cards
and matrix marks open (a server function the browser calls)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from app.indexing import same_township_year
from app.web.context import WebContext, static_text
from app.web.coverage_view import CoverageView
from app.web.filters import facet_dropdown
from app.web.markup import KIND_LABELS, esc, report_html
from app.web.meta_form import FORM_FIELDS, KIND_CHOICES, MetaForm, review_mark, review_summary
from app.web.report_facets import FACETS, Selection, facet_choices, matches, selection
from ingest.errors import FazhiError

REPORT_HEADERS = ["乡镇", "县区", "省份", "年份", "类型", "段落数", "来源文件", "核对", "编号"]


@dataclass
class ReportsControls:
    """What the app refreshes after an upload or an edit."""

    table: gr.Dataframe
    summary: gr.Markdown
    review_only: gr.Checkbox
    notice: gr.Markdown
    save: gr.Button
    saved: Any  # the save event, for the app to chain its refresh on
    facets: list[gr.Dropdown]


class ReportsTab:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.form = MetaForm(ctx)
        self.coverage = CoverageView(ctx)

    def rows(self, review_only: bool = False, chosen: Selection | None = None) -> list[list[Any]]:
        reports = self.ctx.store.list_reports()
        twins = same_township_year(reports)
        return [
            [
                r.meta.township or "",
                r.meta.county or "",
                r.meta.province or "",
                r.meta.year or "",
                KIND_LABELS.get(r.meta.kind, r.meta.kind),
                r.passage_count,
                Path(r.source).name,
                review_mark(r.meta, twins.get(r.id)),
                r.id,
            ]
            for r in reports
            if (r.meta.needs_review or r.id in twins or not review_only)
            and matches(r, chosen or {})
        ]

    def summary(self) -> str:
        return review_summary(self.ctx.store.list_reports())

    def table_and_summary(
        self, review_only: bool, chosen: Selection | None = None
    ) -> tuple[list[list[Any]], str]:
        return self.rows(review_only, chosen), self.summary()

    def facet_updates(self, chosen: Selection) -> list[gr.Dropdown]:
        """Each facet's choices with their counts under the other facets' choices."""
        choices = facet_choices(self.ctx.store.list_reports(), chosen)
        return [gr.Dropdown(choices=choices[key]) for key, _ in FACETS]

    def filter(self, review_only: bool, *values: list[str]) -> list[Any]:
        """The table under the facets and the review filter, and the facets' new counts."""
        chosen = selection(list(values))
        return [self.rows(bool(review_only), chosen), *self.facet_updates(chosen)]

    def open_report(self, args: list[Any] | str) -> str:
        """Server function for the browser: full report HTML with the cited span marked."""
        spec = args[0] if isinstance(args, list) and args else args
        try:
            report_id, *numbers = str(spec).split("|")
            start, end, qs, qe = (int(n) for n in numbers)
            report = self.ctx.store.get_report(report_id)
        except (ValueError, FazhiError):
            return '<p class="fz-error">找不到这份报告。</p>'
        except Exception as exc:
            return self._outage_html(exc)
        return report_html(report, cited=(start, end, qs, qe))

    def show_report(self, evt: gr.SelectData) -> list[Any]:
        """The report's full text, and the metadata form filled with its fields."""
        row = evt.row_value or []
        if not row:
            return ["", *self.form.values(None)]
        try:
            report = self.ctx.store.get_report(str(row[-1]))
        except FazhiError as exc:
            return [f'<p class="fz-error">{esc(exc)}</p>', *self.form.values(None)]
        except Exception as exc:
            return [self._outage_html(exc), *self.form.values(None)]
        return [report_html(report), *self.form.values(report)]

    def save(
        self,
        report_id: str,
        township: str,
        county: str,
        city: str,
        province: str,
        year: str,
        published: str,
        title: str,
        kind: str,
        force: bool,
        review_only: bool,
        provinces: list[str],
        counties: list[str],
        years: list[str],
        kinds: list[str],
        request: gr.Request,
    ) -> list[Any]:
        """Apply the form; the status, the table (as filtered), the count and the report."""
        typed = (township, county, city, province, year, published, title)
        status, report = self.form.save(report_id, *typed, kind, force, request=request)
        try:
            rows, summary = self.table_and_summary(
                bool(review_only), selection([provinces, counties, years, kinds])
            )
            viewer = report_html(self.ctx.store.get_report(report.id)) if report else gr.skip()
        except Exception as exc:
            message = self.ctx.outage(exc)
            if message is None:
                raise
            return [f'<p class="fz-error fz-outage">⚠ {esc(message)}</p>', *[gr.skip()] * 13]
        # a saved edit shows what the gazetteer filled in (county, city, province)
        form = self.form.values(report) if report else [gr.skip()] * 10
        return [status, rows, summary, viewer, *form]

    def _outage_html(self, exc: Exception) -> str:
        message = self.ctx.outage(exc)
        if message is None:
            raise exc
        return f'<p class="fz-error fz-outage">⚠ {esc(message)}</p>'

    def viewer_html(
        self, value: str, elem_id: str, label: str | None = None, extra_js: str = ""
    ) -> gr.HTML:
        """A gr.HTML whose `[data-fz-open]` buttons open a report's full text in the viewer."""
        return gr.HTML(
            value,
            label=label,
            apply_default_css=False,
            js_on_load=static_text("open-report.js") + extra_js,
            server_functions=[_open_report_fn(self)],
            elem_id=elem_id,
        )

    def build(self) -> ReportsControls:
        gr.Markdown("点击表格中的一行查看报告全文；用表头的 ⋮ 菜单排序，用搜索框筛选。")
        summary = gr.Markdown(self.summary(), elem_id="fz-review-count")
        initial = facet_choices(self.ctx.store.list_reports(), {})
        with gr.Row(equal_height=True, elem_id="fz-report-facets"):
            facets = [
                facet_dropdown(initial[key], label, f"fz-facet-{key}") for key, label in FACETS
            ]
        # on its own line: beside the facets, a phone's width left it a character a line
        review_only = gr.Checkbox(False, label="只看待核对的报告", elem_id="fz-review-only")
        table = gr.Dataframe(
            self.rows(),
            headers=REPORT_HEADERS,
            datatype=["str", "str", "str", "number", "str", "number", "str", "str", "str"],
            interactive=False,
            show_search="search",
            latex_delimiters=[],
            wrap=True,
            max_height=360,
            elem_id="fz-reports",
        )
        with gr.Accordion("修改元数据", open=False, elem_id="fz-meta-edit"):
            notice = gr.Markdown()
            report_id = gr.Textbox(label="报告编号（点击表格中的一行）", interactive=False)
            with gr.Row():
                inputs = [
                    gr.Textbox(label=label, elem_id=f"fz-meta-{key}", min_width=120)
                    for key, label in FORM_FIELDS
                    if key != "title"
                ]
            title = gr.Textbox(label="标题", elem_id="fz-meta-title")
            with gr.Row():
                kind = gr.Dropdown(KIND_CHOICES, value="annual_report", label="类型")
                force = gr.Checkbox(
                    False, label="强制（名录中没有的新设乡镇、县区）", elem_id="fz-meta-force"
                )
            save = gr.Button("保存修改", variant="primary", elem_id="fz-meta-save")
            status = gr.HTML("", apply_default_css=False, elem_id="fz-meta-status")
        with gr.Accordion("覆盖情况", open=False, elem_id="fz-coverage"):
            gr.Markdown(
                "输入县区、市或省，查看其下各乡镇（2023 年区划）有哪些年份的报告、哪些没有。"
            )
            with gr.Row():
                area = gr.Textbox(
                    label="县区、市或省", placeholder="例如：宝丰县、普宁、河南", scale=3
                )
                show = gr.Button("查看覆盖情况", scale=1, elem_id="fz-coverage-run")
            coverage = gr.HTML("", apply_default_css=False, elem_id="fz-coverage-view")
        viewer = gr.HTML(
            '<p class="fz-empty">选择一份报告查看全文。</p>',
            apply_default_css=False,
            js_on_load=None,
            elem_id="fz-report-view",
        )
        form = [report_id, *inputs[:4], inputs[4], inputs[5], title, kind, force]
        table.select(self.show_report, outputs=[viewer, *form], api_visibility="private").then(
            None, js=_SCROLL_TO_VIEWER, api_visibility="private"
        )
        for control in (review_only, *facets):
            control.change(
                self.filter,
                inputs=[review_only, *facets],
                outputs=[table, *facets],
                api_visibility="private",
            )
        saved = save.click(
            self.save,
            inputs=[*form, review_only, *facets],
            outputs=[status, table, summary, viewer, *form],
            api_visibility="private",
        )
        show.click(self.coverage.show, inputs=area, outputs=coverage, api_visibility="private")
        area.submit(self.coverage.show, inputs=area, outputs=coverage, api_visibility="private")
        return ReportsControls(table, summary, review_only, notice, save, saved, facets)


# the chosen report's text is drawn below the table: bring it into sight
_SCROLL_TO_VIEWER = (
    "() => document.getElementById('fz-report-view')"
    "?.scrollIntoView({behavior: 'smooth', block: 'start'})"
)


def _open_report_fn(tab: ReportsTab) -> Callable[[list[Any]], str]:
    """A plain function (Gradio marks server functions with an attribute; methods refuse it)."""

    def open_report(args: list[Any]) -> str:
        return tab.open_report(args)

    return open_report
