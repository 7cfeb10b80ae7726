"""The answering service: one `Answer` object for the CLI, the web app and the API.

Extractive mode (the default) quotes the reports' own sentences, cited; LLM mode (when an
OpenAI-compatible endpoint is configured) writes the prose over the same evidence and falls back
to extractive on any error.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.answers.listing import (
    Entry,
    counts_lead,
    entry_lines,
    not_mentioned_line,
    related_block,
)
from app.answers.models import (
    MENTIONED,
    NOT_MENTIONED,
    RELATED,
    Answer,
    Citation,
    Grade,
    Related,
    Verdict,
)
from app.places import no_reports_of
from app.question import ParsedQuestion, parse_question
from app.retrieval import INTENT_WORDS, SHORT_SENTENCE, SHORTFALL, Hit, HybridRetriever, Topic
from ingest.errors import FazhiError
from ingest.gazetteer import province_short
from ingest.model import SECTION_LABELS, township_label
from ingest.passages import sentence_spans
from vectorstore import PassageStore, Scope, StoredReport

NOT_FOUND = "资料中未找到"
OVERVIEW_REPORTS = 10  # a section overview lists at most this many reports...
OVERVIEW_PASSAGES = 3  # ...and this many passages of each
MEANING_QUOTES = 12  # reports supported by meaning quoted at their closest sentence (embedded)
# a question asking for a count ("哪几个镇", "几个方面" ask for something else)
_COUNTERS = "个|名|次|起|件|场|人|家|项|份|位|期|户|处|所|支|批|篇|台|部"
_ASKS_COUNT = re.compile(rf"多少|(?<!哪)几(?!个方面)(?:{_COUNTERS})|数量|人数|次数|件数")
# what is not a count: years and year ranges (2021年, 2019—2021年, 2022—2025), document numbers
# (〔2021〕5号), dates and times (2023-02-08, 12月4日), ordinals (第3季度)
_NOT_A_COUNT = re.compile(
    r"(?:19|20)\d{2}[-/.]\d{1,2}(?:[-/.]\d{1,2})?"
    r"|[〔\[(（]?(?:19|20)\d{2}[〕\])）]?\s*(?:年|[-/.—–～~至到、〕]|\d*号)"
    r"|(?<=[—–～~至到-])(?:19|20)\d{2}"
    r"|\d+(?:\.\d+)?\s*(?:月|日|号|时|点)|第\s*\d+"
)
# "哪天发布的", "发布日期": asked of the report itself, answered from its metadata
_ASKS_PUBLISHED = re.compile(
    r"报告.{0,8}(?:(?:哪天|哪一天|什么时候|何时|哪个月|几月几[日号]|几号)(?:发布|公布|公开|印发|发出|上网|出)"
    r"|(?:发布|公布|公开|印发)(?:的)?(?:日期|时间)|(?:发布|公布)于(?:何时|哪天))"
    r"|(?:发布|公布|公开|印发)(?:的)?(?:日期|时间).{0,6}报告"
)
_CLAUSE_END = re.compile(r"[？?，,。；;！!]")
_COUNT = re.compile(r"\d|[一二两三四五六七八九十百千万]+(?:个|名|次|起|件|场|人|家|项|份|户|余)")


def states_count(sentence: str) -> bool:
    """Whether a sentence holds a number that counts something (三次, 20件, 二十余名)."""
    return bool(_COUNT.search(_NOT_A_COUNT.sub(" ", sentence)))


_QUOTED = re.compile(r"[“\"「『]([^”\"」』]{2,24})[”\"」』]")
# what may follow a quoted practice name and belongs to it (“贵和”调解工作制度)...
_PRACTICE_NOUN = re.compile(
    r"(?:的)?((?:调解)?工作(?:法|室|制度|机制)|调解室|茶室|机制|模式|品牌|责任制|专项行动|活动|理念)"
)
# ...and what says the quote is not a township's own practice
_NOT_A_PRACTICE_AFTER = re.compile(r"(?:的)?(?:要求|原则|精神|先进|典型|称号|荣誉|期间|作用)")
_NOT_A_PRACTICE_BEFORE = re.compile(r"(?:简称|清理|杜绝|消除|这个|持着)$")
# dated or national occasions (“12.4宪法日”, “安全生产月”), not a township's “村民说事日”
# a numbered lead sentence ("二是突出矛盾化解。", "（三）…", "2.…")
_ORDINAL_LEAD = re.compile(
    r"[一二三四五六七八九十]+是|[（(][一二三四五六七八九十\d]+[)）]|\d+[.、．]"
)
_OCCASION = re.compile(
    r"\d.*(?:日|月|周|节)$|(?:宣传|安全生产)(?:月|周)$|(?:宪法|禁毒|纪念)日$|期间$"
)


@dataclass
class Filters(Scope):
    """Explicit filters from the caller (CLI flags, UI controls, API); they win over the question."""

    def apply(self, parsed: ParsedQuestion) -> Scope:
        scope = parsed.scope
        for key in ("townships", "counties", "provinces"):
            if getattr(self, key):
                setattr(scope, key, list(getattr(self, key)))
        if self.year_from is not None or self.year_to is not None:
            scope.year_from, scope.year_to = self.year_from, self.year_to
        if self.sections:  # a hard filter, unlike the sections a question's wording leans to
            parsed.sections = list(self.sections)
            scope.sections = list(self.sections)
        return scope


@dataclass
class TownshipSupport:
    township: str
    report_id: str
    year: int | None
    grade: Grade
    citation: Citation | None  # for 明确提到 and 相关

    @property
    def supported(self) -> bool:
        return self.grade == MENTIONED


@dataclass
class DecisionRule:
    """How a report's verdict on a corpus-wide claim is graded, from its own passages alone.

    No threshold compares a report with the others, so adding reports never changes a
    report's verdict (the words' weights come from the whole corpus, which moves them a
    little). The cosine floors are calibrated for the default embedding model on the tuning
    gold sets and the scale harness (EVAL.md); another model may need other floors.

    明确提到, by words: the best sentence of a passage in the asked-about sections holds
    enough of the topic's weighted words (required ones included) in a passage close in
    meaning; or by meaning, for questions worded unlike the reports ("身兼数职" for "还兼政府
    其他业务"): a passage very close in meaning that shares words with the question.
    相关: a sentence with part of the topic's words, or a passage close in meaning, in the
    asked-about sections, or in any section for a question that asks about one section.
    """

    min_coverage: float = 0.4  # weighted share of the topic's terms in the key sentence
    dense_floor: float = 0.82  # ...in a passage at least this close (cosine) to the question
    lookup_min_coverage: float = 0.4
    per_report: int = 3
    meaning_floor: float = 0.92  # closeness of a passage stating the claim in other words
    meaning_lexical: float = 0.5  # BM25 at least this share of the best passage's in scope
    meaning_lexical_weight: float = 0.025  # closeness = cosine + this x BM25 share
    # ...and a question most of whose weight is in words no report uses (法治辅导员) is about
    # something the reports do not contain: nothing is stated by meaning alone
    meaning_known_share: float = 0.3
    related_coverage: float = 0.3  # 相关: this share of the topic's words in a sentence...
    related_closeness: float = 0.86  # ...or a passage this close, in the asked-about sections
    related_elsewhere: float = 0.87  # ...or this close in another section
    # "哪些镇没有提到X" lists the reports with nothing on X: only a passage this close, or
    # X's words, make a report not surely silent on it
    negation_closeness: float = 0.9
    # LLM mode: every 明确提到 and 相关 report is judged, at most judge_max of them
    judge_max: int = 300


def question_topic(
    retriever: HybridRetriever,
    parsed: ParsedQuestion,
    *,
    known_only: bool = False,
    require: bool = True,
) -> Topic:
    """The words that carry the question's topic, without words that only restate its section."""
    groups = retriever.tokenizer.word_groups(parsed.core, drop=INTENT_WORDS)
    cue = None
    if parsed.sections == ["problems"]:
        cue = SHORTFALL.search
    elif parsed.kind == "lookup" and _ASKS_COUNT.search(parsed.text):
        cue = states_count  # "多少件信访": the sentence with the count, not the one naming the work
    return retriever.topic(groups, known_only=known_only, require=require, cue=cue)


class AnswerService:
    def __init__(
        self,
        store: PassageStore,
        *,
        llm: Any | None = None,
        rule: DecisionRule | None = None,
    ) -> None:
        self.store = store
        self.retriever = HybridRetriever(store)
        self.llm = llm
        self.rule = rule or DecisionRule()

    # -- public --------------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Load the embedding model and the in-memory index now, not on the first question."""
        self.store.embeddings.embed_question("预热")
        self.retriever.snapshot()

    def resolve(self, filters: Filters) -> Filters:
        """Map what a user typed (重庆, 宝丰) to the store's values (重庆市, 宝丰县)."""
        facets = self.store.facet_values()
        resolved = Filters(
            year_from=filters.year_from, year_to=filters.year_to, sections=list(filters.sections)
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

    def stream(self, question: str, filters: Filters | None = None) -> Iterator[str | Answer]:
        """Yields text deltas (LLM mode) and finally the complete `Answer`."""
        answer = self.extractive(question, filters)
        if self.llm is None or not answer.found or _ASKS_PUBLISHED.search(answer.question):
            yield answer  # a publication date is a metadata fact: nothing for an LLM to write
            return
        yield from self.llm.rewrite(answer, self.store, tokenizer=self.retriever.tokenizer)

    def extractive(self, question: str, filters: Filters | None = None) -> Answer:
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        facets = self.store.facet_values()
        parsed = parse_question(question, facets)
        scope = (filters or Filters()).apply(parsed)
        timings["parse_ms"] = _ms(t0)
        if parsed.unknown_places and not scope.townships:
            text = f"{NOT_FOUND}：{no_reports_of(parsed.unknown_places, facets, scope.counties)}"
            return self._empty(parsed, scope, timings, text)
        in_scope = self.store.list_reports(scope)
        if not in_scope:
            text = f"{NOT_FOUND}：{self._nothing_in_scope(scope)}"
            return self._empty(parsed, scope, timings, text)
        t1 = time.perf_counter()
        vector = self.store.embeddings.embed_question(
            parsed.query if parsed.kind != "lookup" else parsed.text
        )
        timings["embed_ms"] = _ms(t1)
        t_topic = time.perf_counter()
        topic = question_topic(self.retriever, parsed)
        timings["topic_ms"] = _ms(t_topic)
        t2 = time.perf_counter()
        if _ASKS_PUBLISHED.search(parsed.text):
            answer = self._publication(parsed, scope, in_scope)
        elif parsed.sections and not topic:
            # "西联镇存在什么问题？": no topic beyond the section itself — show that section
            answer = self._section_overview(parsed, scope, in_scope)
        elif parsed.kind == "lookup":
            answer = self._lookup(parsed, scope, vector, topic)
        else:
            answer = self._enumerate(parsed, scope, vector, topic, in_scope)
        timings["retrieve_ms"] = _ms(t2)
        timings["total_ms"] = _ms(t0)
        answer.timings = timings
        return answer

    # -- kinds ---------------------------------------------------------------------------------
    def _lookup(self, parsed: ParsedQuestion, scope: Scope, vector: Any, topic: Topic) -> Answer:
        # scope.sections holds only the caller's explicit filter; the question's own section
        # wording does not narrow a lookup
        hits = self.retriever.search(
            vector, " ".join(topic.terms) or parsed.text, scope, k=5, per_report=3, topic=topic
        )
        # Missing words the corpus uses elsewhere mean "not here" (塘坊镇 has no 法律明白人);
        # words no report uses at all are the asker's paraphrase and are not held against a hit.
        # The township is named, so the best passage need not carry every heavy word.
        known = self.retriever.topic(topic.groups, known_only=True, require=False)

        asks_count = topic.cue is states_count
        counted = self._counted(parsed.text, known) if asks_count else None

        def support(hit: Hit) -> float:
            if not known or hit.sentence is None:
                return 0.0
            start = int(hit.passage.meta["start"])
            sentence = hit.passage.text[hit.sentence[0] - start : hit.sentence[1] - start]
            if asks_count and not states_count(sentence):
                return 0.0  # "多少人取得了执法证": a sentence without a number does not answer it
            if counted and self.retriever.coverage(sentence, counted, partial=False) < 0.5:
                # "多少起行政复议案件": a number of other 案件 does not answer it
                return 0.0
            return self.retriever.coverage(sentence, known, partial=False)

        best = max(hits, key=lambda h: (support(h), h.coverage, h.score), default=None)
        if best is None or support(best) < self.rule.lookup_min_coverage:
            where = "、".join(scope.townships) if scope.townships else "所选范围"
            return self._answer(
                parsed,
                scope,
                f"{NOT_FOUND}：{where}的报告里没有找到与“{parsed.core}”直接相关的内容。",
                found=False,
                citations=[],
                townships=[],
                not_mentioned=[],
            )
        ordered = [best] + [h for h in hits if h is not best]
        citations = [self._citation(i + 1, h) for i, h in enumerate(ordered)]
        lead = citations[0]
        lines = [
            f"据{_place(lead)}{lead.year or ''}年报告（{SECTION_LABELS.get(lead.section, lead.section)}）："
            f"“{_inline(lead.quote)}” [1]"
        ]
        if len(citations) > 1:
            lines.append("")
            lines.append("相关段落：" + " ".join(f"[{c.n}]" for c in citations[1:]))
        return self._answer(
            parsed,
            scope,
            "\n".join(lines),
            found=True,
            citations=citations,
            townships=_unique([c.township for c in citations[:1] if c.township]),
            not_mentioned=[],
        )

    def _counted(self, question: str, known: Topic) -> Topic | None:
        """The words for what a count question counts (多少起 → 行政处罚案件), if any."""
        ask = _ASKS_COUNT.search(question)
        if ask is None:
            return None

        def groups_in(clause: str) -> list[tuple[str, ...]]:
            return [g for g in known.groups if any(w in clause for w in g)]

        groups = groups_in(_CLAUSE_END.split(question[ask.end() :], maxsplit=1)[0])
        if not groups:  # "行政复议案件有多少起": what is counted comes before the ask
            groups = groups_in(_CLAUSE_END.split(question[: ask.start()])[-1])[-2:]
        if not groups:
            return None
        return self.retriever.topic(groups, known_only=True, require=False)

    def _enumerate(
        self,
        parsed: ParsedQuestion,
        scope: Scope,
        vector: Any,
        topic: Topic,
        reports: list[StoredReport],
    ) -> Answer:
        labels = report_labels(reports)
        query = " ".join(topic.terms) or parsed.core
        if parsed.claim == "negation":
            parsed.sections = []  # "没有提到X": X said in any section counts
        per_report, evidence = self._gather(
            vector, query, replace(scope, sections=parsed.sections), topic
        )
        mentioned = self.decide(evidence, per_report, vector, topic)
        elsewhere = (
            self._gather(vector, query, replace(scope, sections=[]), topic)
            if parsed.sections
            else None
        )
        related = self.relate(
            per_report,
            evidence,
            mentioned,
            elsewhere,
            topic,
            closeness=self.rule.negation_closeness if parsed.claim == "negation" else None,
        )
        notice = None
        if parsed.claim == "relation" and self.llm is None:
            # a sentence naming both things rarely says how they relate: none is stated for sure
            related.update({rid: evidence[rid] for rid in mentioned})
            mentioned = []
            notice = (
                "这个问题问的是两件事之间的关系或对比，摘录方式无法确认哪份报告明确这样写："
                "提到相关内容的乡镇都列为“相关”，请核对引文（配置大模型后可逐份核查）。"
            )
        if self.llm is not None and (mentioned or related):
            mentioned, related, notice = self._judge(
                parsed, evidence, mentioned, related, vector, topic, labels
            )

        def says_topic(text: str) -> bool:
            return self.retriever.coverage(text, topic) > 0

        def names_of(hit: Hit) -> list[str]:
            """The practices a passage names about the topic (all of them under a heading on it)."""
            heading = str(hit.passage.meta.get("heading", "")).rsplit(">", 1)[-1]
            return _practice_names(hit.passage.text, None if says_topic(heading) else says_topic)

        citations: list[Citation] = []
        cited_at: dict[str, int] = {}  # each listed report's first citation

        def entry(rid: str, hit: Hit, *, with_practices: bool) -> Entry:
            citation = self._citation(len(citations) + 1, hit)
            citations.append(citation)
            cited_at[rid] = citation.n
            label = SECTION_LABELS.get(citation.section, citation.section)
            practice, cited = "", [citation]
            if with_practices:
                # named practices from on-topic passages of this report, each of them cited
                names = names_of(hit)
                for other in per_report.get(rid, []):
                    on_topic = other is not hit and other.coverage >= self.rule.min_coverage
                    if on_topic and (more := names_of(other)):
                        cited.append(self._citation(len(citations) + 1, other))
                        citations.append(cited[-1])
                        names.extend(more)
                names = _unique(names)[:6]
                practice = f"做法：{'、'.join(f'“{n}”' for n in names)}；" if names else ""
            markers = " ".join(f"[{c.n}]" for c in cited)
            return Entry(
                labels.get(rid, rid),
                citation.county,
                citation.province,
                f"{citation.year or '年份未知'}年，{label}）：{practice}“{_inline(citation.quote)}” {markers}",
            )

        def strength(rid: str) -> float:
            return evidence_of(rid).coverage + evidence_of(rid).dense

        def evidence_of(rid: str) -> Hit:
            return related[rid] if rid in related else evidence[rid]

        practice = parsed.kind == "practice"
        mentioned = sorted(mentioned, key=lambda r: -strength(r))
        stated = [entry(rid, evidence[rid], with_practices=practice) for rid in mentioned]
        related_ids = sorted(related, key=lambda r: -strength(r))
        nearby = [entry(rid, related[rid], with_practices=False) for rid in related_ids]
        verdicts = self._verdicts(reports, labels, mentioned, related, evidence, cited_at)
        townships = [labels.get(rid, rid) for rid in mentioned]
        not_mentioned = [v.township for v in verdicts if v.grade == NOT_MENTIONED]
        total = len(reports)
        if parsed.claim == "negation":
            return self._absent(
                parsed, scope, reports, labels, stated, nearby, verdicts, citations, cited_at
            )
        if not stated:
            text = f"{NOT_FOUND}：范围内 {total} 份报告都没有明确提到“{parsed.core}”。"
        else:
            text = "\n".join(
                [
                    counts_lead(total, len(stated), len(nearby), practice=practice),
                    "",
                    *entry_lines(stated),
                ]
            )
        text = "\n".join(
            [text, *related_block(nearby, practice=practice), *not_mentioned_line(not_mentioned)]
        )
        answer = self._answer(
            parsed,
            scope,
            text,
            found=bool(stated),
            citations=citations,
            townships=townships,
            not_mentioned=not_mentioned,
        )
        answer.related = [Related(labels.get(rid, rid), rid, cited_at[rid]) for rid in related_ids]
        answer.verdicts = verdicts
        answer.notice = notice
        return answer

    def _absent(
        self,
        parsed: ParsedQuestion,
        scope: Scope,
        reports: list[StoredReport],
        labels: dict[str, str],
        stated: list[Entry],
        nearby: list[Entry],
        verdicts: list[Verdict],
        citations: list[Citation],
        cited_at: dict[str, int],
    ) -> Answer:
        """ "哪些镇没有提到X": the reports with nothing on X are the answer; those on the topic
        are not sure (listed, quoted); those stating X are shown with their quotes, as why they
        are left out. `verdicts` keep the grades of X itself."""
        absent = [v.township for v in verdicts if v.grade == NOT_MENTIONED]
        lead = (
            f"在范围内的 {len(reports)} 份报告中：{len(absent)} 个乡镇没有提到“{parsed.core}”，"
            f"{len(nearby)} 个提到相关内容（不能确定），{len(stated)} 个明确提到了。"
        )
        lines = [lead]
        if absent:
            lines += [
                "",
                f"没有提到（{len(absent)} 个，找不到可引用的段落）：{'、'.join(absent)}。",
            ]
        if nearby:
            lines += ["", f"提到相关内容、不能确定的 {len(nearby)} 个乡镇（请核对引文）：", ""]
            lines += entry_lines(nearby)
        if stated:
            lines += ["", f"明确提到了的 {len(stated)} 个乡镇（因此不在答案中）：", ""]
            lines += entry_lines(stated)
        answer = self._answer(
            parsed,
            scope,
            "\n".join(lines),
            found=bool(absent),
            citations=citations,
            townships=absent,
            not_mentioned=[],
        )
        answer.related = [
            Related(v.township, v.report_id, cited_at[v.report_id])
            for v in verdicts
            if v.grade == RELATED
        ]
        answer.verdicts = verdicts
        answer.notice = "这是一个否定问题：答案是没有提到该内容的报告；verdicts 里的等级是各报告对该内容本身的判断。"
        return answer

    def _verdicts(
        self,
        reports: list[StoredReport],
        labels: dict[str, str],
        mentioned: list[str],
        related: dict[str, Hit],
        evidence: dict[str, Hit],
        cited_at: dict[str, int],
    ) -> list[Verdict]:
        """Every report in scope with its grade and score: 明确提到, then 相关, then 未提及."""
        grades: dict[str, Grade] = {rid: RELATED for rid in related}
        grades.update({rid: MENTIONED for rid in mentioned})
        out = []
        for report in reports:
            hit = related.get(report.id) or evidence.get(report.id)
            meta = report.meta
            out.append(
                Verdict(
                    report_id=report.id,
                    township=labels.get(report.id, report.id),
                    county=meta.county,
                    province=meta.province,
                    year=meta.year,
                    grade=grades.get(report.id, NOT_MENTIONED),
                    score=round(hit.coverage + hit.dense, 4) if hit else 0.0,
                    citation=cited_at.get(report.id),
                )
            )
        order = {MENTIONED: 0, RELATED: 1, NOT_MENTIONED: 2}
        out.sort(key=lambda v: (order[v.grade], -v.score))
        return out

    def _publication(
        self, parsed: ParsedQuestion, scope: Scope, reports: list[StoredReport]
    ) -> Answer:
        """When each report was published: the date ingest read from its page header, web page
        or signature (cleaning drops a header's date line), cited at the report's title."""
        names = report_labels(reports)
        citations: list[Citation] = []
        lines: list[str] = []
        dated: list[str] = []
        for report in reports[:OVERVIEW_REPORTS]:
            passages = self.store.passages(Scope(report_ids=[report.id]))
            if not passages:
                continue
            first = min(passages, key=lambda p: int(p.meta["start"]))
            citations.append(self._citation(len(citations) + 1, Hit(first, 0.0, 0.0, 0.0)))
            meta = report.meta
            when = f"发布日期 {meta.published}" if meta.published else "原文件未载明发布日期"
            if meta.published:
                dated.append(names[report.id])
            lines.append(
                f"- **{names[report.id]}**（{meta.county or '县区未知'}，"
                f"{meta.year or '年份未知'}年度报告）：{when}（{Path(report.source).name}）[{len(citations)}]"
            )
        lead = "发布日期取自原文件的页眉、网页信息或落款日期（页眉的日期行不在清洗后的正文里）："
        lead += _overflow(reports)
        return self._answer(
            parsed,
            scope,
            "\n".join([lead, "", *lines]),
            found=bool(dated),
            citations=citations,
            townships=_unique(dated),
            not_mentioned=[],
        )

    def _section_overview(
        self, parsed: ParsedQuestion, scope: Scope, reports: list[StoredReport]
    ) -> Answer:
        labels = "、".join(SECTION_LABELS.get(s, s) for s in parsed.sections)
        names = report_labels(reports)
        citations: list[Citation] = []
        lines: list[str] = []
        townships: list[str] = []
        for report in reports[:OVERVIEW_REPORTS]:
            passages = self.store.passages(Scope(report_ids=[report.id], sections=parsed.sections))
            passages.sort(key=lambda p: int(p.meta["start"]))
            first = len(citations) + 1
            for passage in passages[:OVERVIEW_PASSAGES]:
                citations.append(self._citation(len(citations) + 1, Hit(passage, 0.0, 0.0, 0.0)))
            if len(citations) >= first:
                c = citations[first - 1]
                markers = " ".join(f"[{n}]" for n in range(first, len(citations) + 1))
                townships.append(names[report.id])
                lines.append(
                    f"- **{names[report.id]}**（{c.county or '县区未知'}，{c.year or '年份未知'}年，"
                    f"{labels}）：“{_inline(c.quote)}” {markers}"
                )
        if not citations:
            text = f"{NOT_FOUND}：范围内的报告没有“{labels}”部分。"
            return self._answer(
                parsed, scope, text, found=False, citations=[], townships=[], not_mentioned=[]
            )
        lead = f"范围内 {len(townships)} 个乡镇报告的“{labels}”部分（每份列出前几段）："
        lead += _overflow(reports)
        text = "\n".join([lead, "", *lines])
        return self._answer(
            parsed,
            scope,
            text,
            found=True,
            citations=citations,
            townships=townships,
            not_mentioned=[],
        )

    def support(
        self, topic: str, sections: list[str], filters: Filters | None = None
    ) -> list[TownshipSupport]:
        """For every report in scope: its grade on `topic` in these sections, with its passage.

        The building block of the township × topic comparison; same graded verdicts as
        corpus-wide answers, looking only at these sections.
        """
        parsed = parse_question(topic, self.store.facet_values())
        parsed.core = topic
        scope = (filters or Filters()).apply(parsed)
        scope.sections = parsed.sections = list(sections)
        reports = self.store.list_reports(replace(scope, sections=[]))
        words = question_topic(self.retriever, parsed)
        vector = self.store.embeddings.embed_question(topic)
        per_report, evidence = self._gather(vector, " ".join(words.terms) or topic, scope, words)
        mentioned = set(self.decide(evidence, per_report, vector, words, quote_by_meaning=False))
        related = self.relate(per_report, evidence, list(mentioned), None, words)
        labels = report_labels(reports)
        rows = []
        for report in reports:
            grade: Grade = (
                MENTIONED
                if report.id in mentioned
                else RELATED
                if report.id in related
                else NOT_MENTIONED
            )
            hit = related.get(report.id) or evidence.get(report.id)
            rows.append(
                TownshipSupport(
                    township=labels[report.id],
                    report_id=report.id,
                    year=report.meta.year,
                    grade=grade,
                    citation=self._citation(1, hit) if hit and grade != NOT_MENTIONED else None,
                )
            )
        return rows

    def _gather(
        self, vector: Any, query_text: str, scope: Scope, topic: Topic
    ) -> tuple[dict[str, list[Hit]], dict[str, Hit]]:
        """Each report's best passages, and the one whose key sentence covers the topic best."""
        per_report = self.retriever.best_per_report(
            vector,
            query_text,
            scope,
            topic,
            per_report=self.rule.per_report,
            coverage_floor=min(self.rule.min_coverage, self.rule.related_coverage),
        )
        evidence = {
            rid: max(hits, key=lambda h: (h.coverage, h.dense))
            for rid, hits in per_report.items()
            if hits
        }
        return per_report, evidence

    def decide(
        self,
        evidence: dict[str, Hit],
        per_report: dict[str, list[Hit]],
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
        """
        by_words = self.decide_by_words(evidence)
        by_meaning = self.decide_by_meaning(per_report, by_words, topic)
        for hit in by_meaning.values():
            self.retriever.mark_best_sentence(hit, topic)
        evidence.update(by_meaning)
        if quote_by_meaning:
            closest = sorted(by_meaning.values(), key=lambda h: -h.dense)[:MEANING_QUOTES]
            self.retriever.mark_closest_sentences(closest, vector)
        return [*by_words, *by_meaning]

    def decide_by_words(self, evidence: dict[str, Hit]) -> list[str]:
        """Reports whose key sentence holds enough of the topic's words, in a close passage."""
        rule = self.rule
        return [
            rid
            for rid, h in evidence.items()
            if h.coverage >= rule.min_coverage and h.dense >= rule.dense_floor
        ]

    def decide_by_meaning(
        self, per_report: dict[str, list[Hit]], by_words: list[str], topic: Topic
    ) -> dict[str, Hit]:
        """Further reports with a passage very close in meaning that shares the question's words."""
        rule = self.rule
        if self.retriever.known_share(topic) < rule.meaning_known_share:
            return {}
        decided = set(by_words)
        return {
            rid: hit
            for rid, hit in self._closest(per_report).items()
            if rid not in decided
            and self.closeness(hit) >= rule.meaning_floor
            and hit.lexical >= rule.meaning_lexical
        }

    def relate(
        self,
        per_report: dict[str, list[Hit]],
        evidence: dict[str, Hit],
        mentioned: list[str],
        elsewhere: tuple[dict[str, list[Hit]], dict[str, Hit]] | None,
        topic: Topic,
        *,
        closeness: float | None = None,
    ) -> dict[str, Hit]:
        """Reports on the topic that do not state the claim (相关), each with its passage.

        `elsewhere` is every section's passages, for a question asking about some sections: a
        problems question's topic met only among the measures is related, not 未提及.
        """
        rule = self.rule
        decided = set(mentioned)
        related: dict[str, Hit] = {}

        def on_topic(
            hits: dict[str, list[Hit]], best: dict[str, Hit], closeness_floor: float
        ) -> None:
            for rid, closest in self._closest(hits).items():
                if rid in decided or rid in related:
                    continue
                hit = best.get(rid)
                if hit is not None and hit.coverage >= rule.related_coverage:
                    related[rid] = hit
                elif self.closeness(closest) >= closeness_floor:
                    self.retriever.mark_best_sentence(closest, topic)
                    related[rid] = closest

        on_topic(per_report, evidence, closeness or rule.related_closeness)
        if elsewhere is not None:
            on_topic(*elsewhere, closeness or rule.related_elsewhere)
        return related

    def closeness(self, hit: Hit) -> float:
        """How close a passage is in meaning: cosine, plus a little of its BM25 share."""
        return hit.dense + self.rule.meaning_lexical_weight * hit.lexical

    def _closest(self, per_report: dict[str, list[Hit]]) -> dict[str, Hit]:
        """Each report's passage closest in meaning to the question."""
        return {rid: max(hits, key=self.closeness) for rid, hits in per_report.items() if hits}

    def _judge(
        self,
        parsed: ParsedQuestion,
        evidence: dict[str, Hit],
        mentioned: list[str],
        related: dict[str, Hit],
        vector: Any,
        topic: Topic,
        labels: dict[str, str],
    ) -> tuple[list[str], dict[str, Hit], str | None]:
        """LLM mode: the LLM judges every 明确提到 and 相关 report (at most `judge_max`), each
        on its own passage, in batches: what it says states the claim is 明确提到, the rest
        related. Reports beyond the cap, and those of a batch whose reply could not be read,
        keep their extractive grade; the notice says so.
        """
        decided = set(mentioned)

        def strength(rid: str) -> float:
            hit = evidence[rid] if rid in decided else related[rid]
            return -(hit.coverage + hit.dense)

        candidates = [*sorted(mentioned, key=strength), *sorted(related, key=strength)]
        shown = {
            rid: evidence[rid] if rid in decided else related[rid]
            for rid in candidates[: self.rule.judge_max]
        }
        sections = "、".join(SECTION_LABELS.get(s, s) for s in parsed.sections) or "全文"
        passages = [
            f"{labels.get(rid, rid)}（{SECTION_LABELS.get(str(h.passage.meta.get('section')), '')}）："
            f"{h.passage.text}"
            for rid, h in shown.items()
        ]
        numbered = dict(enumerate(shown, 1))
        prior = [n for n, rid in numbered.items() if rid in decided]
        verdict = self.llm.judge(parsed.text, sections, passages, prior=prior)
        unread = {numbered[n] for n in verdict.unread}
        stated = [
            rid
            for n, rid in numbered.items()
            if n in verdict.supported or (rid in unread and rid in decided)
        ]
        promoted = [shown[rid] for rid in stated if rid not in decided]
        for hit in promoted:
            evidence[hit.report_id] = related.pop(hit.report_id)
        self.retriever.mark_closest_sentences(promoted[:MEANING_QUOTES], vector)
        demoted = [rid for rid in mentioned if rid in shown and rid not in stated]
        for rid in demoted:
            related[rid] = evidence[rid]
        beyond = [rid for rid in mentioned if rid not in shown]
        notices = []
        if len(candidates) > len(shown):
            notices.append(
                f"大模型核对了 {len(shown)} 个乡镇，其余 {len(candidates) - len(shown)} 个"
                "按摘录规则判断。"
            )
        if verdict.errors:
            notices.append(
                f"大模型核对未完成：{len(unread)} 个乡镇未经核对（{verdict.errors[0][:160]}），"
                "这些乡镇按摘录规则判断。"
            )
        if demoted:
            names = "、".join(labels.get(rid, rid) for rid in demoted)
            notices.append(
                f"大模型核对后，摘录规则找到的 {len(demoted)} 个乡镇改列为“相关”：{names}。"
            )
        return [*stated, *beyond], related, " ".join(notices) or None

    # -- helpers -------------------------------------------------------------------------------
    def _citation(self, n: int, hit: Hit) -> Citation:
        meta = hit.passage.meta
        start, end = int(meta["start"]), int(meta["end"])
        qs, qe = hit.sentence or (start, end)
        text = hit.passage.text
        return Citation(
            n=n,
            township=meta.get("township") or None,
            county=meta.get("county") or None,
            province=meta.get("province") or None,
            year=int(meta.get("year") or 0) or None,
            section=str(meta.get("section")),
            heading=str(meta.get("heading", "")),
            text=text,
            report_id=str(meta["report_id"]),
            source=str(meta.get("source", "")),
            start=start,
            end=end,
            quote=text[qs - start : qe - start],
            quote_start=qs,
            quote_end=qe,
        )

    def _answer(
        self,
        parsed: ParsedQuestion,
        scope: Scope,
        text: str,
        *,
        found: bool,
        citations: list[Citation],
        townships: list[str],
        not_mentioned: list[str],
    ) -> Answer:
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
        years = sorted({r.meta.year for r in self.store.list_reports(places) if r.meta.year})
        if (scope.year_from is not None or scope.year_to is not None) and years:
            named = "、".join([*scope.townships, *scope.counties, *scope.provinces]) or "库中"
            return f"筛选范围内没有报告：{named}的报告只有{'、'.join(str(y) for y in years)}年的。"
        return "筛选范围内没有报告。"

    def _empty(
        self, parsed: ParsedQuestion, scope: Scope, timings: dict[str, float], text: str
    ) -> Answer:
        answer = self._answer(
            parsed, scope, text, found=False, citations=[], townships=[], not_mentioned=[]
        )
        answer.timings = timings
        return answer


def _match_facet(value: str, known: list[str]) -> str | None:
    value = value.strip()
    if value in known:
        return value
    for name in known:
        if province_short(name) == value or name.startswith(value):
            return name
    return None


def report_labels(reports: list[StoredReport]) -> dict[str, str]:
    """How answers name each report: its township, with the year when a township has several
    reports in scope, or the file name when the township is unknown."""
    counts: dict[str, int] = {}
    for r in reports:
        if r.meta.township:
            counts[r.meta.township] = counts.get(r.meta.township, 0) + 1
    labels = {}
    for r in reports:
        if not r.meta.township:
            labels[r.id] = township_label(None, r.source)
        elif counts[r.meta.township] > 1:
            labels[r.id] = f"{r.meta.township}（{r.meta.year or '年份未知'}年）"
        else:
            labels[r.id] = r.meta.township
    return labels


def _inline(quote: str) -> str:
    """A quotation on one line for the answer text (the citation keeps the exact text)."""
    return " ".join(line.strip() for line in quote.splitlines() if line.strip())


def _overflow(reports: list[StoredReport]) -> str:
    """The line saying an overview lists only the first OVERVIEW_REPORTS reports, if it does."""
    if len(reports) <= OVERVIEW_REPORTS:
        return ""
    return f"\n\n（共 {len(reports)} 份报告，只列出前 {OVERVIEW_REPORTS} 份；请用筛选缩小范围。）"


def _place(c: Citation) -> str:
    return f"{c.county or ''}{township_label(c.township, c.source)}"


def _practice_names(text: str, on_topic: Callable[[str], bool] | None = None) -> list[str]:
    """Named practices are usually quoted: “贵和”工作室, “老娘舅茶室”, “小院+微解纷”工作法.

    With `on_topic`, only names said in a sentence about the question's topic count (a passage
    on disputes may also name an opera tour, “送戏下乡”); a short numbered lead before the name's
    sentence counts with it (“二是突出矛盾化解。…“小事不出村””).

    The practice noun after a quote belongs to the name (贵和工作室). Quotes that are not a
    township's practice are left out: occasions (“安全生产月”), national requirements and
    principles (“三重一大”要求, …的原则), honours (“枫桥经验”先进典型), abbreviations
    (简称“…”), what is cleared away (清理“奇葩证明”), figures of speech (政府的“外脑”,
    这个“死角”), and two-character labels without a practice noun (村“两委”, “四风”).
    """
    names = []
    sentences = sentence_spans(text, 0, len(text)) if on_topic else []
    for match in _QUOTED.finditer(text):
        if on_topic and not on_topic(_sentence_at(text, sentences, match.start())):
            continue
        name = match.group(1).strip().rstrip("。，,；;！!？?、")  # a slogan's own full stop
        before, after = text[max(0, match.start() - 4) : match.start()], text[match.end() :]
        if (
            not name
            or re.fullmatch(r"[\d.]+", name)
            or _OCCASION.search(name)
            or _NOT_A_PRACTICE_BEFORE.search(before)
            or _NOT_A_PRACTICE_AFTER.match(after)
        ):
            continue
        if suffix := _PRACTICE_NOUN.match(after):
            name += suffix.group(1)
        elif len(name) <= 2:
            continue
        if name not in names:
            names.append(name)
    return names[:5]


def _sentence_at(text: str, sentences: list[tuple[int, int]], at: int) -> str:
    """The sentence holding position `at`, with the lead just before it (二是突出矛盾化解。)."""
    for i, (a, b) in enumerate(sentences):
        if a <= at < b:
            if i and _is_lead(text[sentences[i - 1][0] : sentences[i - 1][1]]):
                a = sentences[i - 1][0]
            return text[a:b]
    return ""


def _is_lead(sentence: str) -> bool:
    return (
        len(sentence) < SHORT_SENTENCE
        and not re.search(r"[，,、：:]", sentence)
        and bool(_ORDINAL_LEAD.match(sentence))
    )


def _unique(items: list[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)
