"""How long the 对比 views take once the matrix is ready: 200 townships × 10 topics.

Two measures, each for the code before issue #19 (commit 8b7fde9: the plain matrix, CSV and
XLSX) and for today's (graded matrix with totals, three charts, their CSVs) in the same run:

- server: building the HTML, the charts' Vega-Lite specs and every download file;
- browser: in headless Chromium, from the click to the table's rows and every chart drawn, with
  the matrix already computed (what the user waits for after the answer is ready).

The matrix is made up (graded cells cycling through every mix, 60 counties, five years), so no
store or model is needed.

    python bench/views.py                   # 200 × 10, 5 repeats
    python bench/views.py --townships 1000 --repeats 3 --no-browser
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from app.answering import Citation
from app.answers import MENTIONED, NOT_MENTIONED, RELATED, Grade
from app.charts import CHART_NAMES, chart, chart_data, write_chart_csv
from app.compare import TOPIC_PRESETS, CompareCell, CompareMatrix, CompareRow
from app.export import write_csv, write_xlsx
from app.web.compare import matrix_html

BEFORE = "8b7fde9"  # the commit before issue #19's views
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CYCLE: list[tuple[Grade, Grade]] = [
    (MENTIONED, MENTIONED),
    (MENTIONED, NOT_MENTIONED),
    (NOT_MENTIONED, MENTIONED),
    (RELATED, NOT_MENTIONED),
    (NOT_MENTIONED, RELATED),
    (NOT_MENTIONED, NOT_MENTIONED),
    (NOT_MENTIONED, NOT_MENTIONED),
]


def made_up_matrix(townships: int, topics: list[str]) -> CompareMatrix:
    rows = []
    for i in range(townships):
        text = f"第{i}镇执法能力还存在不足，执法人员专业素质有待提高，普法宣传的针对性不强。" * 3
        c = Citation(
            n=1,
            township=f"第{i}镇",
            county=f"县{i % 60}",
            province=f"省{i % 12}",
            year=2020 + i % 5,
            section="problems",
            heading="存在的问题",
            text=text,
            report_id=f"{i:016x}",
            source=f"/reports/{i}.txt",
            start=1000,
            end=1000 + len(text),
            quote=text[:40],
            quote_start=1000,
            quote_end=1040,
        )
        cells = {}
        for j, topic in enumerate(topics):
            problem, measure = CYCLE[(i * 3 + j) % len(CYCLE)]
            cells[topic] = cell = CompareCell()
            cell.set_grade("problem", problem, c)
            cell.set_grade("measure", measure, c)
        rows.append(CompareRow(c.report_id, c.township or "", c.county, c.province, c.year, cells))
    return CompareMatrix(list(topics), rows)


def old_module(path: str) -> types.ModuleType:
    """A module as it was at BEFORE (its imports resolve to today's packages, which kept the
    names it uses)."""
    source = subprocess.run(
        ["git", "show", f"{BEFORE}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    module = types.ModuleType(f"before_{Path(path).stem}")
    exec(compile(source, f"{BEFORE}:{path}", "exec"), module.__dict__)
    return module


def render_before(matrix: CompareMatrix, out: Path, old: dict[str, Any]) -> list[Any]:
    html = old["compare"].matrix_html(matrix)
    old["export"].write_csv(matrix, out / "old.csv")
    old["export"].write_xlsx(matrix, out / "old.xlsx")
    return [html]


def render_now(matrix: CompareMatrix, out: Path, *, workbook: bool = True) -> list[Any]:
    """What the 对比 tab does once the matrix is ready; the app writes the XLSX after the table
    and the charts are shown (`workbook=False` is what the user waits for)."""
    html = matrix_html(matrix)
    write_csv(matrix, out / "new.csv")
    if workbook:
        write_xlsx(matrix, out / "new.xlsx")
    plots = []
    for data in chart_data(matrix):
        write_chart_csv(data, out / f"{data.name}.csv")
        plots.append(chart(data))
    return [html, *plots]


def timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def server_times(
    matrix: CompareMatrix, repeats: int, old: dict[str, Any]
) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        before = timed(lambda: render_before(matrix, out, old), repeats)
        now = timed(lambda: render_now(matrix, out), repeats)
        shown = timed(lambda: render_now(matrix, out, workbook=False), repeats)
        # what gr.Plot sends: each chart's Vega-Lite JSON
        specs = timed(lambda: [chart(d).to_json() for d in chart_data(matrix)], repeats)
    return {
        "before (table, CSV, XLSX)": before,
        "now (table, charts, all files)": now,
        "now, before the XLSX (what is shown)": shown,
        "now: the charts' specs alone": specs,
    }


def browser_times(
    matrix: CompareMatrix, repeats: int, old: dict[str, Any]
) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    out = Path(tempfile.mkdtemp(prefix="fazhi-bench-views-"))
    css = (ROOT / "app/web/static/fazhi.css").read_text(encoding="utf-8")
    with gr.Blocks() as app:
        gr.HTML(f"<style>{css}</style>")
        old_button = gr.Button("before", elem_id="before")
        new_button = gr.Button("now", elem_id="now")
        table = gr.HTML(elem_id="fz-matrix")
        plots = [gr.Plot(elem_id=f"fz-chart-{name}") for name in CHART_NAMES]

        runs = iter(range(1_000_000))  # each result is told apart by its run number

        def before() -> list[Any]:
            html = render_before(matrix, out, old)[0]
            return [f'<div data-run="{next(runs)}">{html}</div>', *[None] * len(plots)]

        def now() -> list[Any]:
            html, *charts = render_now(matrix, out, workbook=False)
            html = f'<div data-run="{next(runs)}">{html}</div>'
            return [html, *charts, *[None] * (len(plots) - len(charts))]

        old_button.click(before, outputs=[table, *plots])
        new_button.click(now, outputs=[table, *plots])
    app.queue()
    app.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", ssr_mode=False)
    drawn = len(chart_data(matrix))
    times: dict[str, list[float]] = {"before": [], "now": []}
    names = {"before": "before (table)", "now": "now (table and every chart drawn)"}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(str(app.local_url))
            page.wait_for_selector("#now")
            run = 0
            for _ in range(repeats):
                for which in ("before", "now"):
                    t0 = time.perf_counter()
                    page.click(f"#{which}")
                    page.wait_for_function(
                        "([run, n]) => document.querySelectorAll("
                        "`#fz-matrix [data-run='${run}'] tbody tr`).length >= n",
                        arg=[run, len(matrix.rows)],
                        timeout=60_000,
                    )
                    run += 1
                    if which == "now":
                        page.wait_for_function(
                            "n => document.querySelectorAll('[id^=fz-chart-] canvas').length >= n",
                            arg=drawn,
                            timeout=60_000,
                        )
                    times[which].append(time.perf_counter() - t0)
            browser.close()
    finally:
        app.close()
    return {names[k]: v for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--townships", type=int, default=200)
    parser.add_argument("--topics", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    topics = list(TOPIC_PRESETS[: args.topics])
    matrix = made_up_matrix(args.townships, topics)
    old = {"compare": old_module("app/web/compare.py"), "export": old_module("app/export.py")}
    results = {f"server: {k}": v for k, v in server_times(matrix, args.repeats, old).items()}
    if not args.no_browser:
        results |= {
            f"browser, click to drawn: {k}": v
            for k, v in browser_times(matrix, args.repeats, old).items()
        }
    print(f"{args.townships} townships × {len(topics)} topics, {args.repeats} repeats")
    print("| step | median s | min s | max s |\n|---|---|---|---|")
    for name, times in results.items():
        print(f"| {name} | {statistics.median(times):.3f} | {min(times):.3f} | {max(times):.3f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
