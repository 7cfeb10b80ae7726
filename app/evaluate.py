"""`fazhi eval`: run the gold set against fazhi and a naive baseline, print per-kind metrics.

Metrics: lookup passage Recall@5 and MRR@10; township precision/recall on corpus-wide and
peer-practice questions; citation validity (text matches the stored report at its offsets);
no-answer accuracy on questions the corpus cannot answer. The baseline is what a plain RAG demo
does: fixed-size chunks, dense retrieval only, top 4, always answers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.answers.evidence import question_topic
from app.answers.models import Answer
from app.answers.service import AnswerService
from app.batch import BatchQuestion, answer_questions
from app.question import parse_question
from ingest.errors import FazhiError
from vectorstore import PassageStore, StoredReport

BASELINE_CHUNK = 500
BASELINE_OVERLAP = 50
BASELINE_K = 4


@dataclass
class GoldItem:
    id: str
    kind: str
    question: str
    townships: list[str]
    evidence: list[dict[str, str]]
    persona: str = ""
    sections: list[str] = field(default_factory=list)


def load_gold(path: Path) -> list[GoldItem]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        data = json.loads(line)
        try:
            items.append(
                GoldItem(
                    id=data["id"],
                    kind=data["kind"],
                    question=data["question"],
                    townships=list(data.get("townships", [])),
                    evidence=list(data.get("evidence", [])),
                    persona=data.get("persona", ""),
                    sections=list(data.get("sections", [])),
                )
            )
        except KeyError as exc:
            raise ValueError(f"{path}:{n}: gold item lacks {exc}") from exc
    return items


@dataclass
class Span:
    report_id: str
    start: int
    end: int


def evidence_spans(item: GoldItem, reports: dict[str, StoredReport]) -> list[Span]:
    by_township = {r.meta.township: r for r in reports.values()}
    spans = []
    for ev in item.evidence:
        report = by_township.get(ev["township"])
        if report is None or report.text is None:
            continue
        at = report.text.find(ev["quote"])
        if at >= 0:
            spans.append(Span(report.id, at, at + len(ev["quote"])))
    return spans


def _overlaps(span: Span, report_id: str, start: int, end: int) -> bool:
    return span.report_id == report_id and start < span.end and span.start < end


@dataclass
class Tally:
    lookups: int = 0
    recall_at_5: float = 0.0
    mrr_at_10: float = 0.0
    enum_questions: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    fn_with_related: int = 0  # gold townships neither 明确提到 nor 相关
    related: int = 0  # townships listed as 相关
    citations: int = 0
    valid_citations: int = 0
    none_questions: int = 0
    none_correct: int = 0
    invented: int = 0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        out = {
            "lookup_recall_at_5": self.recall_at_5 / max(self.lookups, 1),
            "lookup_mrr_at_10": self.mrr_at_10 / max(self.lookups, 1),
            "township_precision": precision,
            "township_recall": recall,
            "township_f1": 2 * precision * recall / (precision + recall)
            if precision + recall
            else 0.0,
            # 明确提到 ∪ 相关: how many gold townships a reader finds in either list
            "township_recall_with_related": (self.tp + self.fn - self.fn_with_related)
            / (self.tp + self.fn)
            if self.tp + self.fn
            else 1.0,
            "related_per_question": self.related / max(self.enum_questions, 1),
            "citation_validity": self.valid_citations / self.citations if self.citations else 1.0,
            "no_answer_accuracy": self.none_correct / max(self.none_questions, 1),
            "invented_townships_count": float(self.invented),
        }
        for kind, values in self.latencies.items():
            out[f"p95_ms_{kind}"] = float(np.percentile(values, 95)) if values else 0.0
        return out


def _check_citations(answer: Answer, reports: dict[str, StoredReport], tally: Tally) -> None:
    for c in answer.citations:
        tally.citations += 1
        text = reports[c.report_id].text or ""
        if text[c.start : c.end] == c.text and text[c.quote_start : c.quote_end] == c.quote:
            tally.valid_citations += 1


def evaluate_fazhi(service: AnswerService, gold: list[GoldItem]) -> Tally:
    store = service.store
    reports = {r.id: store.get_report(r.id) for r in store.list_reports()}
    tally = Tally()
    questions = [BatchQuestion(item.question, id=item.id) for item in gold]
    for item, result in zip(gold, answer_questions(service, questions), strict=True):
        if result.answer is None:
            raise FazhiError(f"gold item {item.id}: {result.error}")
        answer, elapsed = result.answer, result.elapsed_ms
        _check_citations(answer, reports, tally)
        if item.kind == "lookup":
            tally.latencies.setdefault("lookup", []).append(elapsed)
            spans = evidence_spans(item, reports)
            ranked = _lookup_ranking(service, answer)
            ranks = [
                i
                for i, (rid, a, b) in enumerate(ranked[:10], 1)
                if any(_overlaps(s, rid, a, b) for s in spans)
            ]
            tally.lookups += 1
            found_in_5 = bool(ranks and ranks[0] <= 5) and answer.found
            tally.recall_at_5 += 1.0 if found_in_5 else 0.0
            tally.mrr_at_10 += 1.0 / ranks[0] if ranks and answer.found else 0.0
            if not found_in_5:
                tally.failures.append(f"{item.id} lookup miss: {item.question}")
        elif item.kind in ("corpus", "practice"):
            tally.latencies.setdefault("corpus", []).append(elapsed)
            _score_townships(item, answer.townships, tally, [r.township for r in answer.related])
        elif item.kind == "none":
            tally.latencies.setdefault("none", []).append(elapsed)
            tally.none_questions += 1
            if not answer.found and not answer.townships:
                tally.none_correct += 1
            else:
                tally.failures.append(
                    f"{item.id} answered an unanswerable question: {item.question}"
                )
            tally.invented += len(answer.townships)
    return tally


def _score_townships(
    item: GoldItem, predicted: list[str], tally: Tally, related: Sequence[str] = ()
) -> None:
    gold, got = set(item.townships), set(predicted)
    tally.enum_questions += 1
    tally.tp += len(gold & got)
    tally.fp += len(got - gold)
    tally.fn += len(gold - got)
    tally.fn_with_related += len(gold - got - set(related))
    tally.related += len(set(related))
    if gold != got:
        extra = "、".join(sorted(got - gold)) or "-"
        missing = "、".join(sorted(gold - got)) or "-"
        tally.failures.append(f"{item.id} townships +{extra} / missing {missing}: {item.question}")


def _lookup_ranking(service: AnswerService, answer: Answer) -> list[tuple[str, int, int]]:
    """The passages fazhi ranks for a lookup (its citations first), as (report, start, end)."""
    ranked = [(c.report_id, c.start, c.end) for c in answer.citations]
    parsed = parse_question(answer.question, service.store.facet_values())
    topic = question_topic(service.retriever, parsed)
    vector = service.store.embeddings.embed_question(parsed.text)
    for hit in service.retriever.search(
        vector, " ".join(topic.terms) or parsed.text, parsed.scope, k=10, per_report=10
    ):
        key = (hit.report_id, int(hit.passage.meta["start"]), int(hit.passage.meta["end"]))
        if key not in ranked:
            ranked.append(key)
    return ranked


# -- the naive baseline -------------------------------------------------------------------------
@dataclass
class Chunk:
    report_id: str
    township: str
    start: int
    end: int


def evaluate_baseline(store: PassageStore, gold: list[GoldItem]) -> Tally:
    reports = {r.id: store.get_report(r.id) for r in store.list_reports()}
    chunks: list[Chunk] = []
    texts: list[str] = []
    for report in reports.values():
        text = report.text or ""
        step = BASELINE_CHUNK - BASELINE_OVERLAP
        for start in range(0, max(len(text) - BASELINE_OVERLAP, 1), step):
            end = min(start + BASELINE_CHUNK, len(text))
            chunks.append(Chunk(report.id, report.meta.township or "", start, end))
            texts.append(text[start:end])
    vectors = store.embeddings.embed_passages(texts)
    tally = Tally()
    for item in gold:
        t0 = time.perf_counter()
        q = store.embeddings.embed_question(item.question)
        order = np.argsort(-(vectors @ q))[:10]
        elapsed = (time.perf_counter() - t0) * 1000
        top = [chunks[i] for i in order]
        tally.citations += BASELINE_K
        tally.valid_citations += BASELINE_K  # slices of the text: valid by construction
        if item.kind == "lookup":
            tally.latencies.setdefault("lookup", []).append(elapsed)
            spans = evidence_spans(item, reports)
            ranks = [
                i
                for i, c in enumerate(top, 1)
                if any(_overlaps(s, c.report_id, c.start, c.end) for s in spans)
            ]
            tally.lookups += 1
            tally.recall_at_5 += 1.0 if ranks and ranks[0] <= BASELINE_K else 0.0
            tally.mrr_at_10 += 1.0 / ranks[0] if ranks else 0.0
        elif item.kind in ("corpus", "practice"):
            tally.latencies.setdefault("corpus", []).append(elapsed)
            _score_townships(item, list(dict.fromkeys(c.township for c in top[:BASELINE_K])), tally)
        elif item.kind == "none":
            tally.none_questions += 1  # it always answers with its top chunks
            tally.invented += len({c.township for c in top[:BASELINE_K]})
    return tally


def format_report(ours: dict[str, float], baseline: dict[str, float], gold: list[GoldItem]) -> str:
    counts: dict[str, int] = {}
    for item in gold:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    lines = [
        f"gold set: {len(gold)} questions ("
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        + ")",
        "",
        "| metric | fazhi | baseline | ratio |",
        "| --- | --- | --- | --- |",
    ]
    for key, value in ours.items():
        base = baseline.get(key)
        ratio = f"{value / base:.2f}x" if base else "-"
        base_s = f"{base:.3f}" if base is not None else "-"
        lines.append(f"| {key} | {value:.3f} | {base_s} | {ratio} |")
    return "\n".join(lines)


def run_eval(service: AnswerService, gold_path: Path, *, baseline: bool = True) -> dict[str, Any]:
    gold = load_gold(gold_path)
    ours = evaluate_fazhi(service, gold)
    base = evaluate_baseline(service.store, gold) if baseline else None
    return {
        "gold": str(gold_path),
        "questions": len(gold),
        "fazhi": ours.metrics(),
        "baseline": base.metrics() if base else None,
        "failures": ours.failures,
        "report": format_report(ours.metrics(), base.metrics() if base else {}, gold),
    }
