"""Candidate recall in LLM mode: with a judge that knows the answers, how many truth townships
does fazhi put before the LLM at all?

In LLM mode every 明确提到 and 相关 report (the *candidates*) is judged by the LLM; a report
that is not a candidate is never judged, so no LLM can list it. Here the LLM is an **oracle**
(`tests/fake_llm.oracle`, behind the real `LLMWriter` over HTTP): it approves a passage iff the
passage holds one of the gold item's evidence quotes. Over the scale corpus (`app/scale.py`)
with the cap above the candidate count, final recall should then equal *candidate recall*, the
share of truth townships among the candidates; precision shows what a perfect judge leaves.

    PYTHONPATH=. .venv/bin/python bench/oracle_judge.py                  # 125 and 1000 reports
    PYTHONPATH=. .venv/bin/python bench/oracle_judge.py --sizes 125 --gold app/samples/gold.jsonl
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.answers.rule import DecisionRule
from app.answers.service import AnswerService
from app.batch import BatchQuestion, answer_questions
from app.evaluate import GoldItem, load_gold
from app.indexing import ingest_paths
from app.llm import LLMWriter
from app.scale import ScaleCorpus, build_corpus, gold_truth, grow, load_filters, table_by_set
from app.services import open_store
from app.settings import BLIND_GOLD_SETS, GOLD_SETS, SAMPLE_CORPUS, Settings
from tests.fake_llm import FakeLLM, Oracle, Script, is_judging


def oracle_for(gold: list[GoldItem], corpus: ScaleCorpus) -> Oracle:
    """The oracle judge of a gold set over `corpus` (whose place names it renames)."""
    quotes = {
        item.question: [e["quote"] for e in item.evidence if e.get("quote")]
        for item in gold
        if item.kind in ("corpus", "practice")
    }
    places = {name for source in corpus.sources for name in source.names()}
    return Oracle(quotes, places)


@dataclass
class Judged:
    """One question's truth, the candidates put before the judge, and what it listed."""

    id: str
    truth: set[str]
    candidates: set[str]  # 明确提到 ∪ 相关 after judging: every candidate stays one or the other
    listed: set[str]  # 明确提到
    notice: str


def judge_questions(
    service: AnswerService,
    corpus: ScaleCorpus,
    gold: list[GoldItem],
    filters: dict[str, dict[str, Any]],
) -> list[Judged]:
    """Every corpus and practice question of `gold` whose truth is known, answered (not a
    negation: its truth is not placed, as in the scale harness)."""
    items = [
        (item, truth)
        for item in gold
        if item.kind in ("corpus", "practice")
        and (truth := gold_truth(item, corpus, filters.get(item.id, {}))) is not None
    ]
    questions = [BatchQuestion(item.question, id=item.id) for item, _ in items]
    out = []
    for (item, truth), result in zip(items, answer_questions(service, questions), strict=True):
        answer = result.answer
        if answer is None:
            raise SystemExit(f"{item.id}: {result.error}")
        listed = set(answer.townships)
        candidates = listed | {r.township for r in answer.related}
        out.append(Judged(item.id, truth, candidates, listed, answer.notice or ""))
    return out


def share(part: int, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else "–"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[125, 1000])
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--gold", type=Path, nargs="+", help="gold sets (default: all six)")
    args = parser.parse_args()
    paths = args.gold or GOLD_SETS
    sets = [(p.stem, load_gold(p), load_filters(p)) for p in paths]
    head = [
        "gold set",
        "reports",
        "questions",
        "truth townships",
        "candidates / question",
        "candidate recall",
        "final recall",
        "final precision",
        "judging requests",
        "questions with a judging notice",
    ]
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="fazhi-bench-oracle-") as tmp, FakeLLM() as llm:
        settings = Settings(
            _env_file=None,
            store=Path(tmp) / "store",
            llm_base_url=llm.url,
            llm_model="oracle",
            llm_timeout=60,
            judge_concurrency=args.concurrency,
        )
        store = open_store(settings)
        ingest_paths(
            [SAMPLE_CORPUS], store, max_bytes=settings.max_bytes, chunking=settings.chunking
        )
        writer = LLMWriter.from_settings(settings)
        corpus = build_corpus(store, 0, seed=args.seed)
        for size in sorted(set(args.sizes)):
            t0 = time.perf_counter()
            grow(corpus, size)
            print(f"{len(corpus.reports)} reports built in {time.perf_counter() - t0:.0f} s")
            # the cap above any candidate count: every candidate is judged
            service = AnswerService(store, llm=writer, rule=DecisionRule(judge_max=size + 1))
            for name, gold, filters in sets:
                t1 = time.perf_counter()
                llm.script = Script(respond=oracle_for(gold, corpus))
                judged = judge_questions(service, corpus, gold, filters)
                truth = sum(len(j.truth) for j in judged)
                requests = [r for r in llm.script.requests if is_judging(r)]
                cells = [
                    name,
                    len(corpus.reports),
                    len(judged),
                    truth,
                    f"{sum(len(j.candidates) for j in judged) / max(len(judged), 1):.0f}",
                    share(sum(len(j.truth & j.candidates) for j in judged), truth),
                    share(sum(len(j.truth & j.listed) for j in judged), truth),
                    share(
                        sum(len(j.truth & j.listed) for j in judged),
                        sum(len(j.listed) for j in judged),
                    ),
                    len(requests),
                    sum("大模型核对" in j.notice for j in judged),
                ]
                rows.append("| " + " | ".join(str(c) for c in cells) + " |")
                print(f"  {rows[-1]}  [{time.perf_counter() - t1:.0f} s]", flush=True)
                if name in BLIND_GOLD_SETS:
                    continue
                for j in judged:
                    missed, judged_out = j.truth - j.candidates, j.truth & j.candidates - j.listed
                    if missed or judged_out or j.listed - j.truth:
                        print(
                            f"    {j.id}: truth {len(j.truth)}, not candidates {len(missed)}, "
                            f"candidates judged out {len(judged_out)}, "
                            f"listed not truth {len(j.listed - j.truth)}",
                            flush=True,
                        )
    print("\n" + table_by_set(head, rows, [name for name, _, _ in sets]))


if __name__ == "__main__":
    main()
