"""The answering service: one `Answer` object for the CLI, the web app and the API.

Extractive mode (the default) quotes the reports' own sentences, cited; LLM mode (when an
OpenAI-compatible endpoint is configured) writes the prose over the same evidence and falls back
to extractive on any error.

A question's path: parse it and its scope (`Filters`), embed it, find its topic words, then
hand it to its kind: `publication` (a report's date), `overview` (a section without a topic),
`lookup` (one fact) or `corpus` (every report graded; peer practices too).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from app.answers import corpus, lookup, overview, publication
from app.answers.citations import cite, report_labels
from app.answers.engine import CANNOT_READ, NOT_FOUND, Engine, not_found
from app.answers.evidence import gather, question_topic
from app.answers.judging import ProgressFn, with_progress
from app.answers.models import NOT_MENTIONED, Answer, Progress, TownshipSupport
from app.answers.publication import ASKS_PUBLISHED
from app.answers.rule import DecisionRule
from app.answers.verdicts import decide, grade_of, relate
from app.gc_pause import collection_paused
from app.places import no_reports_of
from app.question import (
    MAX_QUESTION_CHARS,
    ParsedQuestion,
    parse_question,
    recent_years_notice,
    unnamed_subset_notice,
    wording_problem,
    years_text,
)
from app.retrieval import HybridRetriever
from ingest.errors import FazhiError
from ingest.gazetteer import gazetteer, province_short
from ingest.model import SECTION_LABELS
from vectorstore import PassageStore, Scope


@dataclass
class Filters(Scope):
    """Explicit filters from the caller (CLI flags, UI controls, API); they win over the question."""

    def overriding(self, parsed: ParsedQuestion) -> str | None:
        """What these filters put in place of what the question itself says, for the answer's
        notice ("重庆有哪些乡镇…" asked with the province filter 河南省 is answered of 河南省);
        None when they agree with it or it says nothing of them. Read before `apply`."""
        said = parsed.scope
        notes = []
        for key, label in (("townships", "乡镇"), ("counties", "县区"), ("provinces", "省份")):
            mine, theirs = getattr(self, key), getattr(said, key)
            if mine and theirs and set(mine) != set(theirs):
                notes.append(f"{label}按筛选条件为{'、'.join(mine)}（问题中是{'、'.join(theirs)}）")
        if self.has_years and said.has_years and years_text(self) != years_text(said):
            notes.append(f"年份按筛选条件为{years_text(self)}（问题中是{years_text(said)}）")
        asked = [s for s in parsed.sections if s in ("problems", "plans")]
        if self.sections and asked and not set(asked) & set(self.sections):
            chosen = "、".join(f"“{SECTION_LABELS.get(s, s)}”" for s in self.sections)
            wanted = "、".join(f"“{SECTION_LABELS.get(s, s)}”" for s in asked)
            notes.append(f"只查了{chosen}部分（问题问的是{wanted}）")
        return "；".join(notes) + "。" if notes else None

    def apply(self, parsed: ParsedQuestion) -> Scope:
        scope = parsed.scope
        for key in ("townships", "counties", "provinces"):
            if getattr(self, key):
                setattr(scope, key, list(getattr(self, key)))
        if self.has_years:
            scope.year_from, scope.year_to = self.year_from, self.year_to
            scope.years = list(self.years)
        if self.sections:  # a hard filter, unlike the sections a question's wording leans to
            parsed.sections = list(self.sections)
            scope.sections = list(self.sections)
        return scope


def _noted(answer: Answer, notices: list[str | None]) -> Answer:
    """The answer with each of `notices` (those given) after its own notice."""
    for said in notices:
        if said:
            answer.notice = f"{answer.notice} {said}" if answer.notice else said
    return answer


class AnswerService:
    def __init__(
        self,
        store: PassageStore,
        *,
        llm: Any | None = None,
        rule: DecisionRule | None = None,
    ) -> None:
        self.engine = Engine(store, HybridRetriever(store), rule or DecisionRule(), llm)

    @property
    def store(self) -> PassageStore:
        return self.engine.store

    @property
    def retriever(self) -> HybridRetriever:
        return self.engine.retriever

    @property
    def rule(self) -> DecisionRule:
        return self.engine.rule

    @property
    def llm(self) -> Any | None:
        return self.engine.llm

    def warm_up(self) -> None:
        """Load the in-memory index and the models now, not on the first question: the question
        encoder, then the embedding model (corpus-wide answers embed passages' sentences)."""
        self.retriever.snapshot()
        self.store.embeddings.embed_question("预热")
        self.store.embeddings.embed_passages(["预热"])

    def resolve(self, filters: Filters) -> Filters:
        """Map what a user typed (重庆, 宝丰) to the store's values (重庆市, 宝丰县)."""
        facets = self.store.facet_values()
        resolved = Filters(
            year_from=filters.year_from,
            year_to=filters.year_to,
            years=list(filters.years),
            sections=list(filters.sections),
        )
        for attr, facet, label in (
            ("townships", "township", "township"),
            ("counties", "county", "county"),
            ("provinces", "province", "province"),
        ):
            values = []
            for value in getattr(filters, attr):
                match = _match_facet(value, facets[facet])
                if match is None:
                    known = "、".join(facets[facet]) or "none yet"
                    raise FazhiError(
                        f"unknown {label} '{value}' in filters; the store has: {known}"
                    )
                values.append(match)
            setattr(resolved, attr, values)
        return resolved

    def ask(self, question: str, filters: Filters | None = None) -> Answer:
        answer: Answer | None = None
        for event in self.stream(question, filters):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def stream(
        self, question: str, filters: Filters | None = None
    ) -> Iterator[str | Progress | Answer]:
        """Yields the LLM's judging progress and text deltas (LLM mode), and finally the
        complete `Answer`."""
        if self.llm is None:
            with collection_paused():
                answer = self.extractive(question, filters)
        else:
            for event in with_progress(lambda p: self.extractive(question, filters, progress=p)):
                if isinstance(event, Progress):
                    yield event
                else:
                    answer = event
        if self.llm is None or not answer.found or ASKS_PUBLISHED.search(answer.question):
            yield answer  # a publication date is a metadata fact: nothing for an LLM to write
            return
        yield from self.llm.rewrite(answer, self.store, tokenizer=self.retriever.tokenizer)

    def extractive(
        self,
        question: str,
        filters: Filters | None = None,
        *,
        progress: ProgressFn | None = None,
    ) -> Answer:
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        facets = self.store.facet_values()
        # before parsing: a pasted page of 10,000 characters took seconds to parse
        problem = wording_problem(question)
        parsed = parse_question(question[:MAX_QUESTION_CHARS], facets)
        filters = filters or Filters()
        # how the question's own words were read, before the filters replace them (`apply`)
        notices = [
            None if filters.has_years else recent_years_notice(parsed),
            filters.overriding(parsed),
        ]
        # "石柱县和宝丰县的…" names places above townships (a place chosen as a filter does not
        # make a search typed in words ask every township)
        of_places = not parsed.scope.townships and bool(
            parsed.scope.counties or parsed.scope.provinces
        )
        scope = filters.apply(parsed)
        timings["parse_ms"] = _ms(t0)
        if problem:
            return _empty(parsed, scope, timings, f"{CANNOT_READ}：{problem}")
        if parsed.unknown_places and not scope.townships:
            text = f"{NOT_FOUND}：{no_reports_of(parsed.unknown_places, facets, scope.counties)}"
            return _noted(_empty(parsed, scope, timings, text), notices)
        in_scope = self.store.list_reports(scope)
        if not in_scope:
            text = f"{NOT_FOUND}：{self._nothing_in_scope(scope)}"
            return _noted(_empty(parsed, scope, timings, text), notices)
        if (
            parsed.kind == "lookup"
            and of_places
            and len({(r.meta.county, r.meta.township) for r in in_scope}) > 1
        ):
            # "石柱县和宝丰县的法律顾问是怎么配的？": no one report answers for the places named;
            # each of their townships is asked, the question read again as one about them all
            parsed = parse_question(question[:MAX_QUESTION_CHARS], facets, of_every_township=True)
            scope = filters.apply(parsed)
        t1 = time.perf_counter()
        vector = self.store.embeddings.embed_question(
            parsed.query if parsed.kind != "lookup" else parsed.text
        )
        timings["embed_ms"] = _ms(t1)
        t_topic = time.perf_counter()
        topic = question_topic(self.retriever, parsed)
        timings["topic_ms"] = _ms(t_topic)
        t2 = time.perf_counter()
        if ASKS_PUBLISHED.search(parsed.text):
            answer = publication.answer(self.engine, parsed, scope, in_scope)
        elif parsed.sections and not topic and parsed.claim == "negation":
            # "哪些镇没有写存在的问题？": the reports without that section
            answer = overview.without(self.engine, parsed, scope, in_scope)
        elif parsed.sections and not topic:
            # "西联镇存在什么问题？": no topic beyond the section itself — show that section
            answer = overview.answer(self.engine, parsed, scope, in_scope)
        elif parsed.kind == "lookup":
            have = {r.meta.township for r in in_scope}
            absent = {  # "石桥镇和万灵镇…" asked of 2023: 万灵镇's report is 2024's
                t: self._nothing_in_scope(replace(scope, townships=[t]))
                for t in scope.townships
                if t not in have
            }
            answer = lookup.answer(self.engine, parsed, scope, vector, topic, absent)
        else:
            answer = corpus.answer(self.engine, parsed, scope, vector, topic, in_scope, progress)
        timings["retrieve_ms"] = _ms(t2)
        timings["total_ms"] = _ms(t0)
        answer.timings = timings
        return _noted(answer, [unnamed_subset_notice(parsed, len(in_scope)), *notices])

    def support(
        self, topic: str, sections: list[str], filters: Filters | None = None
    ) -> list[TownshipSupport]:
        """For every report in scope: its grade on `topic` in these sections, with its passage.

        The building block of the township × topic comparison; same graded verdicts as
        corpus-wide answers, looking only at these sections.
        """
        engine = self.engine
        parsed = parse_question(topic, self.store.facet_values())
        parsed.core = topic
        scope = (filters or Filters()).apply(parsed)
        scope.sections = parsed.sections = list(sections)
        reports = self.store.list_reports(replace(scope, sections=[]))
        words = question_topic(self.retriever, parsed, grading=True)
        vector = self.store.embeddings.embed_question(topic)
        per_report, evidence = gather(engine, vector, " ".join(words.terms) or topic, scope, words)
        mentioned = set(decide(engine, evidence, per_report, vector, words, quote_by_meaning=False))
        related = relate(engine, per_report, evidence, list(mentioned), None, words)
        labels = report_labels(reports)
        rows = []
        for report in reports:
            grade = grade_of(report.id, mentioned, related)
            hit = related.get(report.id) or evidence.get(report.id)
            rows.append(
                TownshipSupport(
                    township=labels[report.id],
                    report_id=report.id,
                    year=report.meta.year,
                    grade=grade,
                    citation=cite(1, hit) if hit and grade != NOT_MENTIONED else None,
                )
            )
        return rows

    def _where(self, place: Scope, key: str) -> str:
        """Where a township's (province and county) or a county's (province) reports are."""
        found = self.store.list_reports(place)
        if key == "counties":
            at = [r.meta.province or "" for r in found]
        else:
            at = [f"{r.meta.province or ''}{r.meta.county or ''}" for r in found]
        return "、".join(a for a in dict.fromkeys(at) if a) or "未知地区"

    def _nothing_in_scope(self, scope: Scope) -> str:
        """Which of the filters matched nothing, or what the named places do have."""
        empty = [
            value
            for key in ("townships", "counties", "provinces")
            for value in getattr(scope, key)
            if not self.store.list_reports(Scope(**{key: [value]}))
        ]
        if empty:
            return f"筛选范围内没有报告：库中没有{'、'.join(empty)}的报告。"
        places = Scope(
            townships=scope.townships, counties=scope.counties, provinces=scope.provinces
        )
        in_places = self.store.list_reports(places)
        if not in_places and (scope.counties or scope.provinces):
            # each place has reports, not together: "石桥镇" with 广东省 (it is in 河南省)
            where = [
                f"{value}在{self._where(Scope(**{key: [value]}), key)}"
                for key in ("townships", "counties")
                for value in getattr(scope, key)
            ]
            if where:
                return f"筛选范围内没有报告：{'；'.join(where)}，不在所选的省份或县区里。"
        years = sorted({r.meta.year for r in in_places if r.meta.year})
        if scope.has_years and years:
            named = "、".join([*scope.townships, *scope.counties, *scope.provinces]) or "库中"
            return f"筛选范围内没有报告：{named}的报告只有{'、'.join(str(y) for y in years)}年的。"
        return "筛选范围内没有报告。"


def _empty(parsed: ParsedQuestion, scope: Scope, timings: dict[str, float], text: str) -> Answer:
    answer = not_found(parsed, scope, text)
    answer.timings = timings
    return answer


def _match_facet(value: str, known: list[str]) -> str | None:
    value = value.strip()
    if value in known:
        return value
    for name in known:
        if province_short(name) == value or name.startswith(value):
            return name
    # an autonomous county by its everyday name: 石柱县
    return next((name for name in known if gazetteer().everyday(name) == value), None)


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)
