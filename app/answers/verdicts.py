"""Grading each report on a corpus-wide question: 明确提到, 相关 or 未提及, from its own passages.

`decide` finds the reports that state the claim, `relate` those on its topic, `judge` (LLM mode)
re-reads both lists report by report, and `verdict_list` is every report with its grade. The
thresholds are the engine's `DecisionRule`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from app.answers.counts import CountInRange, states_count
from app.answers.engine import Engine
from app.answers.evidence import Evidence, PerReport, closest
from app.answers.evidence import closeness as closeness_of
from app.answers.full_coverage import states_full_coverage
from app.answers.judging import ProgressFn, judge_reports
from app.answers.models import GRADES, MENTIONED, NOT_MENTIONED, RELATED, Grade, Verdict
from app.question import ParsedQuestion
from app.retrieval import Hit, Topic
from ingest.model import SECTION_LABELS
from vectorstore import StoredReport

# every section's passages and evidence, given the reports graded already, which it need not
# include (`relate` skips them)
Elsewhere = Callable[[set[str]], tuple[PerReport, Evidence]]
_CLAUSES = re.compile(r"[，,；;。：:]")
MEANING_QUOTES = 12  # reports supported by meaning quoted at their closest sentence (embedded)
NAMED_IN_NOTICE = 10  # townships a notice names; it counts the rest


def decide(
    engine: Engine,
    evidence: Evidence,
    per_report: PerReport,
    vector: Any,
    topic: Topic,
    *,
    quote_by_meaning: bool = True,
) -> list[str]:
    """Reports that state the claim (明确提到), by words or by meaning (see `DecisionRule`).

    A report stating it by meaning only gets, as its evidence, its closest passage
    (`evidence` is updated in place). With `quote_by_meaning`, the first MEANING_QUOTES of
    those are quoted at the sentence closest to the question (embedded now); the rest at
    their best-covering sentence.

    A question naming, in quotes, something no report names ("“三官一律”进村") asks about
    what the reports do not contain: no report states it, by words or by meaning (a word of
    the name is met only by a report word near it: 三是 for 三官); reports on its topic are
    相关.
    """
    if topic.unused_names:
        return []
    by_words = [
        rid for rid in decide_by_words(engine, evidence) if states(engine, evidence[rid], topic)
    ]
    by_meaning = decide_by_meaning(engine, per_report, by_words, topic)
    engine.retriever.mark_best_sentences(list(by_meaning.values()), topic)
    for rid, hit in list(by_meaning.items()):
        # nor is the role asked ("由谁当组长") left unsaid, however close the passage
        if not states(engine, hit, topic) or (topic.must and not hit.coverage):
            del by_meaning[rid]
    evidence.update(by_meaning)
    if quote_by_meaning:
        closest_first = sorted(by_meaning.values(), key=lambda h: -h.dense)[:MEANING_QUOTES]
        engine.retriever.mark_closest_sentences(closest_first, vector)
    return [*by_words, *by_meaning]


def decide_by_words(engine: Engine, evidence: Evidence) -> list[str]:
    """Reports whose key sentence holds enough of the topic's words, in a close passage."""
    rule = engine.rule
    return [
        rid
        for rid, h in evidence.items()
        if h.coverage >= rule.min_coverage
        # a sentence holding every word of the topic says it, however the rest of its
        # passage reads ("…调解员、网格员作用，组织司法所…排查矛盾纠纷" mentions 网格员)
        and (h.dense >= rule.dense_floor or h.coverage >= rule.full_coverage)
    ]


# what a key sentence must say for a claim, besides the topic's words, by the topic's cue
_CLAIMS: dict[object, Callable[[str, Topic], bool]] = {
    states_count: lambda sentence, _: states_count(sentence),
    states_full_coverage: states_full_coverage,
}


def _states_given_count(sentence: str, topic: Topic) -> bool:
    """A clause of the sentence gives a count in the range asked, next to a word of the topic
    (not "全镇共配备159名法律明白人" for "超过一百名村法律顾问" in the clause after it)."""
    return any(
        topic.cue(clause) and any(word in clause for words in topic.needles for word in words)
        for clause in _CLAUSES.split(sentence)
    )


def states(engine: Engine, hit: Hit, topic: Topic) -> bool:
    """Whether the passage's key sentence says what the question asks of it: for a question
    asking for a count ("给出了案件数量", "具体场次"), a sentence on the topic that holds one; for
    one asking whether every village has something, a sentence saying so (全覆盖). A report
    naming the work without its number, or without its reach, is related, not 明确提到; for
    one giving a number ("一百五十多名"), a sentence holding a count in its range."""
    given = isinstance(topic.cue, CountInRange)
    says = _states_given_count if given else _CLAIMS.get(topic.cue)
    if says is None:
        return True
    sentence = hit.key_sentence
    return says(sentence, topic) and (
        engine.retriever.coverage(sentence, topic, partial=False) >= engine.rule.min_coverage
    )


def decide_by_meaning(
    engine: Engine, per_report: PerReport, by_words: list[str], topic: Topic
) -> dict[str, Hit]:
    """Further reports with a passage very close in meaning that shares the question's words."""
    rule = engine.rule
    if engine.retriever.known_share(topic) < rule.meaning_known_share:
        return {}
    decided = set(by_words)
    return {
        rid: hit
        for rid, hit in closest(per_report, rule).items()
        if rid not in decided
        and closeness_of(hit, rule) >= rule.meaning_floor
        and hit.lexical >= rule.meaning_lexical
    }


def relate(
    engine: Engine,
    per_report: PerReport,
    evidence: Evidence,
    mentioned: list[str],
    elsewhere: Elsewhere | None,
    topic: Topic,
    *,
    closeness: float | None = None,
) -> dict[str, Hit]:
    """Reports on the topic that do not state the claim (相关), each with its passage.

    `elsewhere` gathers every section's passages, for a question asking about some sections
    (a problems question's topic met only among the measures is related, not 未提及); it is
    given the reports graded already, whose passages it need not gather.
    """
    rule = engine.rule
    decided = set(mentioned)
    related: dict[str, Hit] = {}

    def on_topic(hits: PerReport, best: Evidence, floor: float) -> None:
        close: list[Hit] = []  # related by meaning, quoted at their best sentence
        for rid, nearest in closest(hits, rule).items():
            if rid in decided or rid in related:
                continue
            hit = best.get(rid)
            if hit is not None and hit.coverage >= rule.related_coverage:
                related[rid] = hit
            elif closeness_of(nearest, rule) >= floor:
                close.append(nearest)
                related[rid] = nearest
        engine.retriever.mark_best_sentences(close, topic)

    on_topic(per_report, evidence, closeness or rule.related_closeness)
    if elsewhere is not None:
        on_topic(*elsewhere(decided | set(related)), closeness or rule.related_elsewhere)
    return related


def near(
    engine: Engine, per_report: PerReport, mentioned: list[str], related: dict[str, Hit]
) -> dict[str, Hit]:
    """LLM mode: reports graded 未提及 with a passage in the asked-about sections at least
    `judge_closeness` close, each with that passage, for the LLM to judge too."""
    graded = set(mentioned) | set(related)
    floor = engine.rule.judge_closeness
    return {
        rid: hit
        for rid, hit in closest(per_report, engine.rule).items()
        if rid not in graded and closeness_of(hit, engine.rule) >= floor
    }


def judge(
    engine: Engine,
    parsed: ParsedQuestion,
    evidence: Evidence,
    mentioned: list[str],
    related: dict[str, Hit],
    vector: Any,
    topic: Topic,
    labels: dict[str, str],
    *,
    near: dict[str, Hit] | None = None,
    close: PerReport | None = None,
    progress: ProgressFn | None = None,
) -> tuple[list[str], dict[str, Hit], str | None]:
    """LLM mode: the LLM judges every 明确提到 and 相关 report, then the `near` ones (at most
    `judge_max` in all, strongest first), each on its own passages (its evidence, then its
    other `close` ones, at most `judge_passages`), in batches: a report with a passage the LLM
    says states the claim is 明确提到, cited there; the rest keep 相关 (a 明确提到 one becomes
    相关; a near one stays 未提及). Reports beyond the cap, and those of a batch whose reply
    could not be read, keep their extractive grade; the notice says so. `progress` is told how
    many reports are checked as batches come back.
    """
    decided = set(mentioned)
    close = close or {}
    near = near or {}

    def hit_of(rid: str) -> Hit:
        if rid in decided:
            return evidence[rid]
        return related[rid] if rid in related else near[rid]

    def strength(rid: str) -> float:
        return -(hit_of(rid).coverage + hit_of(rid).dense)

    candidates = [
        *sorted(mentioned, key=strength),
        *sorted(related, key=strength),
        *sorted(near, key=strength),
    ]
    shown = {
        rid: _unique_passages([hit_of(rid), *close.get(rid, [])], engine.rule.judge_passages)
        for rid in candidates[: engine.rule.judge_max]
    }
    sections = "、".join(SECTION_LABELS.get(s, s) for s in parsed.sections) or "全文"

    def label(hit: Hit) -> str:
        section = SECTION_LABELS.get(str(hit.passage.meta.get("section")), "")
        return f"{labels.get(hit.report_id, hit.report_id)}（{section}）：{hit.passage.text}"

    judged = judge_reports(engine.llm, parsed.text, sections, shown, decided, label, progress)
    unread = judged.unread
    stated = [rid for rid in shown if rid in judged.stated or (rid in unread and rid in decided)]
    promoted = []
    for rid in stated:
        hit = judged.stated.get(rid, hit_of(rid))
        if hit is not hit_of(rid) or rid in near:  # a near one's sentence is not marked yet
            engine.retriever.mark_best_sentence(hit, topic)
        if rid not in decided:
            promoted.append(hit)
            related.pop(rid, None)
        evidence[rid] = hit
    engine.retriever.mark_closest_sentences(promoted[:MEANING_QUOTES], vector)
    shown_ids, stated_ids = set(shown), set(stated)  # thousands mentioned at scale
    demoted = [rid for rid in mentioned if rid in shown_ids and rid not in stated_ids]
    for rid in demoted:
        related[rid] = evidence[rid]
    beyond = [rid for rid in mentioned if rid not in shown_ids]
    notices = []
    graded = len(candidates) - len(near)  # the cap checks the graded ones first
    checked = sum(1 for rid in shown if rid not in near)
    if graded > checked:
        notices.append(f"大模型核对了 {checked} 个乡镇，其余 {graded - checked} 个按摘录规则判断。")
    found_near = [rid for rid in stated if rid in near]
    if found_near:
        names = "、".join(labels.get(rid, rid) for rid in found_near[:NAMED_IN_NOTICE])
        more = "等" if len(found_near) > NAMED_IN_NOTICE else ""
        notices.append(
            f"大模型另在摘录规则判为未提及、但内容接近的乡镇中找到 {len(found_near)} 个"
            f"明确提到的：{names}{more}。"
        )
    if judged.errors:
        notices.append(
            f"大模型核对未完成：{len(unread)} 个乡镇未经核对（{judged.errors[0][:160]}），"
            "这些乡镇按摘录规则判断。"
        )
    if demoted:
        names = "、".join(labels.get(rid, rid) for rid in demoted)
        notices.append(f"大模型核对后，摘录规则找到的 {len(demoted)} 个乡镇改列为“相关”：{names}。")
    return [*stated, *beyond], related, " ".join(notices) or None


def _unique_passages(hits: list[Hit], most: int) -> list[Hit]:
    """The first `most` of `hits` that are different passages."""
    seen: dict[str, Hit] = {}
    for hit in hits:
        seen.setdefault(hit.passage.id, hit)
    return list(seen.values())[:most]


def grade_of(report_id: str, mentioned: set[str], related: dict[str, Hit]) -> Grade:
    if report_id in mentioned:
        return MENTIONED
    return RELATED if report_id in related else NOT_MENTIONED


_RANK = {grade: rank for rank, grade in enumerate(GRADES)}  # a list of verdicts' order


def verdict_list(
    reports: list[StoredReport],
    labels: dict[str, str],
    mentioned: list[str],
    related: dict[str, Hit],
    evidence: Evidence,
    cited_at: dict[str, int],
) -> list[Verdict]:
    """Every report in scope with its grade and score: 明确提到, then 相关, then 未提及."""
    mentioned_ids = set(mentioned)  # a list searched once per report was quadratic at scale
    ids = [report.id for report in reports]
    rank = [_RANK[grade_of(rid, mentioned_ids, related)] for rid in ids]
    scores = []
    for rid in ids:
        hit = related.get(rid) or evidence.get(rid)
        scores.append(round(hit.coverage + hit.dense, 4) if hit else 0.0)
    # by grade, then score; equals in scope order (a stable sort)
    order = sorted(range(len(ids)), key=lambda i: (rank[i], -scores[i]))
    out = []
    for i in order:
        rid, meta = ids[i], reports[i].meta
        out.append(
            Verdict(
                report_id=rid,
                township=labels.get(rid, rid),
                county=meta.county,
                province=meta.province,
                year=meta.year,
                grade=GRADES[rank[i]],
                score=scores[i],
                citation=cited_at.get(rid),
            )
        )
    return out
