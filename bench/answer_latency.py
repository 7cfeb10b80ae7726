"""Answer latency at scale: lookup and corpus-wide questions over N reports, extractive mode.

The N reports are the five bundled samples cloned under new township names, with their real
passage vectors copied (so no embedding is needed to build a 10,000-report store). Query
embedding time is reported separately from retrieval and answer composition.

    python bench/answer_latency.py --reports 10000
    python bench/answer_latency.py --store DIR --answers answers.json   # to diff two codes' answers

The peak resident memory of the process (the store open, the index loaded, the questions
answered) is printed with the timings.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from app.answering import AnswerService
from app.indexing import ingest_paths
from app.services import open_store
from app.settings import SAMPLE_CORPUS, Settings
from vectorstore.store import PASSAGES, REPORTS

LOOKUPS = [
    "石桥镇有多少名法律明白人？",
    "王场镇建了多少个贵和工作室？",
    "万灵镇办理了几起行政复议案件？",
]
CORPUS_WIDE = [
    "哪些乡镇把执法能力不足列为存在的问题？",
    "哪些镇实现了村法律顾问全覆盖？",
    "别的镇在矛盾纠纷化解上有什么做法？",
    # worded unlike any report: answered by meaning, quoting sentences embedded at question time
    "哪些镇的执法人员一人多岗，顾不上执法？",
]


def clone_store(settings: Settings, n_reports: int) -> None:
    """Fill the store with n_reports copies of the samples (township names made unique)."""
    store = open_store(settings)
    ingest_paths([SAMPLE_CORPUS], store, max_bytes=settings.max_bytes, chunking=settings.chunking)
    passages = store.client.get_collection(PASSAGES)
    reports = store.client.get_collection(REPORTS)
    base_p = passages.get(include=["embeddings", "documents", "metadatas"])
    base_r = reports.get(include=["documents", "metadatas"])
    copies = max(n_reports // len(base_r["ids"]) - 1, 0)
    vectors = np.asarray(base_p["embeddings"])
    batch: dict[str, list] = {"ids": [], "documents": [], "metadatas": [], "embeddings": []}

    def flush() -> None:
        if batch["ids"]:
            passages.upsert(**batch)
            for values in batch.values():
                values.clear()

    for c in range(1, copies + 1):
        suffix = f"{c:05d}"
        reports.upsert(
            ids=[f"{rid}-{suffix}" for rid in base_r["ids"]],
            documents=base_r["documents"],
            metadatas=[
                {
                    **m,
                    "township": f"{m['township'][:-1]}{suffix}镇",
                    "source": f"{m['source']}#{suffix}",
                    "fingerprint": suffix,
                }
                for m in base_r["metadatas"]
            ],
            embeddings=[[0.0]] * len(base_r["ids"]),
        )
        batch["ids"].extend(f"{pid}-{suffix}" for pid in base_p["ids"])
        batch["documents"].extend(base_p["documents"])
        batch["metadatas"].extend(
            {
                **m,
                "report_id": f"{m['report_id']}-{suffix}",
                "township": f"{m['township'][:-1]}{suffix}镇",
            }
            for m in base_p["metadatas"]
        )
        batch["embeddings"].extend(vectors)
        if len(batch["ids"]) >= 5000:
            flush()
        if c % 200 == 0:
            print(f"  cloned {c * len(base_r['ids'])} reports", flush=True)
    flush()


def measure(service: AnswerService, questions: list[str], repeats: int) -> dict[str, float]:
    total, retrieve, embed, cpu = [], [], [], []
    for _ in range(repeats):
        for q in questions:
            t0, c0 = time.perf_counter(), time.process_time()
            answer = service.ask(q)
            total.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            embed.append(answer.timings.get("embed_ms", 0.0))
            retrieve.append(total[-1] - embed[-1])
    return {
        "p50_ms": statistics.median(total),
        "p95_ms": float(np.percentile(total, 95)),
        "p95_ms_without_query_embedding": float(np.percentile(retrieve, 95)),
        "median_query_embedding_ms": statistics.median(embed),
        # steadier than wall time on a shared machine (all threads' CPU time)
        "cpu_p50_ms": statistics.median(cpu),
        "cpu_p95_ms": float(np.percentile(cpu, 95)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1000, help="how many reports in the store")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--store", type=Path, help="keep the cloned store here and reuse it")
    parser.add_argument(
        "--answers", type=Path, help="write every question's answer (no timings) here as JSON"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fazhi-bench-") as tmp:
        settings = Settings(_env_file=None, store=args.store or Path(tmp) / "store")
        t0 = time.perf_counter()
        if not (args.store and args.store.exists()):
            clone_store(settings, args.reports)
        build_s = time.perf_counter() - t0
        service = AnswerService(open_store(settings))
        t1 = time.perf_counter()
        snap = service.retriever.snapshot()
        load_s = time.perf_counter() - t1
        n_reports = len(service.store.list_reports())
        service.ask(LOOKUPS[0])  # warm-up: tokenizer dictionary, first query
        lookup = measure(service, LOOKUPS, args.repeats)
        corpus = measure(service, CORPUS_WIDE, args.repeats)
        if args.answers:
            answers = {}
            for q in LOOKUPS + CORPUS_WIDE:
                answer = service.ask(q).to_dict()
                answer.pop("timings", None)
                answers[q] = answer
            args.answers.write_text(json.dumps(answers, ensure_ascii=False, indent=1), "utf-8")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nreports: {n_reports}, passages: {len(snap.passages)}; store built in {build_s:.0f} s, "
        f"index snapshot loaded in {load_s:.1f} s; peak memory {peak_mb:.0f} MB"
    )
    print(
        "| question kind | p50 ms | p95 ms | p95 ms without query embedding "
        "| query embedding ms (median) | CPU ms p50 | CPU ms p95 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, m in (("lookup", lookup), ("corpus-wide", corpus)):
        print(
            f"| {name} | {m['p50_ms']:.0f} | {m['p95_ms']:.0f} | {m['p95_ms_without_query_embedding']:.0f} "
            f"| {m['median_query_embedding_ms']:.0f} | {m['cpu_p50_ms']:.0f} | {m['cpu_p95_ms']:.0f} |"
        )


if __name__ == "__main__":
    main()
