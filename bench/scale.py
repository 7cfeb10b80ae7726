"""Township precision and recall as the corpus grows: every gold set at 5, 125 and 1,000 reports.

The corpora are the bundled reports recombined by section under real gazetteer townships
(`app/scale.py`), so each question's truth is known at every size. One store grows from 5 to the
largest size; each size is scored for every gold set. Extractive mode.

    python bench/scale.py                      # 5, 125, 1000 reports, all gold sets
    python bench/scale.py --sizes 5 125 --gold app/samples/gold.jsonl

"bundled reports' grades moved" compares the five bundled reports' grades at each size with
their grades alone (always measured first): a verdict decided per report keeps it at 0.
"precision/recall as sources" are what a size would give if every report were listed as its
sources are alone: the corpus's own mix of parts, without any effect of its size.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from app.answering import AnswerService
from app.evaluate import load_gold
from app.indexing import ingest_paths
from app.scale import (
    SCALE_COLUMNS,
    ScaleTally,
    build_corpus,
    corpus_summary,
    grow,
    load_filters,
    scale_cell,
    score_scale,
    table_by_set,
)
from app.services import open_store
from app.settings import GOLD_SETS, SAMPLE_CORPUS, Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 125, 1000])
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--gold", type=Path, nargs="+", help="gold sets (default: every bundled one)"
    )
    args = parser.parse_args()
    paths = args.gold or GOLD_SETS
    sets = [(p.stem, load_gold(p), load_filters(p)) for p in paths]
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="fazhi-bench-scale-") as tmp:
        settings = Settings(_env_file=None, store=Path(tmp) / "store")
        store = open_store(settings)
        ingest_paths(
            [SAMPLE_CORPUS], store, max_bytes=settings.max_bytes, chunking=settings.chunking
        )
        service = AnswerService(store)
        corpus = build_corpus(store, 0, seed=args.seed)
        alone: dict[str, ScaleTally] = {}  # each set's tally at the first size
        # the bundled reports alone first: the other sizes are compared with them
        for size in sorted({len(corpus.reports), *args.sizes}):
            t0 = time.perf_counter()
            grow(corpus, size)
            summary = corpus_summary(corpus)
            print(
                f"{summary['reports']} reports ({summary['opening_only']} opening-only) built in "
                f"{time.perf_counter() - t0:.0f} s; passages embedded {summary['passages_embedded']}, "
                f"reused {summary['passages_reused']}",
                flush=True,
            )
            for name, gold, filters in sets:
                t1 = time.perf_counter()
                tally = score_scale(service, corpus, gold, filters, alone=alone.get(name))
                alone.setdefault(name, tally)
                m = tally.metrics()
                cells = [name, summary["reports"], summary["opening_only"]]
                cells += [scale_cell(m, key, fmt) for key, _, fmt in SCALE_COLUMNS]
                cells += [f"{m['scored_questions']:.0f} ({m['skipped_questions']:.0f} skipped)"]
                rows.append("| " + " | ".join(str(c) for c in cells) + " |")
                print(f"  {rows[-1]}  [{time.perf_counter() - t1:.0f} s]", flush=True)
                for line in tally.skipped:
                    print(f"    skipped {line}", flush=True)
    head = ["gold set", "reports", "opening-only", *(c[1] for c in SCALE_COLUMNS), "questions"]
    print("\n" + table_by_set(head, rows, [name for name, _, _ in sets]))


if __name__ == "__main__":
    main()
