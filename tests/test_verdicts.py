"""Grading reports (app.answers.verdicts) on hand-made passages, with the sample store's retriever."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.answers.engine import Engine
from app.answers.models import MENTIONED, NOT_MENTIONED, RELATED
from app.answers.rule import DecisionRule
from app.answers.service import AnswerService
from app.answers.verdicts import decide_by_words, judge, near, relate, verdict_list
from app.llm import Verdict as JudgeVerdict
from app.question import parse_question
from app.retrieval import Hit, Topic
from ingest.model import ReportMeta
from vectorstore import StoredPassage, StoredReport

TEXT = "我镇执法队伍专业人员不足，执法能力有待提高。"


def hit(rid: str, *, coverage: float = 0.0, dense: float = 0.0, lexical: float = 0.0) -> Hit:
    meta = {"report_id": rid, "start": 0, "end": len(TEXT), "section": "problems"}
    return Hit(StoredPassage(f"{rid}:0", TEXT, meta), dense, dense, lexical, coverage)


def report(rid: str, township: str) -> StoredReport:
    return StoredReport(rid, f"{rid}.txt", "txt", ReportMeta(township=township), [], 1, rid)


@pytest.fixture
def engine(service: AnswerService) -> Engine:
    return replace(service.engine, rule=DecisionRule())


@pytest.fixture
def topic(service: AnswerService) -> Topic:
    return service.retriever.topic([("执法",), ("能力",)])


def test_a_report_states_the_claim_with_enough_words_in_a_close_passage(engine):
    evidence = {
        "words-and-close": hit("words-and-close", coverage=0.5, dense=0.9),
        "words-but-far": hit("words-but-far", coverage=0.5, dense=0.8),
        "close-but-few-words": hit("close-but-few-words", coverage=0.3, dense=0.95),
        # less than half the topic's weight is related at most: "not sure", never a claim
        "under-half-the-words": hit("under-half-the-words", coverage=0.45, dense=0.95),
    }
    assert decide_by_words(engine, evidence) == ["words-and-close"]


def test_a_reports_verdict_does_not_depend_on_the_other_reports(engine):
    alone = {"r": hit("r", coverage=0.55, dense=0.83)}
    crowd = alone | {f"x{i}": hit(f"x{i}", coverage=1.0, dense=0.99) for i in range(50)}
    assert "r" in decide_by_words(engine, alone)
    assert "r" in decide_by_words(engine, crowd)


def test_related_is_on_the_topic_by_words_or_by_closeness_and_never_a_decided_report(engine, topic):
    rule = engine.rule

    def passages() -> dict[str, list[Hit]]:  # fresh: relate marks a close passage's sentence
        return {
            "decided": [hit("decided", coverage=0.9, dense=0.95)],
            "some-words": [hit("some-words", coverage=rule.related_coverage, dense=0.5)],
            "close": [hit("close", coverage=0.1, dense=rule.related_closeness)],
            "neither": [hit("neither", coverage=0.1, dense=rule.related_closeness - 0.05)],
        }

    per_report = passages()
    evidence = {rid: hits[0] for rid, hits in per_report.items()}
    related = relate(engine, per_report, evidence, ["decided"], None, topic)
    assert set(related) == {"some-words", "close"}
    assert related["close"].sentence is not None  # quoted at its sentence on the topic
    # a stricter floor (negation questions) leaves out the merely close passage
    per_report = passages()
    evidence = {rid: hits[0] for rid, hits in per_report.items()}
    strict = relate(engine, per_report, evidence, ["decided"], None, topic, closeness=0.99)
    assert set(strict) == {"some-words"}


def test_a_topic_met_only_in_other_sections_is_related_when_close_enough(engine, topic):
    elsewhere_hits = {
        "measures-only": [hit("measures-only", dense=engine.rule.related_elsewhere)],
        "far": [hit("far", dense=engine.rule.related_elsewhere - 0.02)],
    }
    asked: list[set[str]] = []

    def elsewhere(graded: set[str]):  # every section's passages of the reports not graded yet
        asked.append(set(graded))
        rest = {rid: hits for rid, hits in elsewhere_hits.items() if rid not in graded}
        return rest, {rid: hits[0] for rid, hits in rest.items()}

    stated = {"stated": [hit("stated", coverage=0.9, dense=0.9)]}
    related = relate(engine, stated, {"stated": stated["stated"][0]}, ["stated"], elsewhere, topic)
    assert set(related) == {"measures-only"}
    assert asked == [{"stated"}]  # a report graded already is not gathered again


def test_verdicts_list_every_report_mentioned_first_then_related_then_the_rest():
    reports = [
        report(r, t) for r, t in (("a", "甲镇"), ("b", "乙镇"), ("c", "丙镇"), ("d", "丁镇"))
    ]
    labels = {r.id: r.meta.township or r.id for r in reports}
    evidence = {"b": hit("b", coverage=0.5, dense=0.9), "d": hit("d", coverage=0.8, dense=0.9)}
    related = {"a": hit("a", coverage=0.3, dense=0.85)}
    rows = verdict_list(reports, labels, ["b", "d"], related, evidence, {"d": 1, "b": 2, "a": 3})
    assert [(v.township, v.grade) for v in rows] == [
        ("丁镇", MENTIONED),
        ("乙镇", MENTIONED),
        ("甲镇", RELATED),
        ("丙镇", NOT_MENTIONED),
    ]
    assert rows[0].score == 1.7 and rows[0].citation == 1
    assert rows[3].score == 0.0 and rows[3].citation is None


class StubJudge:
    """Approves the passages of the named townships; records what it was asked."""

    def __init__(self, approve: set[str], unread: set[int] = frozenset()) -> None:
        self.approve, self.unread, self.asked = approve, set(unread), []

    def judge(self, question, sections, passages, prior=(), *, reports=None, progress=None):
        self.asked.append((passages, set(prior)))
        supported = {n for n, p in enumerate(passages, 1) if p.split("（")[0] in self.approve}
        errors = ["timeout"] if self.unread else []
        return JudgeVerdict(supported - self.unread, set(self.unread), errors)


def test_the_judge_promotes_and_demotes_report_by_report(service, engine):
    parsed = parse_question("哪些乡镇执法能力不足？", service.store.facet_values())
    vector = service.store.embeddings.embed_question(parsed.query)
    evidence = {"a": hit("a", coverage=0.6, dense=0.9), "b": hit("b", coverage=0.5, dense=0.9)}
    related = {"c": hit("c", coverage=0.3, dense=0.86)}
    labels = {"a": "甲镇", "b": "乙镇", "c": "丙镇"}
    stub = StubJudge({"甲镇", "丙镇"})
    mentioned, related, notice = judge(
        replace(engine, llm=stub), parsed, evidence, ["a", "b"], related, vector, None, labels
    )
    assert mentioned == ["a", "c"] and set(related) == {"b"}
    assert evidence["c"].report_id == "c"  # the promoted report's passage is its evidence now
    passages, prior = stub.asked[0]
    assert [p.split("（")[0] for p in passages] == ["甲镇", "乙镇", "丙镇"] and prior == {1, 2}
    assert notice and "乙镇" in notice and "改列为“相关”" in notice


def test_the_judge_also_reads_reports_close_to_the_question_that_the_words_missed(
    service, engine, topic
):
    parsed = parse_question("哪些乡镇执法能力不足？", service.store.facet_values())
    vector = service.store.embeddings.embed_question(parsed.query)
    per_report = {
        "a": [hit("a", coverage=0.6, dense=0.9)],
        "d": [hit("d", dense=0.845), hit("d", dense=0.6)],  # a paraphrase the words missed
        "e": [hit("e", dense=0.85)],  # close, but not saying it
        "f": [hit("f", dense=0.8)],  # too far to ask about
    }
    evidence = {"a": per_report["a"][0]}
    close = near(engine, per_report, ["a"], {})
    assert set(close) == {"d", "e"} and close["d"] is per_report["d"][0]
    labels = {"a": "甲镇", "d": "丁镇", "e": "戊镇", "f": "己镇"}
    stub = StubJudge({"甲镇", "丁镇"})
    mentioned, related, notice = judge(
        replace(engine, llm=stub), parsed, evidence, ["a"], {}, vector, topic, labels, near=close
    )
    assert mentioned == ["a", "d"] and related == {}  # 戊镇 stays 未提及: neither list
    assert [p.split("（")[0] for p in stub.asked[0][0]] == ["甲镇", "戊镇", "丁镇"]
    assert evidence["d"].report_id == "d" and evidence["d"].sentence is not None
    assert notice == "大模型另在摘录规则判为未提及、但内容接近的乡镇中找到 1 个明确提到的：丁镇。"
    # the cap checks the graded reports first; the notice counts only those left unchecked
    capped = replace(engine, rule=DecisionRule(judge_max=2), llm=StubJudge({"甲镇"}))
    evidence = {"a": per_report["a"][0]}
    mentioned, _, notice = judge(
        capped, parsed, evidence, ["a"], {}, vector, topic, labels, near=dict(close)
    )
    assert mentioned == ["a"] and notice is None  # 戊镇 checked; 丁镇 past the cap, 未提及


def test_unjudged_reports_keep_their_extractive_grade_and_the_notice_says_so(service, engine):
    parsed = parse_question("哪些乡镇执法能力不足？", service.store.facet_values())
    evidence = {"a": hit("a", coverage=0.6, dense=0.9), "b": hit("b", coverage=0.5, dense=0.9)}
    labels = {"a": "甲镇", "b": "乙镇"}
    capped = replace(engine, rule=DecisionRule(judge_max=1), llm=StubJudge(set(), unread={1}))
    mentioned, related, notice = judge(capped, parsed, evidence, ["a", "b"], {}, None, None, labels)
    assert mentioned == ["a", "b"] and not related  # a unread, b beyond the cap
    assert notice and "其余 1 个按摘录规则判断" in notice and "1 个乡镇未经核对" in notice
