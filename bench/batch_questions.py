"""`fazhi ask --questions FILE` against one `fazhi ask` process per question, in one run.

The questions are the bundled gold sets' (every set, in order, cycled up to
--questions). Separate processes are timed on --separate of them and their mean is multiplied
out, since 100 cold starts cost minutes; the ratio is per question.

    python bench/batch_questions.py --store /tmp/devstore --questions 100 --separate 10
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.settings import GOLD_SET

FAZHI = Path(sys.executable).with_name("fazhi")


def gold_questions(n: int) -> list[str]:
    sets = sorted(GOLD_SET.parent.glob("gold*.jsonl"))
    questions = [
        json.loads(line)["question"]
        for path in sets
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return list(itertools.islice(itertools.cycle(questions), n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="an ingested store folder")
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--separate", type=int, default=10, help="cold processes to time")
    args = parser.parse_args()
    questions = gold_questions(args.questions)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as fh:
        fh.write("\n".join(questions) + "\n")
    t0 = time.perf_counter()
    done = subprocess.run(
        [FAZHI, "ask", "--questions", fh.name, "--store", args.store],
        capture_output=True,
        text=True,
        check=True,
    )
    batch_s = time.perf_counter() - t0
    answers = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(answers) == len(questions), done.stderr
    separate: list[float] = []
    # spread over the sets (the first ten are all one set's corpus-wide questions)
    for question in questions[:: max(len(questions) // args.separate, 1)][: args.separate]:
        t1 = time.perf_counter()
        subprocess.run(
            [FAZHI, "ask", question, "--json", "--store", args.store],
            capture_output=True,
            check=True,
        )
        separate.append(time.perf_counter() - t1)
    per_separate = sum(separate) / len(separate)
    per_batch = batch_s / len(questions)
    print(f"questions: {len(questions)} (separate processes timed: {len(separate)})")
    print(f"--questions: {batch_s:.1f} s in all, {per_batch * 1000:.0f} ms a question")
    print(
        f"separate `fazhi ask`: {per_separate:.2f} s a question "
        f"(x{len(questions)} = {per_separate * len(questions):.0f} s)"
    )
    print(f"speed-up: {per_separate / per_batch:.1f}x")


if __name__ == "__main__":
    main()
