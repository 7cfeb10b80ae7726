"""A lookup ("石桥镇有多少名法律明白人？"): one fact, quoted from the sentence that states it."""

from __future__ import annotations

import re
from typing import Any

from app.answers.citations import cite, inline, place
from app.answers.counts import ASKS_COUNT, states_count
from app.answers.engine import NOT_FOUND, Engine, make_answer, not_found
from app.answers.models import Answer
from app.question import ParsedQuestion
from app.retrieval import Hit, HybridRetriever, Topic
from ingest.model import SECTION_LABELS
from vectorstore import Scope

_CLAUSE_END = re.compile(r"[？?，,。；;！!]")


def answer(
    engine: Engine, parsed: ParsedQuestion, scope: Scope, vector: Any, topic: Topic
) -> Answer:
    """The best-supported passage, quoted; the next ones as related passages."""
    retriever = engine.retriever
    # scope.sections holds only the caller's explicit filter; the question's own section
    # wording does not narrow a lookup
    hits = retriever.search(
        vector, " ".join(topic.terms) or parsed.text, scope, k=5, per_report=3, topic=topic
    )
    # Missing words the corpus uses elsewhere mean "not here" (塘坊镇 has no 法律明白人);
    # words no report uses at all are the asker's paraphrase and are not held against a hit.
    # The township is named, so the best passage need not carry every heavy word.
    known = retriever.topic(topic.groups, known_only=True, require=False)

    asks_count = topic.cue is states_count
    what = _counted(retriever, parsed.text, known) if asks_count else None

    def support(hit: Hit) -> float:
        if not known or hit.sentence is None:
            return 0.0
        sentence = hit.key_sentence
        if asks_count and not states_count(sentence):
            return 0.0  # "多少人取得了执法证": a sentence without a number does not answer it
        if what and retriever.coverage(sentence, what, partial=False) < 0.5:
            # "多少起行政复议案件": a number of other 案件 does not answer it
            return 0.0
        return retriever.coverage(sentence, known, partial=False)

    best = max(hits, key=lambda h: (support(h), h.coverage, h.score), default=None)
    if best is None or support(best) < engine.rule.lookup_min_coverage:
        where = "、".join(scope.townships) if scope.townships else "所选范围"
        return not_found(
            parsed, scope, f"{NOT_FOUND}：{where}的报告里没有找到与“{parsed.core}”直接相关的内容。"
        )
    ordered = [best] + [h for h in hits if h is not best]
    citations = [cite(i + 1, h) for i, h in enumerate(ordered)]
    lead = citations[0]
    lines = [
        f"据{place(lead)}{lead.year or ''}年报告（{SECTION_LABELS.get(lead.section, lead.section)}）："
        f"“{inline(lead.quote)}” [1]"
    ]
    if len(citations) > 1:
        lines.append("")
        lines.append("相关段落：" + " ".join(f"[{c.n}]" for c in citations[1:]))
    return make_answer(
        parsed,
        scope,
        "\n".join(lines),
        found=True,
        citations=citations,
        townships=[lead.township] if lead.township else [],
        not_mentioned=[],
    )


def _counted(retriever: HybridRetriever, question: str, known: Topic) -> Topic | None:
    """The words for what a count question counts (多少起 → 行政处罚案件), if any."""
    ask = ASKS_COUNT.search(question)
    if ask is None:
        return None

    def groups_in(clause: str) -> list[tuple[str, ...]]:
        return [g for g in known.groups if any(w in clause for w in g)]

    groups = groups_in(_CLAUSE_END.split(question[ask.end() :], maxsplit=1)[0])
    if not groups:  # "行政复议案件有多少起": what is counted comes before the ask
        groups = groups_in(_CLAUSE_END.split(question[: ask.start()])[-1])[-2:]
    if not groups:
        return None
    return retriever.topic(groups, known_only=True, require=False)
