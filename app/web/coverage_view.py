"""The 报告 tab's coverage view: which townships of a county, city or province have reports,
for which years, and which have none (`app/coverage.py`, as `fazhi coverage` prints it)."""

from __future__ import annotations

from pathlib import Path

from app.answers.listing import ENTRIES_SHOWN
from app.coverage import AreaError, Coverage, coverage
from app.web.context import WebContext
from app.web.markup import esc


def coverage_html(result: Coverage) -> str:
    covered, total = len(result.covered), len(result.townships)
    missing, shown = result.missing, result.shown
    rows = "".join(
        f"<tr><th scope='row'>{esc(t.township)}</th><td>{esc(t.county or '')}</td>"
        f"<td>{esc('、'.join(str(y) for y in t.years) or '—')}</td>"
        f"<td>{len(t.reports) if t.reports else '无'}</td></tr>"
        for t in shown
    )
    parts = [
        f'<p class="fz-cov-total">{esc(result.area.label)}：{total} 个乡级行政区，'
        f"{covered} 个有报告。</p>",
        '<div class="fz-scroll"><table class="fz-coverage-table"><thead><tr><th>乡镇</th>'
        f"<th>县区</th><th>报告年份</th><th>报告</th></tr></thead><tbody>{rows}</tbody></table></div>",
    ]
    if len(shown) < total:
        names = "、".join(t.township for t in missing)
        parts.append(
            f'<details class="fz-cov-missing"><summary>另有 {len(missing)} 个乡级行政区没有报告'
            f"</summary><p>{esc(names)}</p></details>"
        )
    for title, entries in (
        ("本区域内、未能对应到名录乡镇的报告", result.unlisted),
        ("县区未知、可能属于本区域的报告", result.maybe),
    ):
        if entries:
            items = "".join(
                f"<li>{esc(e.township)} {esc(e.report.year or '年份未知')} · "
                f"{esc(Path(e.report.source).name)}（{esc(e.report.report_id[:8])}）</li>"
                for e in entries
            )
            if len(entries) <= ENTRIES_SHOWN:
                parts.append(f"<p>{esc(title)}（{len(entries)}）：</p><ul>{items}</ul>")
            else:  # hundreds of lines would push the table out of sight
                parts.append(
                    f'<details class="fz-cov-missing"><summary>{esc(title)}（{len(entries)}）'
                    f"</summary><ul>{items}</ul></details>"
                )
    return f'<div class="fz-coverage">{"".join(parts)}</div>'


class CoverageView:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    def show(self, area: str) -> str:
        area = (area or "").strip()
        if not area:
            return '<p class="fz-empty">请输入县区、市或省的名称，例如 宝丰县、普宁、河南。</p>'
        try:
            return coverage_html(coverage(self.ctx.store, area))
        except AreaError as exc:
            return f'<p class="fz-error">⚠ {esc(exc.chinese)}</p>'
        except Exception as exc:
            message = self.ctx.outage(exc)
            if message is None:
                raise
            return f'<p class="fz-error fz-outage">⚠ {esc(message)}</p>'


__all__ = ["CoverageView", "coverage_html"]
