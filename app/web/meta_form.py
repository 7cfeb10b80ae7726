"""The 报告 tab's review marks and its metadata form: why a report needs review, and fixing it
with the same checks as `fazhi meta` (app/edits.py), in Chinese; admin only when one is set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from app.answers.citations import year_label
from app.edits import edit_report
from app.indexing import same_township_year
from app.web.context import WebContext
from app.web.markup import KIND_LABELS, esc
from ingest.errors import FazhiError, MetadataEditError
from ingest.model import ReportMeta
from vectorstore import StoredReport

FIELD_LABELS = {"township": "乡镇", "year": "年份", "county": "县区", "province": "省份"}
# the form's inputs, in order: (field, label)
FORM_FIELDS = (
    ("township", "乡镇"),
    ("county", "县区"),
    ("city", "市"),
    ("province", "省份"),
    ("year", "年份"),
    ("published", "发布日期"),
    ("title", "标题"),
)
KIND_CHOICES = [(label, kind) for kind, label in KIND_LABELS.items()]


def review_reasons(meta: ReportMeta) -> list[str]:
    """Why a report needs review, in a few Chinese words each (empty if it does not)."""
    if not meta.needs_review:
        return []
    reasons = []
    for key, label in FIELD_LABELS.items():
        if key in ("township", "year") and not getattr(meta, key):
            reasons.append(f"{label}未识别")
        elif meta.certainty.get(key) == "uncertain":
            reasons.append(f"{label}不确定")
    labels = dict(FORM_FIELDS)
    reasons += [
        f"{labels.get(key, key)}不确定"
        for key, value in meta.certainty.items()
        if value == "uncertain" and key not in FIELD_LABELS
    ]
    return reasons or ["待核对"]


def twins_reason(sources: list[str]) -> str:
    """Why a report sharing its township and year with other reports (these files) needs review."""
    files = "、".join(Path(source).name for source in sources)
    return f"与{files}同乡镇同年份（重复或年份有误？）"


def review_mark(meta: ReportMeta, twins: list[StoredReport] | None = None) -> str:
    """⚠ and why a report needs review; `twins`: other reports of its township and year."""
    reasons = review_reasons(meta)
    if twins:
        reasons.append(twins_reason([t.source for t in twins]))
    return f"⚠ 待核对：{'、'.join(reasons)}" if reasons else ""


def review_summary(reports: list[StoredReport]) -> str:
    twins = same_township_year(reports)
    waiting = sum(1 for r in reports if r.meta.needs_review or r.id in twins)
    if not reports:
        return "库中还没有报告。"
    if not waiting:
        return f"共 {len(reports)} 份报告，元数据均已确认。"
    return (
        f"共 {len(reports)} 份报告，其中 **{waiting} 份待核对**（乡镇或年份未识别或不确定，"
        "或与另一份同乡镇同年份）："
        "勾选“只看待核对”，点击一行，在下方“修改元数据”中更正。"
    )


class MetaForm:
    """Fills from the selected report; saving applies the edit to the report and its passages."""

    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.settings = ctx.settings

    def may_edit(self, username: str | None) -> bool:
        admin = self.settings.admin_user
        return not admin or username == admin

    def _refused(self) -> str:
        return f"只有管理员（{self.settings.admin_user}）可以修改报告的元数据。"

    def notice(self, request: gr.Request) -> tuple[Any, ...]:
        allowed = self.may_edit(getattr(request, "username", None))
        text = (
            "更正后报告及其全部段落立即更新；再次导入同一文件时保留。乡镇须在名录（2023 年区划）中、"
            "且属于所填（或已有）的县区；2023 年后新设的可勾选“强制”。"
            if allowed
            else self._refused()
        )
        return gr.Markdown(text), gr.Button(interactive=allowed)

    def values(self, report: StoredReport | None) -> list[Any]:
        """The form's values for `report` (its id first), or an empty form."""
        if report is None:
            return ["", *[""] * len(FORM_FIELDS), "annual_report", False]
        meta = report.meta
        shown = [getattr(meta, key) for key, _ in FORM_FIELDS]
        return [report.id, *["" if v is None else str(v) for v in shown], meta.kind, False]

    def save(
        self, report_id: str, *values: Any, request: gr.Request | None = None
    ) -> tuple[str, StoredReport | None]:
        """Apply what the form changed; (status HTML, the report as stored now or None)."""
        if not self.may_edit(getattr(request, "username", None)):
            return f'<p class="fz-error">⚠ {esc(self._refused())}</p>', None
        if not report_id:
            return '<p class="fz-error">⚠ 请先在表格中点击要修改的报告。</p>', None
        *typed, kind, force = values
        try:
            stored = self.ctx.store.get_report(report_id, with_text=False)
            typed_fields = dict(zip([k for k, _ in FORM_FIELDS], typed, strict=True))
            changes = _changes(stored.meta, typed_fields, kind)
            result = edit_report(
                self.ctx.store,
                report_id,
                changes,
                chunking=self.settings.chunking,
                force=bool(force),
            )
        except MetadataEditError as exc:
            return f'<p class="fz-error">⚠ {esc(exc.chinese)}</p>', None
        except FazhiError as exc:
            return f'<p class="fz-error">⚠ {esc(exc)}</p>', None
        meta = result.report.meta
        place = "，".join(str(v) for v in (meta.county, meta.province) if v)
        text = (
            f"已更新：{meta.township or '乡镇未识别'}"
            + (f"（{place}）" if place else "")
            + f" {year_label(meta.year)}。报告及其 {result.passages} 个段落已同步，"
            "再次导入同一文件时保留。"
        )
        if meta.needs_review:
            text += f" 仍待核对：{'、'.join(review_reasons(meta))}。"
        if result.notes:
            text += " 已强制接受：名录中没有所填地名。"
        return f'<p class="fz-saved">{esc(text)}</p>', result.report


def _changes(meta: ReportMeta, typed: dict[str, Any], kind: str | None) -> dict[str, Any]:
    """What the form changed: a field whose value differs from the stored one ("" clears it),
    or one the report is unsure of, given again (that confirms it)."""
    changes: dict[str, Any] = {}
    for key, value in typed.items():
        value = "" if value is None else str(value).strip()
        stored = getattr(meta, key)
        stored = "" if stored is None else str(stored)
        if key == "year" and not value:
            continue  # a year is corrected, never cleared
        if value != stored or (value and meta.certainty.get(key) == "uncertain"):
            changes[key] = value
    if kind and kind != meta.kind:
        changes["kind"] = kind
    return changes
