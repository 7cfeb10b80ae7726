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
# Where a metadata field was read: a user's sidecar or manifest row, the report's title, the web
# page around it (<title>, breadcrumb, meta tags), its body, its signature, its file or folder
# name, its publication date, the gazetteer (a county from its township), or a user's edit
# (`fazhi meta`, the web app's 报告 tab).
FieldSource = Literal[
    "edited",
    "sidecar",
    "manifest",
    "title",
    "page",
    "body",
    "signature",
    "file name",
    "folder",
    "published",
    "gazetteer",
]
# sure: stated where it belongs (a title) or given by the user; likely: read from a weaker clue
# (body, file name) or inferred; uncertain: a guess a person should check (needs review).
Certainty = Literal["sure", "likely", "uncertain"]


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
    # Where each field was read (FieldSource) and how sure that reading is (Certainty), by field
    # name: {"township": "title", "county": "gazetteer", ...}, {"township": "sure", ...}.
    sources: dict[str, str] = field(default_factory=dict)
    certainty: dict[str, str] = field(default_factory=dict)

    @property
    def needs_review(self) -> bool:
        """The township or year is unknown, or some field could not be settled for sure."""
        if not self.township or not self.year:
            return True
        return any(value == "uncertain" for value in self.certainty.values())

    @property
    def review_reason(self) -> str:
        """Why it needs review, in short: each warning's first clause ("" if it does not)."""
        if not self.needs_review:
            return ""
        reasons = "; ".join(w.split(";")[0] for w in self.warnings)
        return reasons or "township or year unknown or uncertain"


UNIDENTIFIED = "未识别乡镇"


def township_label(township: str | None, source: str | Path) -> str:
    """How a report's township is shown: its name, or 未识别乡镇（石桥2023.docx）, naming the file
    rather than a guess, when metadata could not identify it."""
    if township:
        return township
    name = Path(source).name if source else ""
    return f"{UNIDENTIFIED}（{name}）" if name else UNIDENTIFIED


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
