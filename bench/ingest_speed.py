"""Ingest pipeline speed as a ratio of pure embedding speed (issue goal: >= 0.9).

Both are measured in one run, on the same passages: the bundled reports copied `--copies` times
(each copy made distinct, so nothing is skipped as unchanged). The two are timed in turn
`--repeats` times (each ingest into a fresh store) and the best of each is kept, so neither gets
the one-time costs of the first pass (e.g. oneDNN creating its kernels for each new batch shape).

    python bench/ingest_speed.py --copies 4
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from app.indexing import ingest_paths
from app.services import make_embeddings, open_store
from app.settings import SAMPLE_CORPUS, Settings
from ingest import build_report
from vectorstore import embedding_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2, help="timed passes of each (best kept)")
    args = parser.parse_args()
    settings = Settings(_env_file=None)
    embeddings = make_embeddings(settings)
    embeddings.embed_query("预热")  # load (and build, on first use) outside the timings
    with tempfile.TemporaryDirectory(prefix="fazhi-bench-") as tmp:
        corpus = Path(tmp) / "reports"
        corpus.mkdir()
        for path in sorted(SAMPLE_CORPUS.glob("*.txt")):
            text = path.read_text(encoding="utf-8")
            for c in range(args.copies):
                (corpus / f"{path.stem}-{c}.txt").write_text(
                    text + f"\n（副本{c}）\n", encoding="utf-8"
                )
        reports = [build_report(p) for p in sorted(corpus.glob("*.txt"))]
        texts = [embedding_text(r.meta, p) for r in reports for p in r.passages]

        embed_s = pipeline_s = float("inf")
        for i in range(args.repeats):
            t0 = time.perf_counter()
            embeddings.embed_passages(texts)
            embed_s = min(embed_s, time.perf_counter() - t0)

            store_dir = Path(tmp) / f"store{i}"
            store = open_store(settings.model_copy(update={"store": store_dir}), embeddings)
            t1 = time.perf_counter()
            summary = ingest_paths(
                [corpus], store, max_bytes=settings.max_bytes, chunking=settings.chunking
            )
            pipeline_s = min(pipeline_s, time.perf_counter() - t1)
    n = len(texts)
    assert summary.passages == n, (summary.passages, n)
    embed_rate, pipeline_rate = n / embed_s, n / pipeline_s
    print(
        f"model: {embeddings.model}; reports: {len(reports)}; passages: {n}; best of {args.repeats}"
    )
    print("| stage | seconds | passages/s |")
    print("| --- | --- | --- |")
    print(f"| pure embedding | {embed_s:.1f} | {embed_rate:.1f} |")
    print(
        f"| full ingest (load, clean, chunk, embed, store) | {pipeline_s:.1f} | {pipeline_rate:.1f} |"
    )
    print(f"\npipeline / embedding speed ratio: {pipeline_rate / embed_rate:.2f}")


if __name__ == "__main__":
    main()
