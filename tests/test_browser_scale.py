"""The views over 210 reports in real headless Chromium (issue #19): a corpus-wide answer leads
with its counts and folds 相关 and 未提及 under theirs; the exports hold the full lists; the 对比
matrix has a totals row, sorts, filters and groups; each chart renders and its data matches the
matrix; the 报告 tab's facets count. The store is the five samples recombined (`app/scale.py`),
built once for the module (~1-2 min). Screenshots go to tests/artifacts/ (look at them).

    .venv/bin/python -m pytest tests/test_browser_scale.py -m browser
"""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import load_workbook

from app.answering import AnswerService
from app.answers import NOT_MENTIONED
from app.scale import build_corpus
from app.services import open_store
from app.settings import Settings
from app.web import build_app
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, TIMEOUT, ask, shot
from tests.test_web import serve
from vectorstore import FazhiEmbeddings

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
if not CHROMIUM.exists():
    pytest.skip("needs Debian's chromium: apt-get install chromium", allow_module_level=True)

SIZE = 210
QUESTION = "哪些乡镇把普法宣传不到位列为存在的问题？"
TOPICS = ["执法能力", "普法宣传", "法律顾问", "矛盾纠纷化解"]  # the tab's default selection
LEAD = re.compile(
    r"在范围内的 (\d+) 份报告中：(\d+) 个乡镇明确提到，(\d+) 个提到相关内容，(\d+) 个未提及。"
)


@dataclass
class Served:
    url: str
    service: AnswerService


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, sample_store_dir: Path, embeddings: FazhiEmbeddings
) -> Iterator[Served]:
    copy = tmp_path_factory.mktemp("browser-scale") / "store"
    shutil.copytree(sample_store_dir, copy)
    settings = Settings(_env_file=None, store=copy)
    store = open_store(settings, embeddings)
    build_corpus(store, SIZE, seed=16)
    service = AnswerService(store)
    app = build_app(settings, service)
    yield Served(serve(app, settings), service)
    app.close()


@pytest.fixture
def page(served: Served) -> Iterator[sync_api.Page]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True
        )
        page = context.new_page()
        page.set_default_timeout(TIMEOUT * 2)
        page.goto(served.url)
        expect(page.locator(".fz-banner")).to_contain_text(f"库中 {SIZE} 份报告")
        yield page
        browser.close()


def download(page: sync_api.Page, selector: str) -> Path:
    """The file a download button gives, under its own name (openpyxl wants the .xlsx)."""
    with page.expect_download() as got:
        page.locator(selector).click()
    path = Path(tempfile.mkdtemp(prefix="fazhi-dl-")) / got.value.suggested_filename
    got.value.save_as(path)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_corpus_wide_answer_leads_with_counts_and_folds_the_long_lists(
    page: sync_api.Page, served: Served
) -> None:
    answer = served.service.ask(QUESTION).to_dict()
    grades = [v["grade"] for v in answer["verdicts"]]
    absent = grades.count(NOT_MENTIONED)
    assert len(grades) == SIZE and absent > 12 and answer["related"]  # long lists to fold

    ask(page, QUESTION)
    message = page.locator("#fz-chatbot .fz-msg").last
    first = message.locator(":scope > *").first  # nothing comes before the counts
    expect(first).to_have_class("fz-lead")
    counts = LEAD.fullmatch(first.inner_text().strip())
    assert counts, first.inner_text()
    assert [int(n) for n in counts.groups()] == [
        SIZE,
        len(answer["townships"]),
        len(answer["related"]),
        absent,
    ]

    folded = message.locator("details.fz-absent")
    expect(folded.locator(":scope > summary")).to_contain_text(f"未提及：{absent} 个乡镇")
    assert folded.evaluate("e => !e.open")
    expect(folded.locator("p").first).to_be_hidden()  # no wall of names
    related = message.locator("details.fz-related")
    expect(related.locator(":scope > summary")).to_contain_text(
        f"另有 {len(answer['related'])} 个乡镇"
    )
    assert related.evaluate("e => !e.open")
    first.scroll_into_view_if_needed()
    shot(page, "scale-chat-answer", full_page=False)

    folded.locator(":scope > summary").click()
    expect(folded.locator("p").first).to_be_visible()
    shown = folded.inner_text()
    assert all(v["township"] in shown for v in answer["verdicts"] if v["grade"] == NOT_MENTIONED)
    related.locator(":scope > summary").click()
    expect(related.locator("li").first).to_be_visible()
    assert related.locator("li").count() == len(answer["related"])
    shot(page, "scale-chat-answer-open", full_page=False)

    # the exports hold every list whole, however the chat folds them
    markdown = download(page, "#fz-export-md").read_text(encoding="utf-8")
    full = markdown.split("## 完整名单", 1)[1]
    assert f"### 未提及（{absent} 个）" in full
    assert all(v["township"] in full for v in answer["verdicts"])
    rows = read_csv(download(page, "#fz-export-csv"))
    assert len(rows) == SIZE
    assert sorted(r["乡镇"] for r in rows) == sorted(v["township"] for v in answer["verdicts"])
    assert sum(r["等级"] == NOT_MENTIONED for r in rows) == absent
    book = load_workbook(download(page, "#fz-export-xlsx"))
    assert book["全部"].max_row - 1 == SIZE and book[NOT_MENTIONED].max_row - 1 == absent


def column_keys(table: sync_api.Locator, col: int) -> list[float]:
    return table.evaluate(
        f"t => Array.from(t.tBodies[0].rows).filter(r => !r.hidden && !r.classList.contains('fz-group-row'))"
        f".map(r => Number(r.children[{col}].dataset.k))"
    )


def test_the_matrix_totals_sort_filter_group_and_charts_match_it(page: sync_api.Page) -> None:
    page.get_by_role("tab", name="对比").click()
    page.locator("#fz-compare-run").click()
    table = page.locator("#fz-matrix table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(SIZE)
    header = table.locator("thead tr").first.locator("th").all_inner_texts()
    assert header == ["乡镇", "县区", "年份", *TOPICS]

    # the totals row against the full table downloaded
    totals = table.locator("tr.fz-totals td").all_inner_texts()[1:]
    rows = read_csv(download(page, "#fz-csv"))
    assert len(rows) == SIZE * len(TOPICS)
    stated: dict[str, dict[str, int]] = {}
    for topic, cell in zip(TOPICS, totals, strict=True):
        numbers = dict(re.findall(r"(问题|举措|相关) (\d+)", cell))
        mine = [r for r in rows if r["主题"] == topic]
        problems = sum(r["问题等级"] == "明确提到" for r in mine)
        measures = sum(r["举措等级"] == "明确提到" for r in mine)
        related = sum(
            "明确提到" not in (r["问题等级"], r["举措等级"])
            and "相关" in (r["问题等级"], r["举措等级"])
            for r in mine
        )
        assert {k: int(v) for k, v in numbers.items()} == {
            "问题": problems,
            "举措": measures,
            "相关": related,
        }, topic
        stated[topic] = {"problems": problems, "measures": measures, "related": related}

    # sorting by a topic: most mentioned first, then the other way
    table.locator("button.fz-sort[data-col='3']").click()
    keys = column_keys(table, 3)
    assert keys == sorted(keys, reverse=True) and keys[0] > keys[-1]
    expect(table.locator("thead th").nth(3)).to_have_attribute("aria-sort", "descending")
    table.locator("button.fz-sort[data-col='3']").click()
    assert column_keys(table, 3) == sorted(keys)
    table.locator("button.fz-sort[data-col='2']").click()  # by year, oldest first
    years = column_keys(table, 2)
    assert years == sorted(years) and years[0] < years[-1]
    shot(page, "scale-compare-sorted", full_page=False)

    # only the rows mentioning a topic; grouped by county
    tools = page.locator("#fz-matrix .fz-matrix-tools")
    mentioning = int(re.search(r"（(\d+)/", tools.inner_text()).group(1))  # type: ignore[union-attr]
    tools.get_by_text("只看提到任一主题的乡镇").click()
    assert len(column_keys(table, 3)) == mentioning
    counties = int(re.search(r"按县区分组（(\d+) 个县区）", tools.inner_text()).group(1))  # type: ignore[union-attr]
    tools.get_by_text("按县区分组").click()
    groups = table.locator("tr.fz-group-row")
    expect(groups.first).to_be_visible()
    assert groups.count() == counties
    shot(page, "scale-compare-grouped", full_page=False)

    # each chart renders, and the numbers it draws are the matrix's
    for name in ("grades", "areas", "years"):
        canvas = page.locator(f"#fz-chart-{name} canvas")
        expect(canvas).to_be_visible()
        box = canvas.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100, (name, box)
    grades = read_csv(download(page, "#fz-chart-grades-csv"))
    areas = read_csv(download(page, "#fz-chart-areas-csv"))
    years = read_csv(download(page, "#fz-chart-years-csv"))
    for topic, t in stated.items():
        bar = {r["等级"]: int(r["乡镇数"]) for r in grades if r["主题"] == topic}
        assert bar["列为存在问题"] == t["problems"] and bar["仅相关"] == t["related"]
        assert sum(int(r["列为存在问题"]) for r in areas if r["主题"] == topic) == t["problems"]
        mine = [r for r in years if r["主题"] == topic]
        assert sum(int(r["乡镇数"]) for r in mine if r["方面"] == "列为存在问题") == t["problems"]
        assert sum(int(r["乡镇数"]) for r in mine if r["方面"] == "有举措") == t["measures"]
    page.locator("#fz-charts").scroll_into_view_if_needed()
    shot(page, "scale-compare-charts")

    # the chart's own ⋯ menu exports it as PNG and SVG
    chart = page.locator("#fz-chart-grades .vega-embed")
    chart.locator("details > summary").click()
    with page.expect_download() as got:
        chart.get_by_text("Save as PNG").click()
    png = Path(got.value.path()).read_bytes()
    assert png.startswith(b"\x89PNG")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "scale-chart-grades.png").write_bytes(png)
    chart.locator("details").evaluate("menu => { menu.open = true; }")  # it closes on a save
    with page.expect_download() as got:
        chart.get_by_text("Save as SVG").click()
    svg = Path(got.value.path()).read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<svg") and "列为存在问题" in svg


def test_report_facets_count_and_filter(page: sync_api.Page, served: Served) -> None:
    page.get_by_role("tab", name="报告").click()
    page.locator("#fz-facet-province input").click()
    options = page.get_by_role("option").all_inner_texts()
    counts = {
        m.group(1): int(m.group(2)) for o in options if (m := re.fullmatch(r"(.+)（(\d+)）", o))
    }
    reports = served.service.store.list_reports()
    assert len(counts) == len(options) and sum(counts.values()) == len(reports)
    province, n = min(counts.items(), key=lambda kv: (kv[1], kv[0]))
    page.get_by_role("option", name=f"{province}（{n}）").click()
    page.keyboard.press("Escape")
    rows = page.locator("#fz-reports [role=row].virtual-row")
    expect(rows).to_have_count(n)
    for row in rows.all():
        expect(row).to_contain_text(province)
    # the other facets now count within that province (read from the year facet's own list)
    page.locator("#fz-facet-year input").click()
    years = page.locator("#fz-facet-year").get_by_role("option")
    expect(years.first).to_be_visible()
    total = 0
    for _ in range(40):  # its counts arrive with the table's update, maybe just after
        counted = [re.search(r"（(\d+)）", y) for y in years.all_inner_texts()]
        total = sum(int(m.group(1)) for m in counted if m)
        if total == n:
            break
        page.wait_for_timeout(250)
    assert total == n
    page.keyboard.press("Escape")
    shot(page, "scale-reports-facets", full_page=False)
