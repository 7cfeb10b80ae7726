"""What every kind of answer shares: the engine's parts, and the answer object built from them.

The service builds one `Engine`; each question kind is a function of it (`corpus.answer`,
`lookup.answer`, ...), so no kind reaches into another's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.answers.models import Answer, Citation
from app.answers.rule import DecisionRule
from app.question import ParsedQuestion
from app.retrieval import HybridRetriever
from vectorstore import PassageStore, Scope

NOT_FOUND = "资料中未找到"
CANNOT_READ = "无法回答"  # a question not read as asked (`question.wording_problem`)


@dataclass
class Engine:
    """The store, its retriever, the decision rule and (in LLM mode) the LLM."""

    store: PassageStore
    retriever: HybridRetriever
    rule: DecisionRule
    llm: Any | None = None


def make_answer(
    parsed: ParsedQuestion,
    scope: Scope,
    text: str,
    *,
    found: bool,
    citations: list[Citation],
    townships: list[str],
    not_mentioned: list[str],
) -> Answer:
    """An extractive answer to `parsed` in `scope`; the filters it reports include its sections."""
    filters = scope.describe()
    if parsed.sections:
        filters["sections"] = parsed.sections
    return Answer(
        question=parsed.text,
        kind=parsed.kind,
        mode="extractive",
        answer=text,
        found=found,
        townships=townships,
        not_mentioned=not_mentioned,
        citations=citations,
        filters=filters,
        timings={},
    )


def not_found(parsed: ParsedQuestion, scope: Scope, text: str) -> Answer:
    """An answer that found nothing, saying why in `text`."""
    return make_answer(
        parsed, scope, text, found=False, citations=[], townships=[], not_mentioned=[]
    )
