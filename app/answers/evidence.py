"""The evidence for a question about many reports: its topic words, and each report's best passages.

Every report's passages are gathered on their own (`gather`), so what one report holds never
changes what is found in another.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from app.answers.counts import (
    ASKED_COUNT_NOUN,
    asks_count,
    given_count,
    states_count,
)
from app.answers.engine import Engine
from app.answers.full_coverage import asks_full_coverage, states_full_coverage
from app.answers.rule import DecisionRule
from app.candidates import Candidates
from app.question import ASKING_WORD, FRAMING_WORDS, ParsedQuestion, setting_of
from app.retrieval import INTENT_WORDS, SHORTFALL, Hit, HybridRetriever, Topic
from vectorstore import Scope

PerReport = Mapping[str, list[Hit]]  # report id → its best passages
Evidence = dict[str, Hit]  # report id → the passage whose key sentence covers the topic best
# "由书记当组长", "谁担任主任": a role given to someone; a sentence naming the person without the
# role ("党委书记靠前指挥") does not say who holds it
_ASKED_ROLE = re.compile(r"[当任]了?(副?组长|主任|队长|站长|所长)")
# a name the asker quotes ("“三官一律”进村", "‘法治小院’"): one thing, asked by that name
_EXAMPLE_BEFORE = re.compile(r"比如|例如|譬如|诸如|像是?|类似|之类|这类|[、，,]$")
_EXAMPLE_AFTER = re.compile(r"[、，,]|等|这类|之类|这种|一类")
_QUOTED_NAME = re.compile(r"[“‘\"「]([\u4e00-\u9fff]{2,8})[”’\"」]")


def question_topic(
    retriever: HybridRetriever,
    parsed: ParsedQuestion,
    *,
    known_only: bool = False,
    require: bool = True,
    grading: bool | None = None,
) -> Topic:
    """The words that carry the question's topic, without words that only restate its section.

    `grading`: the topic grades many reports (a corpus-wide question, the 对比 matrix), so a
    compound is said only by parts that spell it out; by default, any question but a lookup.
    """
    given = given_count(parsed.text)  # "一百五十多名", "超过了一百件": a count in that range
    counting = given is not None or asks_count(parsed.text)
    core = ASKED_COUNT_NOUN.sub(" ", parsed.core) if counting else parsed.core
    if given is not None:
        core = core.replace(given.phrase, " ")
    tokenizer = retriever.tokenizer
    groups = [
        kept
        for group in tokenizer.word_groups(core, drop=INTENT_WORDS | FRAMING_WORDS)
        if (kept := tuple(w for w in group if not ASKING_WORD.search(w)))
    ]
    cue = None
    if parsed.sections == ["problems"]:
        cue = SHORTFALL.search
    elif given is not None:
        cue = given
    elif counting:
        # "多少件信访", "给出了案件数量": the sentence with the count, not the one naming the work
        cue = states_count
    elif asks_full_coverage(parsed.core):
        # "每个村都有法律顾问": the sentence saying every village has one, not one naming it
        cue = states_full_coverage
    return retriever.topic(
        groups,
        known_only=known_only,
        require=require,
        cue=cue,
        spelled_out_only=parsed.kind != "lookup" if grading is None else grading,
        setting=setting_of(tokenizer, parsed.text),
        must=_ASKED_ROLE.findall(parsed.text),
        names=_quoted_names(parsed.text),
    )


def _quoted_names(question: str) -> list[str]:
    """The names the asker quotes ("“三官一律”进村"); a quoted example ("比如“和事佬”",
    "“…”、“…”这类") is one way of saying what is asked, not its name."""
    return [
        m.group(1)
        for m in _QUOTED_NAME.finditer(question)
        if not _EXAMPLE_BEFORE.search(question[max(0, m.start() - 6) : m.start()])
        and not _EXAMPLE_AFTER.match(question[m.end() :])
    ]


def gather(
    engine: Engine,
    vector: Any,
    query_text: str,
    scope: Scope,
    topic: Topic,
    *,
    leave_out: Collection[str] = (),
) -> tuple[Candidates, Evidence]:
    """Each report's best passages, and the one whose key sentence covers the topic best;
    none for the reports in `leave_out` (already graded: the others' are the same)."""
    rule = engine.rule
    per_report = engine.retriever.best_per_report(
        vector,
        query_text,
        scope,
        topic,
        per_report=rule.per_report,
        coverage_floor=min(rule.min_coverage, rule.related_coverage),
        leave_out=leave_out,
    )
    evidence = per_report.best(per_report.marks.coverage, per_report.dense)
    return per_report, evidence


def closeness(hit: Hit, rule: DecisionRule) -> float:
    """How close a passage is in meaning: cosine, plus a little of its BM25 share."""
    return hit.dense + rule.meaning_lexical_weight * hit.lexical


def closest(per_report: PerReport, rule: DecisionRule) -> Evidence:
    """Each report's passage closest in meaning to the question."""
    if isinstance(per_report, Candidates):  # every report's at once
        return per_report.closest(rule.meaning_lexical_weight)
    return {
        rid: max(hits, key=lambda h: closeness(h, rule)) for rid, hits in per_report.items() if hits
    }
