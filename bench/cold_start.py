"""Cold start: wall time of fresh `fazhi ask` processes, and of `fazhi serve` to its first answer.

Runs the code of the checkout this file is in (its `app` package), so copying it into an older
checkout measures that code on the same stores:

    python bench/cold_start.py --store /tmp/devstore --store /tmp/store2000 --runs 3 --serve

For each store: one untimed `fazhi ask` first (a store whose index snapshot is missing or stale
builds it then, as the first question after an ingest would without one), then `--runs` timed
processes for a lookup and for a corpus-wide question (median, and the slowest). With `--serve`,
the seconds from starting `fazhi serve` on a free loopback port to its first complete answer.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from load_test import ask as web_ask  # noqa: E402

LOOKUP = "石桥镇有多少名法律明白人？"
CORPUS_WIDE = "哪些乡镇把执法能力不足列为存在的问题？"


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fresh_ask(store: Path, question: str) -> tuple[float, float]:
    """Wall and CPU seconds of one `fazhi ask` process (CPU time is steadier on a busy machine)."""
    t0, c0 = time.perf_counter(), child_cpu()
    subprocess.run(
        [sys.executable, "-m", "app.cli", "ask", question, "--json", "--store", str(store)],
        cwd=ROOT,
        env=env(),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0, child_cpu() - c0


def serve_first_answer(store: Path, timeout: float = 900.0) -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--store", str(store), "--port", str(port)],
        cwd=ROOT,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}/", timeout=httpx.Timeout(timeout)
        ) as http:
            while time.perf_counter() - t0 < timeout:
                try:
                    if web_ask(http, LOOKUP) == "":
                        return time.perf_counter() - t0
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        raise TimeoutError(f"no answer from fazhi serve within {timeout} s")
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, action="append", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help="also time fazhi serve's first answer")
    args = parser.parse_args()
    print(f"code: {ROOT}")
    print(
        "| store | first ask s | lookup median s (CPU s) | lookup max s "
        "| corpus-wide median s (CPU s) | corpus-wide max s | serve first answer s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for store in args.store:
        first, _ = fresh_ask(store, LOOKUP)
        lookups = [fresh_ask(store, LOOKUP) for _ in range(args.runs)]
        corpus = [fresh_ask(store, CORPUS_WIDE) for _ in range(args.runs)]
        serve = f"{serve_first_answer(store):.1f}" if args.serve else ""
        cells = []
        for runs in (lookups, corpus):
            wall, cpu = [w for w, _ in runs], [c for _, c in runs]
            cells.append(
                f"{statistics.median(wall):.2f} ({statistics.median(cpu):.2f}) | {max(wall):.2f}"
            )
        print(f"| {store.name} | {first:.1f} | {cells[0]} | {cells[1]} | {serve} |", flush=True)


if __name__ == "__main__":
    main()
