"""The 报告 tab: every report in a table, its full text beside it; and the full-text viewer
that citation cards and matrix marks open (a server function the browser calls)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from app.web.context import WebContext, static_text
from app.web.markup import KIND_LABELS, esc, report_html
from ingest.errors import FazhiError

REPORT_HEADERS = ["乡镇", "县区", "省份", "年份", "类型", "段落数", "来源文件", "编号"]


class ReportsTab:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    def rows(self) -> list[list[Any]]:
        return [
            [
                r.meta.township or "",
                r.meta.county or "",
                r.meta.province or "",
                r.meta.year or "",
                KIND_LABELS.get(r.meta.kind, r.meta.kind),
                r.passage_count,
                Path(r.source).name,
                r.id,
            ]
            for r in self.ctx.store.list_reports()
        ]

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

    def show_report(self, evt: gr.SelectData) -> str:
        row = evt.row_value or []
        if not row:
            return ""
        try:
            return report_html(self.ctx.store.get_report(str(row[-1])))
        except FazhiError as exc:
            return f'<p class="fz-error">{esc(exc)}</p>'
        except Exception as exc:
            return self._outage_html(exc)

    def _outage_html(self, exc: Exception) -> str:
        message = self.ctx.outage(exc)
        if message is None:
            raise exc
        return f'<p class="fz-error fz-outage">⚠ {esc(message)}</p>'

    def viewer_html(self, value: str, elem_id: str, label: str | None = None) -> gr.HTML:
        """A gr.HTML whose `[data-fz-open]` buttons open a report's full text in the viewer."""
        return gr.HTML(
            value,
            label=label,
            apply_default_css=False,
            js_on_load=static_text("open-report.js"),
            server_functions=[_open_report_fn(self)],
            elem_id=elem_id,
        )

    def build(self) -> gr.Dataframe:
        gr.Markdown("点击表格中的一行查看报告全文；用表头的 ⋮ 菜单排序，用搜索框筛选。")
        table = gr.Dataframe(
            self.rows(),
            headers=REPORT_HEADERS,
            datatype=["str", "str", "str", "number", "str", "number", "str", "str"],
            interactive=False,
            show_search="search",
            latex_delimiters=[],
            wrap=True,
            max_height=360,
            elem_id="fz-reports",
        )
        viewer = gr.HTML(
            '<p class="fz-empty">选择一份报告查看全文。</p>',
            apply_default_css=False,
            js_on_load=None,
            elem_id="fz-report-view",
        )
        table.select(self.show_report, outputs=viewer, api_visibility="private")
        return table


def _open_report_fn(tab: ReportsTab) -> Callable[[list[Any]], str]:
    """A plain function (Gradio marks server functions with an attribute; methods refuse it)."""

    def open_report(args: list[Any]) -> str:
        return tab.open_report(args)

    return open_report
