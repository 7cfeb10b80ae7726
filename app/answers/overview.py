"""A section without a topic ("西联镇存在什么问题？"): the first passages of that section, per report."""

from __future__ import annotations

from app.answers.citations import cite, inline, report_labels, year_label
from app.answers.engine import NOT_FOUND, Engine, make_answer, not_found
from app.answers.listing import OVERVIEW_PASSAGES, OVERVIEW_REPORTS, overflow
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
            lines.append(
                f"- **{names[report.id]}**（{c.county or '县区未知'}，{year_label(c.year)}，"
                f"{labels}）：“{inline(c.quote)}” {markers}"
            )
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
