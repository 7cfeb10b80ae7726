"""The township × topic comparison: does each report raise a topic as a problem, as a measure?

Built only from `AnswerService.support`, so the comparison uses the same decision rule as
corpus-wide answers; the web app renders it and `app.export` writes it as CSV/XLSX.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from app.answers.models import Citation
from app.answers.service import AnswerService, Filters
from ingest.errors import FazhiError

TOPIC_PRESETS: tuple[str, ...] = (
    "执法能力",
    "普法宣传",
    "法律顾问",
    "矛盾纠纷化解",
    "合法性审查",
    "政务公开",
    "队伍建设",
    "信访",
    "法律明白人",
    "网格化管理",
)
PROBLEM_SECTIONS = ["problems"]
MEASURE_SECTIONS = ["measures", "innovations"]
MAX_TOPICS = 12
MAX_TOPIC_CHARS = 20
_SPLIT = re.compile(r"[,，、;；\s]+")


@dataclass
class CompareCell:
    problem: Citation | None = None  # the cited passage when the report lists it as a problem
    measure: Citation | None = None  # ...when it reports a measure or an innovation

    @property
    def label(self) -> str:
        parts = [name for name, c in (("存在问题", self.problem), ("举措", self.measure)) if c]
        return "；".join(parts) or "未提及"


@dataclass
class CompareRow:
    report_id: str
    township: str
    county: str | None
    province: str | None
    year: int | None
    cells: dict[str, CompareCell] = field(default_factory=dict)


@dataclass
class CompareMatrix:
    topics: list[str]
    rows: list[CompareRow]


def parse_topics(selected: list[str] | None, typed: str | None) -> list[str]:
    """Preset topics plus typed ones (comma/space separated), deduplicated, in order."""
    topics: list[str] = []
    for topic in [*(selected or []), *_SPLIT.split(typed or "")]:
        topic = topic.strip()
        if topic and topic not in topics:
            if len(topic) > MAX_TOPIC_CHARS:
                raise FazhiError(f"主题“{topic[:MAX_TOPIC_CHARS]}…”太长，请用简短的词语。")
            topics.append(topic)
    if not topics:
        raise FazhiError("请至少选择或输入一个主题。")
    if len(topics) > MAX_TOPICS:
        raise FazhiError(f"一次最多对比 {MAX_TOPICS} 个主题。")
    return topics


def compare(
    service: AnswerService,
    topics: list[str],
    filters: Filters | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> CompareMatrix:
    """One row per report in scope, one cell per topic."""
    reports = {r.id: r for r in service.store.list_reports()}
    rows: dict[str, CompareRow] = {}
    for i, topic in enumerate(topics):
        if progress:
            progress(i, len(topics), topic)
        problems = service.support(topic, PROBLEM_SECTIONS, filters)
        measures = service.support(topic, MEASURE_SECTIONS, filters)
        for kind, support in (("problem", problems), ("measure", measures)):
            for item in support:
                row = rows.get(item.report_id)
                if row is None:
                    meta = reports[item.report_id].meta if item.report_id in reports else None
                    row = rows[item.report_id] = CompareRow(
                        report_id=item.report_id,
                        township=item.township,
                        county=meta.county if meta else None,
                        province=meta.province if meta else None,
                        year=item.year,
                    )
                cell = row.cells.setdefault(topic, CompareCell())
                if item.supported and item.citation is not None:
                    setattr(cell, kind, item.citation)
    if progress:
        progress(len(topics), len(topics), "")
    ordered = sorted(rows.values(), key=lambda r: (r.province or "", r.township, r.year or 0))
    for row in ordered:
        for topic in topics:
            row.cells.setdefault(topic, CompareCell())
    return CompareMatrix(topics=list(topics), rows=ordered)
