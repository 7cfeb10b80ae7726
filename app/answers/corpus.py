"""A corpus-wide question ("哪些乡镇把X列为问题？"): every report in scope graded on its own.

evidence (each report's best passages) → verdicts (明确提到, 相关, 未提及; in LLM mode judged
report by report) → the answer text: counts, the townships that state it, the related ones,
the rest. "哪些镇没有提到X" turns the grades around (`_absent`).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

from app.answers import verdicts
from app.answers.citations import cite, inline, report_labels, year_label
from app.answers.engine import NOT_FOUND, Engine, make_answer
from app.answers.evidence import Evidence, PerReport, gather
from app.answers.judging import ProgressFn
from app.answers.listing import (
    Entry,
    counts_lead,
    entry_lines,
    first_entry_lines,
    not_mentioned_line,
    related_block,
)
from app.answers.models import NOT_MENTIONED, RELATED, Answer, Citation, Related, Verdict
from app.answers.practice import PracticeNames, practice_line
from app.question import ParsedQuestion, topic_phrase
from app.retrieval import Hit, Topic
from ingest.model import SECTION_LABELS
from vectorstore import Scope, StoredReport

RELATION_NOTICE = (
    "这个问题问的是两件事之间的关系或对比，摘录方式无法确认哪份报告明确这样写："
    "提到相关内容的乡镇都列为“相关”，请核对引文（配置大模型后可逐份核查）。"
)
NEGATION_NOTICE = (
    "这是一个否定问题：答案是没有提到该内容的报告；各报告的等级（明确提到、相关、未提及，"
    "见导出文件和 JSON 的 verdicts 字段）是对该内容本身的判断。"
)


def answer(
    engine: Engine,
    parsed: ParsedQuestion,
    scope: Scope,
    vector: Any,
    topic: Topic,
    reports: list[StoredReport],
    progress: ProgressFn | None = None,
) -> Answer:
    """Grade every report in scope and list them: 明确提到 first, then 相关, then 未提及.
    In LLM mode `progress(checked, total)` follows the LLM's judging."""
    labels = report_labels(reports)
    query = " ".join(topic.terms) or parsed.core
    if parsed.kind == "practice":
        engine = replace(
            engine, rule=replace(engine.rule, min_coverage=engine.rule.practice_min_coverage)
        )
    per_report, evidence = gather(
        engine, vector, query, replace(scope, sections=parsed.sections), topic
    )
    mentioned = verdicts.decide(engine, evidence, per_report, vector, topic)
    everywhere = replace(scope, sections=[])
    # in LLM mode the judge is shown each candidate's passages from all sections: gathered
    # for every report
    all_sections = (
        gather(engine, vector, query, everywhere, topic)
        if parsed.sections and engine.llm is not None
        else None
    )

    def gather_elsewhere(graded: set[str]) -> tuple[PerReport, Evidence]:
        if all_sections is not None:
            return all_sections
        return gather(engine, vector, query, everywhere, topic, leave_out=graded)

    related = verdicts.relate(
        engine,
        per_report,
        evidence,
        mentioned,
        # "下一步打算中没有提X": X among the measures does not make the plans' silence unsure
        gather_elsewhere if parsed.sections and parsed.claim != "negation" else None,
        topic,
        closeness=engine.rule.negation_closeness if parsed.claim == "negation" else None,
    )
    notice = None
    if parsed.claim == "relation" and engine.llm is None:
        # a sentence naming both things rarely says how they relate: none is stated for sure
        related.update({rid: evidence[rid] for rid in mentioned})
        mentioned = []
        notice = RELATION_NOTICE
    near = verdicts.near(engine, per_report, mentioned, related) if engine.llm else {}
    if engine.llm is not None and (mentioned or related or near):
        close = {  # each candidate's close passages, in turn from the asked-about sections
            rid: _interleave(
                per_report.get(rid, []), all_sections[0].get(rid, []) if all_sections else []
            )
            for rid in [*mentioned, *related, *near]
        }
        mentioned, related, notice = verdicts.judge(
            engine,
            parsed,
            evidence,
            mentioned,
            related,
            vector,
            topic,
            labels,
            near=near,
            close=close,
            progress=progress,
        )

    citations: list[Citation] = []
    cited_at: dict[str, int] = {}  # each listed report's first citation
    names = None
    if parsed.kind == "practice":
        # an entry names what its passage and the report's other candidates on the topic quote
        # (a candidate not marked in the gather covers less than its floor, at most
        # min_coverage: it is not on the topic)
        on_topic = per_report.marks.coverage >= engine.rule.min_coverage
        names = PracticeNames(engine, per_report, topic, on_topic)

    def entry(rid: str, hit: Hit, *, with_practices: bool) -> Entry:
        practices: list[str] = []
        naming: list[Hit] = []
        if with_practices and names is not None:
            # named practices from on-topic passages of this report, each of them cited
            hit, practices, naming = names.entry(rid, hit, engine.rule.min_coverage)
        citation = cite(len(citations) + 1, hit)
        citations.append(citation)
        cited_at[rid] = citation.n
        label = SECTION_LABELS.get(citation.section, citation.section)
        cited = [citation]
        for other in naming:
            cited.append(cite(len(citations) + 1, other))
            citations.append(cited[-1])
        markers = " ".join([f"[{c.n}]" for c in cited])
        return Entry(
            labels.get(rid, rid),
            citation.county,
            citation.province,
            f"{year_label(citation.year)}，{label}）：{practice_line(practices)}"
            f"“{inline(citation.quote)}” {markers}",
        )

    def strength(rid: str) -> float:
        hit = related[rid] if rid in related else evidence[rid]
        return hit.coverage + hit.dense

    practice = parsed.kind == "practice"
    mentioned = sorted(mentioned, key=lambda r: -strength(r))
    stated = [entry(rid, evidence[rid], with_practices=practice) for rid in mentioned]
    related_ids = sorted(related, key=lambda r: -strength(r))
    nearby = [entry(rid, related[rid], with_practices=False) for rid in related_ids]
    graded = verdicts.verdict_list(reports, labels, mentioned, related, evidence, cited_at)
    if parsed.claim == "negation":
        return _absent(parsed, scope, reports, stated, nearby, graded, citations, cited_at)
    not_mentioned = [v.township for v in graded if v.grade == NOT_MENTIONED]
    total = len(reports)
    if not stated:
        text = (
            f"{NOT_FOUND}：范围内 {total} 份报告都没有明确提到“{topic_phrase(parsed.core)}”"
            f"{_looked(parsed, brackets=True)}。"
        )
    else:
        lead = counts_lead(total, len(stated), len(nearby), practice=practice)
        text = "\n".join([lead, "", *entry_lines(stated)])
    text = "\n".join(
        [text, *related_block(nearby, practice=practice), *not_mentioned_line(not_mentioned)]
    )
    result = make_answer(
        parsed,
        scope,
        text,
        found=bool(stated),
        citations=citations,
        townships=[labels.get(rid, rid) for rid in mentioned],
        not_mentioned=not_mentioned,
    )
    result.related = [Related(labels.get(rid, rid), rid, cited_at[rid]) for rid in related_ids]
    result.verdicts = graded
    result.notice = notice
    return result


def _absent(
    parsed: ParsedQuestion,
    scope: Scope,
    reports: list[StoredReport],
    stated: list[Entry],
    nearby: list[Entry],
    graded: list[Verdict],
    citations: list[Citation],
    cited_at: dict[str, int],
) -> Answer:
    """ "哪些镇没有提到X": the reports with nothing on X are the answer; those on the topic
    are not sure (listed, quoted); those stating X are shown with their quotes, as why they
    are left out. `graded` keeps the grades of X itself."""
    absent = [v.township for v in graded if v.grade == NOT_MENTIONED]
    lead = (
        f"在范围内的 {len(reports)} 份报告中：{len(absent)} 个乡镇{_looked(parsed)}没有提到"
        f"“{topic_phrase(parsed.core)}”，"
        f"{len(nearby)} 个提到相关内容（不能确定），{len(stated)} 个明确提到了。"
    )
    lines = [lead]
    if absent:
        lines += ["", f"没有提到（{len(absent)} 个，找不到可引用的段落）：{'、'.join(absent)}。"]
    if nearby:
        lines += ["", f"提到相关内容、不能确定的 {len(nearby)} 个乡镇（请核对引文）：", ""]
        lines += first_entry_lines(nearby, "related")
    if stated:
        lines += ["", f"明确提到了的 {len(stated)} 个乡镇（因此不在答案中）：", ""]
        lines += first_entry_lines(stated, "verdicts")
    result = make_answer(
        parsed,
        scope,
        "\n".join(lines),
        found=bool(absent),
        citations=citations,
        townships=absent,
        not_mentioned=[],
    )
    result.related = [
        Related(v.township, v.report_id, cited_at[v.report_id])
        for v in graded
        if v.grade == RELATED
    ]
    result.verdicts = graded
    result.notice = NEGATION_NOTICE
    return result


def _looked(parsed: ParsedQuestion, *, brackets: bool = False) -> str:
    """Where a not-found or an absence looked: "（只查了“存在问题”部分）", or "在“存在问题”部分"."""
    where = "、".join(f"“{SECTION_LABELS.get(s, s)}”" for s in parsed.sections)
    if not where:
        return ""
    return f"（只查了{where}部分）" if brackets else f"在{where}部分"


def _interleave(*lists: list[Hit]) -> list[Hit]:
    """The first of each list, then the second of each, and so on."""
    return [hit for row in itertools.zip_longest(*lists) for hit in row if hit is not None]
