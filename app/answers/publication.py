"""When a report was published ("报告是哪天发布的？"): a fact of its metadata, not of its text."""

from __future__ import annotations

import re
from pathlib import Path

from app.answers.citations import cite, report_labels
from app.answers.engine import Engine, make_answer
from app.answers.listing import OVERVIEW_REPORTS, overflow, report_bullet
from app.answers.models import Answer, Citation
from app.question import ParsedQuestion
from app.retrieval import Hit
from vectorstore import Scope, StoredReport

# "哪天发布的", "发布日期": asked of the report itself, answered from its metadata
ASKS_PUBLISHED = re.compile(
    r"报告.{0,8}(?:(?:哪天|哪一天|什么时候|何时|哪个月|几月几[日号]|几号)(?:发布|公布|公开|印发|发出|上网|出)"
    r"|(?:发布|公布|公开|印发)(?:的)?(?:日期|时间)|(?:发布|公布)于(?:何时|哪天))"
    r"|(?:发布|公布|公开|印发)(?:的)?(?:日期|时间).{0,6}报告"
)


def answer(
    engine: Engine, parsed: ParsedQuestion, scope: Scope, reports: list[StoredReport]
) -> Answer:
    """When each report was published: the date ingest read from its page header, web page
    or signature (cleaning drops a header's date line), cited at the report's title."""
    names = report_labels(reports)
    citations: list[Citation] = []
    lines: list[str] = []
    dated: list[str] = []
    for report in reports[:OVERVIEW_REPORTS]:
        passages = engine.store.passages(Scope(report_ids=[report.id]))
        if not passages:
            continue
        first = min(passages, key=lambda p: int(p.meta["start"]))
        citations.append(cite(len(citations) + 1, Hit(first, 0.0, 0.0, 0.0)))
        meta = report.meta
        when = f"发布日期 {meta.published}" if meta.published else "原文件未载明发布日期"
        if meta.published:
            dated.append(names[report.id])
        which = f"{meta.year}年度报告" if meta.year else "年份未知的报告"
        tail = f"：{when}（{Path(report.source).name}）[{len(citations)}]"
        lines.append(report_bullet(names[report.id], meta.county, [which], tail))
    lead = "发布日期取自原文件的页眉、网页信息或落款日期（页眉的日期行不在清洗后的正文里）："
    lead += overflow(reports)
    return make_answer(
        parsed,
        scope,
        "\n".join([lead, "", *lines]),
        found=bool(dated),
        citations=citations,
        townships=list(dict.fromkeys(dated)),
        not_mentioned=[],
    )
