"""The answering service's old address: the engine now lives in `app.answers` (one module per step).

Kept so code that imports from here keeps working; new code imports from `app.answers.*`.
"""

from __future__ import annotations

from app.answers.citations import report_labels
from app.answers.counts import states_count
from app.answers.engine import NOT_FOUND, Engine
from app.answers.evidence import question_topic
from app.answers.listing import OVERVIEW_PASSAGES, OVERVIEW_REPORTS
from app.answers.models import (
    GRADES,
    MENTIONED,
    NOT_MENTIONED,
    RELATED,
    Answer,
    Citation,
    Grade,
    Related,
    TownshipSupport,
    Verdict,
)
from app.answers.practice import practice_names as _practice_names
from app.answers.rule import DecisionRule
from app.answers.service import AnswerService, Filters
from app.answers.verdicts import MEANING_QUOTES

__all__ = [
    "GRADES",
    "MEANING_QUOTES",
    "MENTIONED",
    "NOT_FOUND",
    "NOT_MENTIONED",
    "OVERVIEW_PASSAGES",
    "OVERVIEW_REPORTS",
    "RELATED",
    "Answer",
    "AnswerService",
    "Citation",
    "DecisionRule",
    "Engine",
    "Filters",
    "Grade",
    "Related",
    "TownshipSupport",
    "Verdict",
    "_practice_names",
    "question_topic",
    "report_labels",
    "states_count",
]
