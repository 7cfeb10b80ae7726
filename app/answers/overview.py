"""A section without a topic ("西联镇存在什么问题？"): the first passages of that section, per report;
or, asked in the negative ("哪些镇没有写存在的问题？"), the reports without that section."""

from __future__ import annotations

from pathlib import Path

from app.answers.citations import cite, inline, report_labels, year_label
from app.answers.engine import NOT_FOUND, Engine, make_answer, not_found
from app.answers.listing import (
    OVERVIEW_PASSAGES,
    OVERVIEW_REPORTS,
    WITHOUT_SHOWN,
    overflow,
    report_bullet,
)
from app.answers.models import Answer, Citation
from app.question import ParsedQuestion
from app.retrieval import Hit
from ingest.model import SECTION_LABELS
from vectorstore import Scope, StoredReport


def answer(
    engine: Engine, parsed: ParsedQuestion, scope: Scope, reports: list[StoredReport]
) -> Answer:
    """Each report's first OVERVIEW_PASSAGES passages of the asked-about sections, cited."""
    labels = "、".join(SECTION_LABELS.get(s, s) for s in parsed.sections)
    names = report_labels(reports)
    citations: list[Citation] = []
    lines: list[str] = []
    townships: list[str] = []
    for report in reports[:OVERVIEW_REPORTS]:
        passages = engine.store.passages(Scope(report_ids=[report.id], sections=parsed.sections))
        passages.sort(key=lambda p: int(p.meta["start"]))
        first = len(citations) + 1
        for passage in passages[:OVERVIEW_PASSAGES]:
            citations.append(cite(len(citations) + 1, Hit(passage, 0.0, 0.0, 0.0)))
        if len(citations) >= first:
            c = citations[first - 1]
            markers = " ".join(f"[{n}]" for n in range(first, len(citations) + 1))
            townships.append(names[report.id])
            details = [year_label(c.year), labels]
            tail = f"：“{inline(c.quote)}” {markers}"
            lines.append(report_bullet(names[report.id], c.county, details, tail))
    if not citations:
        return not_found(parsed, scope, f"{NOT_FOUND}：范围内的报告没有“{labels}”部分。")
    lead = f"范围内 {len(townships)} 个乡镇报告的“{labels}”部分（每份列出前几段）："
    lead += overflow(reports)
    return make_answer(
        parsed,
        scope,
        "\n".join([lead, "", *lines]),
        found=True,
        citations=citations,
        townships=townships,
        not_mentioned=[],
    )


def without(
    engine: Engine, parsed: ParsedQuestion, scope: Scope, reports: list[StoredReport]
) -> Answer:
    """The reports in scope in which no asked-about section was found: there is nothing to
    quote, so the answer says it is about the section headings read at ingest."""
    # the measures come along with innovations and duty (`parse_question`); the section named
    # is the one to look for
    asked = [s for s in parsed.sections if s != "measures"] or parsed.sections
    labels = "、".join(SECTION_LABELS.get(s, s) for s in asked)
    lacking = [r for r in reports if not set(asked) & set(r.section_types)]
    if not lacking:
        text = f"{NOT_FOUND}：范围内 {len(reports)} 份报告都有“{labels}”部分。"
        return not_found(parsed, scope, text)
    names = report_labels(reports)
    lines = [
        report_bullet(names[r.id], r.meta.county, [year_label(r.meta.year), Path(r.source).name])
        for r in lacking[:WITHOUT_SHOWN]
    ]
    if len(lacking) > WITHOUT_SHOWN:
        lines.append(
            f"- ……另有 {len(lacking) - WITHOUT_SHOWN} 份（JSON 的 townships 字段列出全部）"
        )
    lead = (
        f"范围内 {len(reports)} 份报告中，{len(lacking)} 份没有找到单独的“{labels}”部分"
        "（按入库时识别的章节标题判断：可能没有写，也可能写在别的标题下，请用 `fazhi show` 核对全文）："
    )
    return make_answer(
        parsed,
        scope,
        "\n".join([lead, "", *lines]),
        found=True,
        citations=[],
        townships=[names[r.id] for r in lacking],
        not_mentioned=[],
    )
