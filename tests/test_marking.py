"""Marking many passages at once (app.marking) gives the marks one-by-one marking gives."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.answers.evidence import closeness, closest, gather, question_topic
from app.answers.practice import _QUOTED, PRACTICES_SHOWN, PracticeNames, names_of
from app.index_snapshot import SEPARATOR
from app.marking import _found, mark_passages
from app.question import parse_question
from app.retrieval import Hit
from app.settings import GOLD_SETS
from tests.conftest import SAMPLE_TOWNSHIPS
from vectorstore import Scope


def _questions(kind: str | None = None) -> list[str]:
    items = [
        json.loads(line)
        for path in GOLD_SETS
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [item["question"] for item in items if kind in (None, item["kind"])]


def test_every_occurrence_is_found_overlapping_ones_too():
    joined = "人人人\x1f人人\x1f法律明白人、法律顾问\x1f法律\x1f调解𠀀人"
    starts = np.array([0, 4, 7, 18, 21, 25])
    strings = ["人人", "法律", "调解", "律顾问", "𠀀人", "仲裁"]
    found = {
        strings[i]: (at.tolist(), owner.tolist())
        for i, at, _, owner in _found(joined, starts, strings)
    }
    assert found["人人"] == ([0, 1, 4], [0, 0, 1])
    assert found["法律"] == ([7, 13, 18], [2, 2, 3])
    assert found["律顾问"] == ([14], [2])
    assert found["𠀀人"] == ([23], [4])  # a character beyond the BMP is one position, as in str
    assert "仲裁" not in found
    for string, (at, _) in found.items():
        assert at == [i for i in range(len(joined)) if joined.startswith(string, i)]
    # strings all within the BMP, in texts that are not: positions are still characters
    bmp = ["人", "调解"]
    found = {bmp[i]: at.tolist() for i, at, _, _ in _found(joined, starts, bmp)}
    assert found["人"] == [i for i, char in enumerate(joined) if char == "人"]
    assert found["调解"] == [21]


@pytest.mark.parametrize("floor", [0.0, 0.3, None])
def test_marks_at_once_are_the_marks_one_by_one(service, floor):
    """Every sample passage, for the topic of every question in the gold sets (about 250
    topics): the same best sentence and coverage, and the same passages left unmarked. With
    no floor, every passage is marked, those holding none of the topic's strings too."""
    retriever = service.retriever
    facets = service.store.facet_values()
    table = retriever.snapshot().passages
    passages, rows = list(table), np.arange(len(table))
    compared = marked = 0
    for question in _questions():
        parsed = parse_question(question, facets)
        one_by_one, at_once = (question_topic(retriever, parsed) for _ in range(2))
        expected = [Hit(p, 0.0, 0.0, 0.0) for p in passages]
        for hit in expected:
            found = one_by_one.found_in(hit.passage.text)
            if floor is None or (
                found and (floor <= 0 or retriever._coverage(found, one_by_one, False) >= floor)
            ):
                retriever.mark_best_sentence(hit, one_by_one)
        marks = mark_passages(retriever, table, rows, table.joined(rows), at_once, floor)
        got = [
            (c, (a, b)) if a >= 0 else (0.0, None)
            for c, a, b in zip(marks.coverage, marks.start, marks.end, strict=True)
        ]
        for hit, (coverage, sentence) in zip(expected, got, strict=True):
            assert (coverage, sentence) == (hit.coverage, hit.sentence), (question, hit.passage.id)
        compared += len(got)
        marked += sum(sentence is not None for _, sentence in got)
    assert marked > compared / 20  # the comparison is not of unmarked passages only


def test_candidates_compare_like_max_over_each_reports_hits(service):
    """The best passage of every report, chosen with numpy, is the one `max` picks from its
    hits (first of equals), and the same object as in the report's list."""
    engine, facets = service.engine, service.store.facet_values()
    vector = service.store.embeddings.embed_question("调解")
    for question in ("哪些镇提到了法律顾问？", "别的镇在矛盾纠纷化解上有什么做法？"):
        topic = question_topic(service.retriever, parse_question(question, facets))
        per_report, evidence = gather(engine, vector, " ".join(topic.terms), Scope(), topic)
        assert set(per_report) == set(evidence) and len(per_report) == len(SAMPLE_TOWNSHIPS)
        for rid, hits in per_report.items():
            want = max(hits, key=lambda h: (h.coverage, h.dense))
            assert evidence[rid] is want
            near = max(hits, key=lambda h: closeness(h, engine.rule))
            assert closest(per_report, engine.rule)[rid] is near
        quoted = PracticeNames(engine, per_report, topic, np.ones(len(per_report.rows))).quoted
        assert quoted.any() and not quoted.all()
        flagged = per_report.flagged(quoted)
        for rid, hits in per_report.items():
            said = [h for h in hits if _QUOTED.search(h.passage.text)]
            quoting = [per_report.hit(k) for k in flagged(rid)]
            assert quoting == said
            assert all(a is b for a, b in zip(quoting, said, strict=True))


def test_hits_marked_together_are_marked_as_one_by_one(service):
    """`mark_best_sentences` (the related-by-meaning reports of a corpus-wide question, all
    at once) leaves each hit as `mark_best_sentence` does, whether a passage holds the topic's
    strings or not, and whether it was marked before or not."""
    retriever, facets = service.retriever, service.store.facet_values()
    table = retriever.snapshot().passages
    for question in ("哪些乡镇承认执法能力不足？", "哪些镇的执法人员一人多岗，顾不上执法？"):
        parsed = parse_question(question, facets)
        one_by_one, together = (question_topic(retriever, parsed) for _ in range(2))
        expected = [Hit(table[i], 0.0, 0.0, 0.0, row=i) for i in range(len(table))]
        got = [Hit(table[i], 0.0, 0.0, 0.0, row=i) for i in range(len(table))]
        for hit in expected:
            retriever.mark_best_sentence(hit, one_by_one)
        retriever.mark_best_sentence(got[0], together)  # one known already
        retriever.mark_best_sentences(got, together)
        assert [(h.coverage, h.sentence) for h in got] == [
            (h.coverage, h.sentence) for h in expected
        ]
        assert any(h.sentence and not h.coverage for h in got)  # some hold none of the strings
        assert together.marks == one_by_one.marks


def test_practice_names_found_at_once_are_those_read_passage_by_passage(service):
    """Every candidate passage of every gold question's topic, asked as a practice question:
    the practices named are those `names_of` reads from the passage on its own (quotes in a
    sentence on the topic, with its numbered lead, or all under a heading on it)."""
    engine, facets = service.engine, service.store.facet_values()
    vector = service.store.embeddings.embed_question("做法")
    compared = named = 0
    for question in _questions():
        topic = question_topic(service.retriever, parse_question(question, facets), grading=True)
        per_report, _ = gather(engine, vector, " ".join(topic.terms), Scope(), topic)
        # every candidate searched at once, or those on the topic (the rest read one by one)
        on_topic = per_report.marks.coverage >= engine.rule.min_coverage
        for scan in (np.ones(len(per_report.rows), dtype=bool), on_topic):
            names = PracticeNames(engine, per_report, topic, scan)
            for hits in per_report.values():
                for hit in hits:
                    assert names.of(hit) == names_of(engine, hit, topic), (question, hit.passage.id)
                    compared += 1
                    named += bool(names.of(hit))
            for rid, hits in per_report.items():
                for hit in hits[:2]:  # the entry's own passage is a candidate or not
                    own = hit if hit is hits[0] else Hit(hit.passage, 0.0, 0.0, 0.0)
                    want = _named_one_by_one(engine, hits, own, topic)
                    assert names.named(rid, own, engine.rule.min_coverage) == want, question
        stranger = Hit(per_report.hit(0).passage, 0.0, 0.0, 0.0)  # not one of the candidates
        assert per_report.index_of(stranger) is None
        assert names.of(stranger) == names_of(engine, stranger, topic)
    assert named > compared / 20  # not a comparison of empty lists only


def test_a_text_holding_the_separator_has_its_practices_read_passage_by_passage(service):
    """If a passage's text held the separator that joins candidates' texts, quotes could not
    be told apart by passage: every entry's names are read one passage at a time, the same."""
    engine, facets = service.engine, service.store.facet_values()
    vector = service.store.embeddings.embed_question("做法")
    lines, cited = [], 0
    for question in _questions(kind="practice"):
        topic = question_topic(service.retriever, parse_question(question, facets), grading=True)
        per_report, evidence = gather(engine, vector, " ".join(topic.terms), Scope(), topic)
        joined, starts = per_report.text
        per_report.text = (joined + SEPARATOR, starts)  # one separator too many
        scan = np.ones(len(per_report.rows), dtype=bool)
        names = PracticeNames(engine, per_report, topic, scan)
        for rid, hits in per_report.items():
            got = names.named(rid, evidence[rid], engine.rule.min_coverage)
            assert got == _named_one_by_one(engine, hits, evidence[rid], topic), question
            lines.append(got[0])
            cited += len(got[1])
    assert sum(bool(line) for line in lines) > len(lines) / 4 and cited


def _named_one_by_one(engine, hits: list[Hit], hit: Hit, topic) -> tuple[list[str], list[Hit]]:
    """An entry's practices and the other passages cited for them, each passage read on its
    own: the entry's, then the report's other candidates on the topic that name something (the
    entry's own passage is cited once, even when its hit is not the candidate's)."""
    found, cited = names_of(engine, hit, topic), []
    for other in hits:
        on_topic = other.passage.id != hit.passage.id and other.coverage >= engine.rule.min_coverage
        if on_topic and (more := names_of(engine, other, topic)):
            cited.append(other)
            found.extend(more)
    return list(dict.fromkeys(found))[:PRACTICES_SHOWN], cited
