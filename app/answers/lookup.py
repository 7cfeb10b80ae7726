"""A lookup ("石桥镇有多少名法律明白人？"): one fact, quoted from the sentence that states it."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from app.answers.citations import cite, inline, place
from app.answers.counts import ASKS_COUNT, CountInRange, states_count
from app.answers.engine import NOT_FOUND, Engine, make_answer, not_found
from app.answers.models import Answer, Citation
from app.question import ParsedQuestion, sections_asked, topic_phrase
from app.retrieval import Hit, HybridRetriever, Topic
from app.sentences import quotable_spans, section_title
from ingest.model import SECTION_LABELS
from vectorstore import Scope

_CLAUSE_END = re.compile(r"[？?，,。；;！!]")


@dataclass
class _Found:
    """What a lookup found in one scope: its passages, best first (none: nothing on the topic),
    and a note on where it looked that the answer says first."""

    hits: list[Hit]
    note: str = ""


def answer(
    engine: Engine,
    parsed: ParsedQuestion,
    scope: Scope,
    vector: Any,
    topic: Topic,
    absent: dict[str, str] | None = None,
) -> Answer:
    """The best-supported passage, quoted; the next ones as related passages. A question
    naming several townships ("王场镇和塘坊镇各有多少名执法人员？") gets each one's; `absent`:
    those of them with no report in scope, and why (said instead of a search)."""
    absent = absent or {}
    phrase = topic_phrase(parsed.core)
    if len(scope.townships) < 2:
        found = _look(engine, parsed, scope, vector, topic)
        if not found.hits:
            where = "、".join(scope.townships) if scope.townships else "所选范围"
            return not_found(parsed, scope, f"{NOT_FOUND}：{_nothing(where, phrase)}")
        citations = [cite(i + 1, h) for i, h in enumerate(found.hits)]
        lines = [*([found.note, ""] if found.note else []), _said(citations[0])]
        return _answered(parsed, scope, lines, citations, [citations[0]])
    asked = sorted(scope.townships, key=lambda t: _written_at(parsed.text, t))
    each = {
        t: _look(engine, parsed, replace(scope, townships=[t]), vector, topic)
        if t not in absent
        else _Found([], absent[t])
        for t in asked
    }
    if not any(f.hits for f in each.values()):
        searched = [t for t in asked if t not in absent]
        said = [absent[t] for t in asked if t in absent]
        if searched:
            said.insert(0, _nothing("、".join(searched), phrase, every=True))
        return not_found(parsed, scope, f"{NOT_FOUND}：{''.join(said)}")
    # each township's best passage first, in the order asked; then the rest
    leads = [f.hits[0] for f in each.values() if f.hits]
    rest = [h for f in each.values() for h in f.hits[1:]]
    citations = [cite(i + 1, h) for i, h in enumerate([*leads, *rest])]
    by_lead = iter(citations)
    lines = []
    for township, found in each.items():
        if not found.hits:
            lines.append(found.note or _nothing(township, phrase))
            continue
        if found.note:
            lines.append(found.note)
        lines.append(_said(next(by_lead)))
    return _answered(parsed, scope, lines, citations, citations[: len(leads)])


def _nothing(where: str, phrase: str, *, every: bool = False) -> str:
    """What a lookup says of reports with nothing on its topic."""
    return f"{where}的报告里{'都' if every else ''}没有找到与“{phrase}”直接相关的内容。"


def _written_at(question: str, township: str) -> int:
    """Where the question names the township (its short form too: 王场 for 王场镇)."""
    for name in (township, township[:-1]):
        if (at := question.find(name)) >= 0:
            return at
    return len(question)


def _said(c: Citation) -> str:
    """A lookup's answer line: where the citation is from, and its quote."""
    return (
        f"据{place(c)}{f'{c.year}年' if c.year else ''}报告"
        f"（{SECTION_LABELS.get(c.section, c.section)}）：“{inline(c.quote)}” [{c.n}]"
    )


def _answered(
    parsed: ParsedQuestion,
    scope: Scope,
    lines: list[str],
    citations: list[Citation],
    leads: list[Citation],
) -> Answer:
    """The lookup's answer: `lines`, then the further citations, offered for checking."""
    others = citations[len(leads) :]
    if others:
        # what else the search found: for checking, not part of the answer
        marks = " ".join(f"[{c.n}]" for c in others)
        lines = [*lines, "", f"检索到的其他段落（供核对，未必相关）：{marks}"]
    return make_answer(
        parsed,
        scope,
        "\n".join(lines),
        found=True,
        citations=citations,
        townships=list(dict.fromkeys(c.township for c in leads if c.township)),
        not_mentioned=[],
    )


def _look(
    engine: Engine, parsed: ParsedQuestion, scope: Scope, vector: Any, topic: Topic
) -> _Found:
    """The passages answering the lookup in `scope`. A question asking about the plans or the
    problems ("石柱县下一步打算怎么加强普法？") is answered from them; when they say nothing on
    it, from the rest of the report, saying so."""
    # a measure's wording ("开展", "建立") is how reports write plans too: it narrows nothing
    asked = sections_asked(parsed)
    if scope.sections or not asked:
        return _Found(_best(engine, parsed, scope, vector, topic))  # the caller's filter, or none
    hits = _best(engine, parsed, replace(scope, sections=asked), vector, topic)
    if hits:
        return _Found(hits)
    hits = _best(engine, parsed, scope, vector, topic)
    where = "、".join(scope.townships) or "所选范围内"
    parts = "、".join(f"“{SECTION_LABELS.get(s, s)}”" for s in asked)
    note = (
        f"{where}报告的{parts}部分没有找到与“{topic_phrase(parsed.core)}”直接相关的内容；"
        "以下引自报告的其他部分。"
    )
    return _Found(hits, note if hits else "")


def _best(
    engine: Engine, parsed: ParsedQuestion, scope: Scope, vector: Any, topic: Topic
) -> list[Hit]:
    """The passages of `scope` on the lookup's topic, best-supported first; none if no passage
    holds enough of it."""
    retriever = engine.retriever
    hits = retriever.search(
        vector, " ".join(topic.terms) or parsed.text, scope, k=5, per_report=3, topic=topic
    )
    # Missing words the corpus uses elsewhere mean "not here" (塘坊镇 has no 法律明白人);
    # words no report uses at all are the asker's paraphrase and are not held against a hit.
    # The township is named, so the best passage need not carry every heavy word.
    # the question's setting as the topic read it (`Topic.setting`), not cut from it again
    setting = " ".join(w for g in sorted(topic.setting) for w in topic.groups[g])
    known = retriever.topic(topic.groups, known_only=True, require=False, setting=setting)

    # a count asked ("多少次"), or one the question gives ("三百多次"): a sentence with a count in
    # its range first, but one with another ("两百多名" of 159) still answers it
    given = topic.cue if isinstance(topic.cue, CountInRange) else None
    asks_count = topic.cue is states_count or given is not None
    what = _counted(retriever, parsed.text, known) if asks_count else None
    # a count said in a passage on the topic, in a sentence of its own ("镇域综合行政执法大队
    # 进行实体化建设…；统筹执法力量，16名执法队员均持证上岗"): when that sentence names all of
    # what is counted, the passage's sentence on the topic speaks for it
    lent: list[float] = [0.0] * len(hits)
    if what is not None:
        for k, hit in enumerate(hits):
            stated = _stating_count(retriever, hit, what)
            if stated is not hit:
                if retriever.coverage(stated.key_sentence, what, partial=False) >= 1.0:
                    lent[k] = retriever.coverage(hit.key_sentence, known, partial=False)
                hits[k] = stated

    def support(k: int) -> float:
        hit = hits[k]
        if not known or hit.sentence is None:
            return 0.0
        sentence = hit.key_sentence
        if asks_count and not states_count(sentence):
            return 0.0  # "多少人取得了执法证": a sentence without a number does not answer it
        if what and not _counts(retriever, sentence, what):
            # "多少起行政复议案件": a number of other 案件 does not answer it
            return 0.0
        return max(retriever.coverage(sentence, known, partial=False), lent[k])

    def counted_in_clause(k: int) -> bool:
        sentence = hits[k].key_sentence
        return bool(what and sentence and _counts_in_clause(retriever, sentence, what))

    floor = engine.rule.lookup_min_coverage
    top = max(
        range(len(hits)),
        # a count given in the clause naming what is counted first, among those supported
        key=lambda k: (
            support(k) >= floor,
            given is not None and given(hits[k].key_sentence or ""),
            counted_in_clause(k),
            support(k),
            hits[k].coverage,
            hits[k].score,
        ),
        default=None,
    )
    if top is None or support(top) < floor:
        return []
    return [hits[top]] + [h for k, h in enumerate(hits) if k != top]


def _stating_count(retriever: HybridRetriever, hit: Hit, what: Topic) -> Hit:
    """The hit quoting its sentence that gives the number of what is counted (“16名执法队员”),
    when the sentence covering the topic best gives another number (“500㎡”) or none; its
    coverage (the passage's, for ranking) stays."""
    sentence = hit.key_sentence
    if sentence and states_count(sentence) and _counts(retriever, sentence, what):
        return hit
    text, base = hit.passage.text, int(hit.passage.meta["start"])
    counting = [
        (retriever.coverage(text[a:b], what, partial=False), a, b)
        for a, b, _ in quotable_spans(text, section_title(hit.passage.meta))
        if states_count(text[a:b]) and _counts(retriever, text[a:b], what)
    ]
    if not counting:
        return hit
    _, a, b = max(counting, key=lambda c: c[0])  # the first of equals
    return replace(hit, sentence=(base + a, base + b))


def _counts(retriever: HybridRetriever, sentence: str, what: Topic) -> bool:
    """Whether the sentence names what is counted (at least half of its words)."""
    return retriever.coverage(sentence, what, partial=False) >= 0.5


def _counts_in_clause(retriever: HybridRetriever, sentence: str, what: Topic) -> bool:
    """Whether one clause gives the number and names what is counted: "现有执法人员23名"
    surely counts 执法人员; "加强执法人员培训，每季度组织一次执法业务培训" may count trainings
    (but "开展“小散乱污”专项整治行动，共整改取缔15家" counts in the clause after its noun)."""
    return any(
        states_count(clause) and _counts(retriever, clause, what)
        for clause in _CLAUSE_END.split(sentence)
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
