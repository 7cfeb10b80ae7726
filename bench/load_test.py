"""Load test: N concurrent clients asking the `ask` API of a running `fazhi serve` for T seconds.

Each client is a thread with its own HTTP connection; it asks the three kinds of question in
turn (corpus-wide, lookup, peer practice) through the public REST route a script would use
(`POST /gradio_api/call/ask`, then read the event stream), and waits for each answer before
asking again. A request is an error when the HTTP status, the event or the answer object is
not what `fazhi ask --json` gives. Loopback only; bounded by --seconds and --max-requests.

    python bench/load_test.py --clients 20 --seconds 90          # starts `fazhi serve` itself
    python bench/load_test.py --url http://127.0.0.1:7860/ --auth alice:s3cret

Without --url the script starts `fazhi serve` on a free loopback port over a fresh store (the
bundled samples are ingested on its first start), waits until it answers, and stops it after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

QUESTIONS = {
    "corpus": [
        "哪些乡镇把执法能力不足列为存在的问题？",
        "哪些镇实现了村法律顾问全覆盖？",
    ],
    "lookup": [
        "石桥镇有多少名法律明白人？",
        "王场镇建了多少个贵和工作室？",
    ],
    "practice": [
        "别的镇在矛盾纠纷化解上有什么做法？",
        "各镇在普法宣传上有什么做法？",
    ],
}
ANSWER_KEYS = {"question", "kind", "mode", "answer", "found", "citations", "notice"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Result:
    kind: str
    seconds: float
    error: str = ""


@dataclass
class Tally:
    results: list[Result] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, result: Result) -> int:
        with self.lock:
            self.results.append(result)
            return len(self.results)


def ask(http: httpx.Client, question: str) -> str:
    """One `ask` call; '' when the answer object is complete, else what went wrong."""
    # the REST route takes every input: question, townships, counties, provinces, year_from,
    # year_to, sections (no filter)
    data = [question, [], [], [], None, None, []]
    started = http.post("gradio_api/call/ask", json={"data": data})
    if started.status_code != 200:
        return f"POST {started.status_code}: {started.text[:120]}"
    event_id = started.json()["event_id"]
    event, data = "", ""
    with http.stream("GET", f"gradio_api/call/ask/{event_id}") as reply:
        if reply.status_code != 200:
            return f"GET {reply.status_code}"
        for line in reply.iter_lines():
            if line.startswith("event: "):
                event = line[7:].strip()
            elif line.startswith("data: "):
                data = line[6:]
                if event in ("complete", "error"):
                    break
    if event != "complete":
        return f"event {event or 'none'}: {data[:120]}"
    (answer,) = json.loads(data)
    missing = ANSWER_KEYS - set(answer)
    if missing:
        return f"answer lacks {sorted(missing)}"
    return ""


def client(
    index: int, url: str, auth: tuple[str, str] | None, deadline: float, limit: int, tally: Tally
) -> None:
    kinds = list(QUESTIONS)
    with httpx.Client(base_url=url, timeout=httpx.Timeout(120.0)) as http:
        if auth:
            http.post("login", data={"username": auth[0], "password": auth[1]}).raise_for_status()
        turn = index  # clients start at different kinds, so all three run at once
        while time.monotonic() < deadline:
            kind = kinds[turn % len(kinds)]
            question = QUESTIONS[kind][(turn // len(kinds)) % len(QUESTIONS[kind])]
            turn += 1
            t0 = time.perf_counter()
            try:
                error = ask(http, question)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            if tally.add(Result(kind, time.perf_counter() - t0, error)) >= limit:
                return


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def report(tally: Tally, clients: int, seconds: float) -> dict[str, object]:
    rows: dict[str, object] = {}
    for kind in [*QUESTIONS, "all"]:
        chosen = [r for r in tally.results if kind in ("all", r.kind)]
        ok = [r.seconds for r in chosen if not r.error]
        rows[kind] = {
            "requests": len(chosen),
            "errors": sum(1 for r in chosen if r.error),
            "p50_s": round(percentile(ok, 50), 3) if ok else None,
            "p95_s": round(percentile(ok, 95), 3) if ok else None,
            "max_s": round(max(ok), 3) if ok else None,
        }
    errors = sorted({r.error for r in tally.results if r.error})
    return {
        "clients": clients,
        "seconds": round(seconds, 1),
        "requests_per_s": round(len(tally.results) / seconds, 2) if seconds else None,
        "by_kind": rows,
        "error_samples": errors[:5],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(folder: Path, wait: float) -> tuple[subprocess.Popen[bytes], str]:
    """`fazhi serve` on a free loopback port over a new store in `folder`."""
    port = free_port()
    fazhi = shutil.which("fazhi", path=str(Path(sys.executable).parent)) or "fazhi"
    log = (folder / "serve.log").open("wb")
    command = [fazhi, "serve", "--store", str(folder / "store"), "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if k not in ("FAZHI_AUTH", "FAZHI_CHROMA_URL")},
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(1)
    process.terminate()
    sys.exit(f"fazhi serve did not come up in {wait:.0f} s; see {folder / 'serve.log'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many")
    parser.add_argument("--url", help="a running `fazhi serve` on this machine (loopback only)")
    parser.add_argument("--auth", help="user:password when the server has FAZHI_AUTH")
    parser.add_argument("--startup", type=float, default=600, help="seconds to wait for serve")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    if not 1 <= args.clients <= 200 or not 0 < args.seconds <= 3600:
        sys.exit("--clients must be 1-200 and --seconds 1-3600")
    auth = tuple(args.auth.split(":", 1)) if args.auth else None

    process = None
    folder = Path(tempfile.mkdtemp(prefix="fazhi-load-"))
    if args.url:
        url = args.url if args.url.endswith("/") else f"{args.url}/"
        if urlparse(url).hostname not in LOOPBACK:
            sys.exit(f"{args.url}: the load test only runs against this machine (127.0.0.1)")
    else:
        print("starting fazhi serve (the first start ingests the bundled samples)…", flush=True)
        process, url = start_server(folder, args.startup)
    try:
        # one answer first, so the model and index load outside the measured window
        with httpx.Client(base_url=url, timeout=600) as http:
            if auth:
                http.post("login", data={"username": auth[0], "password": auth[1]})
            if warm := ask(http, QUESTIONS["corpus"][0]):
                sys.exit(f"the server does not answer: {warm}")
        tally = Tally()
        started = time.monotonic()
        deadline = started + args.seconds
        threads = [
            threading.Thread(
                target=client, args=(i, url, auth, deadline, args.max_requests, tally), daemon=True
            )
            for i in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.seconds + 180)
        result = report(tally, args.clients, time.monotonic() - started)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=60)
            shutil.rmtree(folder, ignore_errors=True)

    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print(
        f"{result['clients']} clients for {result['seconds']} s against {url}: "
        f"{len(tally.results)} requests ({result['requests_per_s']}/s)"
    )
    print(f"{'kind':<10}{'requests':>10}{'errors':>8}{'p50 s':>8}{'p95 s':>8}{'max s':>8}")
    for kind, row in result["by_kind"].items():  # type: ignore[union-attr]
        print(
            f"{kind:<10}{row['requests']:>10}{row['errors']:>8}"
            f"{row['p50_s'] or '-':>8}{row['p95_s'] or '-':>8}{row['max_s'] or '-':>8}"
        )
    for sample in result["error_samples"]:  # type: ignore[union-attr]
        print(f"error: {sample}")


if __name__ == "__main__":
    main()
