"""The domain objects ingest produces: a report, its typed sections and its passages.

Offsets are [start, end) character positions into `Report.text`, the cleaned full text, so any
citation can be checked with `report.text[start:end] == passage.text`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

SectionType = Literal["measures", "problems", "plans", "innovations", "duty", "other"]
SECTION_TYPES: tuple[SectionType, ...] = (
    "measures",
    "problems",
    "plans",
    "innovations",
    "duty",
    "other",
)
SECTION_LABELS: dict[str, str] = {
    "measures": "举措成效",
    "problems": "存在问题",
    "plans": "下一步打算",
    "innovations": "创新做法",
    "duty": "第一责任人履职",
    "other": "其他",
}

ReportKind = Literal["annual_report", "duty_report", "self_inspection"]


@dataclass
class LoadedDocument:
    """Raw text pulled out of a file, before cleaning."""

    source: Path
    text: str
    format: str  # txt, md, docx, pdf, html
    encoding: str | None = None
    title_hint: str | None = None  # e.g. an HTML <title> or the article heading
    published_hint: str | None = None  # e.g. 发布日期 found in page furniture
    # Other places a web page names its report: breadcrumb trail, <meta> keywords/description,
    # og:title. Metadata reads them when the text itself has no title.
    page_clues: list[str] = field(default_factory=list)


@dataclass
class ReportMeta:
    township: str | None = None
    county: str | None = None
    city: str | None = None
    province: str | None = None
    year: int | None = None
    published: str | None = None  # ISO date, YYYY-MM-DD
    title: str | None = None
    kind: ReportKind = "annual_report"
    warnings: list[str] = field(default_factory=list)


@dataclass
class Section:
    type: SectionType
    heading: str  # the section's own heading line ('' for the preamble)
    start: int
    end: int


@dataclass
class Passage:
    id: str
    report_id: str
    ordinal: int
    section: SectionType
    heading_path: list[str]
    start: int
    end: int
    text: str


@dataclass
class Report:
    id: str  # derived from the cleaned text: same text, same id
    source: str
    format: str
    text: str
    meta: ReportMeta
    sections: list[Section]
    passages: list[Passage]

    @property
    def section_types(self) -> list[str]:
        seen: list[str] = []
        for section in self.sections:
            if section.type not in seen:
                seen.append(section.type)
        return seen
