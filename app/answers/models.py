"""What an answer is made of: citations into the reports, a verdict per report, the answer.

These are the JSON contract of `fazhi ask --json` and the web app's `ask` API: fields are added,
never renamed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Mode = Literal["extractive", "llm"]
Grade = Literal["明确提到", "相关", "未提及"]
MENTIONED: Grade = "明确提到"  # a sentence in the asked-about section states the claim
RELATED: Grade = "相关"  # on the topic, but not the specific claim (or not in that section)
NOT_MENTIONED: Grade = "未提及"  # nothing on the topic
GRADES: tuple[Grade, ...] = (MENTIONED, RELATED, NOT_MENTIONED)
# an answer marks citation n as [n]: patterns reading the markers back (the chat, the Markdown
# export, the LLM answer's sentence check) take this many digits (2,000 reports cite past [999])
MARKER_DIGITS = 6


@dataclass
class Citation:
    n: int
    township: str | None
    county: str | None
    province: str | None
    year: int | None
    section: str
    heading: str
    text: str  # exactly report.text[start:end]
    report_id: str
    source: str
    start: int
    end: int
    quote: str  # the key sentence inside the passage, exactly report.text[quote_start:quote_end]
    quote_start: int
    quote_end: int


@dataclass
class Verdict:
    """One report's grade on a corpus-wide question, decided from its own text alone."""

    report_id: str
    township: str  # as the answer names it (with the year when a township has several reports)
    county: str | None
    province: str | None
    year: int | None
    grade: Grade
    score: float  # how strongly its best passage says it (coverage of the topic's words + cosine)
    citation: int | None = None  # the `n` of its citation, for 明确提到 and 相关


@dataclass
class Related:
    """A township whose report is on the topic without stating the claim, and where it says so."""

    township: str
    report_id: str
    citation: int


@dataclass
class TownshipSupport:
    """One report's grade on a topic in some sections: a cell of the township × topic matrix."""

    township: str
    report_id: str
    year: int | None
    grade: Grade
    citation: Citation | None  # for 明确提到 and 相关

    @property
    def supported(self) -> bool:
        return self.grade == MENTIONED


@dataclass
class Answer:
    question: str
    kind: str
    mode: Mode
    answer: str
    found: bool
    townships: list[str]  # 明确提到
    not_mentioned: list[str]  # 未提及 (not the related ones)
    citations: list[Citation]
    filters: dict[str, Any]
    timings: dict[str, float]
    notice: str | None = None
    related: list[Related] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Progress:
    """A step of a streamed answer that takes a while: in LLM mode, how many of the candidate
    reports (明确提到 and 相关) the LLM has checked so far."""

    checked: int
    total: int

    @property
    def text(self) -> str:
        return f"大模型逐份核查：已核查 {self.checked}/{self.total}"
