"""The township × topic comparison: does each report raise a topic as a problem, as a measure?

Built only from `AnswerService.support`, so the comparison uses the same graded verdicts as
corpus-wide answers (明确提到 ✔, 相关 ～, 未提及 blank); the web app renders it with its totals
and charts (`app.charts`), and `app.export` writes it as CSV/XLSX.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from app.answers import MENTIONED, NOT_MENTIONED, RELATED, Grade
from app.answers.models import Citation, TownshipSupport
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


GRADE_MARKS: dict[Grade, str] = {MENTIONED: "✔", RELATED: "～", NOT_MENTIONED: ""}
Kind = Literal["problem", "measure"]  # listed as a problem; reported as a measure or innovation
KINDS: tuple[Kind, ...] = ("problem", "measure")
KIND_NAMES: dict[Kind, str] = {"problem": "存在问题", "measure": "举措"}


@dataclass
class CompareCell:
    problem: Citation | None = None  # the cited passage when the report lists it as a problem
    measure: Citation | None = None  # ...when it reports a measure or an innovation
    problem_grade: Grade | None = None  # None: read from `problem` (明确提到 or 未提及)
    measure_grade: Grade | None = None
    problem_related: Citation | None = None  # its on-topic passage when the grade is 相关
    measure_related: Citation | None = None

    def grade(self, kind: Kind) -> Grade:
        grade = getattr(self, f"{kind}_grade")
        if grade is not None:
            return grade
        return MENTIONED if getattr(self, kind) is not None else NOT_MENTIONED

    def set_grade(self, kind: Kind, grade: Grade, citation: Citation | None) -> None:
        """Grade `kind` and keep the passage behind it: stated (✔) or related (～)."""
        setattr(self, f"{kind}_grade", grade)
        if grade == MENTIONED:
            setattr(self, kind, citation)
        elif grade == RELATED:
            setattr(self, f"{kind}_related", citation)

    def citation(self, kind: Kind) -> Citation | None:
        """The passage behind the grade of `kind`: stated (✔) or related (～)."""
        return getattr(self, kind) or getattr(self, f"{kind}_related")

    @property
    def mentions(self) -> bool:
        """Anything on the topic, stated or related, as a problem or a measure."""
        return any(self.grade(k) != NOT_MENTIONED for k in KINDS)

    @property
    def label(self) -> str:
        parts = [name for kind, name in KIND_NAMES.items() if self.grade(kind) == MENTIONED]
        parts += [
            f"相关（{name}）" for kind, name in KIND_NAMES.items() if self.grade(kind) == RELATED
        ]
        return "；".join(parts) or "未提及"


@dataclass
class CompareRow:
    report_id: str
    township: str
    county: str | None
    province: str | None
    year: int | None
    cells: dict[str, CompareCell] = field(default_factory=dict)

    @property
    def mentions(self) -> bool:
        return any(cell.mentions for cell in self.cells.values())


@dataclass
class TopicTotals:
    """One topic's column summed: the matrix's totals row and its stacked bar chart.

    `problems` state it as a problem (✔), `measures` state measures on it (✔); the bar stacks
    `problems`, `measures_only` (measures, not a problem) and `related` (on the topic in some
    passage, stating neither), so it never counts a township twice."""

    topic: str
    reports: int = 0
    problems: int = 0
    measures: int = 0
    measures_only: int = 0
    related: int = 0

    @property
    def not_mentioned(self) -> int:
        return self.reports - self.problems - self.measures_only - self.related


@dataclass
class CompareMatrix:
    topics: list[str]
    rows: list[CompareRow]

    def totals(self) -> list[TopicTotals]:
        """Per topic: the totals row of the matrix (and the data of its stacked bar chart)."""
        out = []
        for topic in self.topics:
            t = TopicTotals(topic, reports=len(self.rows))
            for row in self.rows:
                cell = row.cells.get(topic) or CompareCell()
                problem, measure = cell.grade("problem"), cell.grade("measure")
                t.problems += problem == MENTIONED
                t.measures += measure == MENTIONED
                t.measures_only += measure == MENTIONED and problem != MENTIONED
                t.related += MENTIONED not in (problem, measure) and RELATED in (problem, measure)
            out.append(t)
        return out


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
        pairs: tuple[tuple[Kind, list[TownshipSupport]], ...] = (
            ("problem", problems),
            ("measure", measures),
        )
        for kind, support in pairs:
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
                row.cells.setdefault(topic, CompareCell()).set_grade(
                    kind, item.grade, item.citation
                )
    if progress:
        progress(len(topics), len(topics), "")
    ordered = sorted(rows.values(), key=lambda r: (r.province or "", r.township, r.year or 0))
    for row in ordered:
        for topic in topics:
            row.cells.setdefault(topic, CompareCell())
    return CompareMatrix(topics=list(topics), rows=ordered)
