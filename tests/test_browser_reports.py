"""The 报告 tab in real headless Chromium: reports needing review are marked and counted, a
metadata edit made in the tab shows in the table and in an answer's citation, and the coverage
view lists an area's townships. Its own store (a copy of the samples plus an untitled report).

    .venv/bin/python -m pytest tests/test_browser_reports.py -m browser
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.answering import AnswerService
from app.services import open_store
from app.settings import Settings
from app.web import build_app
from tests.conftest import ingest_into
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT, ask, shot
from tests.test_meta_edit import UNTITLED
from tests.test_web import serve
from vectorstore import FazhiEmbeddings

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
if not CHROMIUM.exists():
    pytest.skip("needs Debian's chromium: apt-get install chromium", allow_module_level=True)


@pytest.fixture(scope="module")
def url(
    tmp_path_factory: pytest.TempPathFactory, sample_store_dir: Path, embeddings: FazhiEmbeddings
) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser-reports")
    shutil.copytree(sample_store_dir, root / "store")
    settings = Settings(_env_file=None, store=root / "store")
    store = open_store(settings, embeddings)
    (root / "in").mkdir()
    (root / "in" / "untitled.txt").write_text(UNTITLED, encoding="utf-8")
    assert ingest_into(store, root / "in").needs_review == 1
    app = build_app(settings, AnswerService(store))
    yield serve(app, settings)
    app.close()


@pytest.fixture
def page(url: str) -> Iterator[sync_api.Page]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.goto(url)
        expect(page.locator(".fz-banner")).to_contain_text("份报告")
        yield page
        browser.close()


def type_into(box: sync_api.Locator, text: str) -> None:
    """Fill a Gradio textbox and leave it, so the app has its value before a button is clicked
    (on a loaded machine a click right after fill() could send the old value). On a loaded
    machine the form's values from the row clicked before can also arrive after the typing and
    empty the box: type again until the text has held for a second."""
    for _ in range(10):
        box.fill(text)
        box.blur()
        box.page.wait_for_timeout(1000)
        if box.input_value() == text:
            return
    raise AssertionError(f"the box kept losing {text!r}: {box.input_value()!r}")


def test_review_is_marked_and_an_edit_shows_in_the_table_and_in_answers(page) -> None:
    page.get_by_role("tab", name="报告").click()
    expect(page.locator("#fz-review-count")).to_contain_text("共 6 份报告，其中 1 份待核对")
    rows = page.locator("#fz-reports [role=row].virtual-row")
    expect(rows).to_have_count(6)
    page.locator("#fz-review-only input").check()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("⚠ 待核对：乡镇未识别")
    expect(rows.first).to_contain_text("untitled.txt")
    rows.first.locator("[role=gridcell]").first.click()
    expect(page.locator("#fz-report-view .fz-report")).to_contain_text("普法宣传讲座十二场")

    page.locator("#fz-meta-edit").get_by_text("修改元数据").click()
    township = page.locator("#fz-meta-township textarea, #fz-meta-township input").first
    expect(page.locator("#fz-meta-year input, #fz-meta-year textarea").first).to_have_value("2025")
    # the gazetteer's check, in Chinese, with near names; nothing is changed
    type_into(township, "石桥真")
    page.locator("#fz-meta-save").click()
    status = page.locator("#fz-meta-status")
    expect(status).to_contain_text("名录中没有「石桥真」")
    expect(status).to_contain_text("是否是：石桥镇")
    expect(rows.first).to_contain_text("乡镇未识别")

    type_into(township, "龙颈镇")
    page.locator("#fz-meta-save").click()
    expect(status).to_contain_text("已更新：龙颈镇（清新区，广东省） 2025年")
    county = page.locator("#fz-meta-county textarea, #fz-meta-county input").first
    expect(county).to_have_value("清新区")  # filled in from the gazetteer
    expect(page.locator("#fz-review-count")).to_contain_text("元数据均已确认")
    expect(rows).to_have_count(0)  # still only those needing review: none left
    page.locator("#fz-review-only input").uncheck()
    edited = rows.filter(has_text="untitled.txt")
    expect(edited).to_contain_text("龙颈镇")
    expect(edited).to_contain_text("清新区")
    expect(edited).not_to_contain_text("待核对")
    shot(page, "reports-edited")

    page.get_by_role("tab", name="问答").click()
    cards = ask(page, "龙颈镇开展了多少场普法宣传讲座？")
    expect(cards.first.locator("header b")).to_have_text("龙颈镇")

    # the new township is in the chat's township filter too
    page.locator("#fz-chat-township input").click()
    expect(page.get_by_role("option", name="龙颈镇")).to_be_visible()


def test_coverage_view_lists_an_areas_townships(page) -> None:
    page.get_by_role("tab", name="报告").click()
    page.locator("#fz-coverage").get_by_text("覆盖情况").first.click()
    area = page.locator("#fz-coverage textarea, #fz-coverage input").first
    type_into(area, "宝丰县")
    page.locator("#fz-coverage-run").click()
    view = page.locator("#fz-coverage-view")
    expect(view).to_contain_text("河南省平顶山市宝丰县：13 个乡级行政区，1 个有报告。")
    expect(view.locator("tbody tr").filter(has_text="石桥镇")).to_contain_text("2023")
    expect(view.locator("tbody tr")).to_have_count(13)

    type_into(area, "河南省")  # 2,000+ townships: those without a report are a count
    page.locator("#fz-coverage-run").click()
    expect(view.locator("details.fz-cov-missing summary")).to_contain_text("个乡级行政区没有报告")
    expect(view.locator("tbody tr")).to_have_count(1)

    type_into(area, "鼓楼区")
    page.locator("#fz-coverage-run").click()
    expect(view).to_contain_text("「鼓楼区」有 4 处")
    shot(page, "reports-coverage")
