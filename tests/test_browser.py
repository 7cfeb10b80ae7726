"""End to end in real headless Chromium (Debian's /usr/bin/chromium, fonts-wqy-zenhei).

One app per module, over a copy of the sample store (so uploads here leave the shared store
alone). Screenshots go to tests/artifacts/.

    apt-get install -y chromium fonts-wqy-zenhei
    .venv/bin/python -m pytest tests/test_browser.py -m browser
"""

from __future__ import annotations

import csv
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from app.answering import AnswerService
from app.indexing import ingest_paths
from app.llm import LLMWriter
from app.services import open_store
from app.settings import Settings
from app.web import EXAMPLES, build_app
from tests.fake_llm import FakeLLM, Script, is_judging, judging
from tests.fixture_files import sample_paths, sample_text
from tests.test_web import serve
from vectorstore import FazhiEmbeddings, PassageStore

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
TIMEOUT = 60_000
XSS_SCRIPT = "<script>window.__fzXss=1</script>"
XSS_LINK = "[点我](javascript:window.__fzXss=2)"
XSS_IMG = '<img src=x onerror="window.__fzXss=3">'

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
# the first answer waits for the model and the index; on a shared CI machine that is more
# than Playwright's default 5 s
expect.set_options(timeout=TIMEOUT)
if not CHROMIUM.exists():
    pytest.skip("needs Debian's chromium: apt-get install chromium", allow_module_level=True)


def example_label(index: int) -> str:
    kind, question = EXAMPLES[index]
    return f"{kind}：{question}"


def shot(page: sync_api.Page, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def normalize(text: str) -> str:
    return re.sub(r"\s+", "", text)


@dataclass
class Served:
    url: str
    store: PassageStore
    settings: Settings


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, sample_store_dir: Path, embeddings: FazhiEmbeddings
) -> Iterator[Served]:
    copy = tmp_path_factory.mktemp("browser") / "store"
    shutil.copytree(sample_store_dir, copy)
    settings = Settings(_env_file=None, store=copy)
    store = open_store(settings, embeddings)
    app = build_app(settings, AnswerService(store))
    url = serve(app, settings)
    yield Served(url, store, settings)
    app.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: sync_api.Browser, served: Served) -> Iterator[sync_api.Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(served.url)
    expect(page.locator(".fz-banner")).to_contain_text("份报告")
    yield page
    assert not dialogs, f"a dialog opened: {dialogs}"
    context.close()


def ask(page: sync_api.Page, question: str) -> sync_api.Locator:
    """Type a question, send it and wait for its answer's source cards."""
    groups = page.locator("#fz-sources details.fz-turn").count()
    page.locator("#fz-question textarea").fill(question)
    page.locator("#fz-question textarea").press("Enter")
    expect(page.locator("#fz-sources details.fz-turn")).to_have_count(groups + 1)
    return page.locator("#fz-sources details.fz-turn").first.locator(".fz-card")


def open_full_text(page: sync_api.Page, card: sync_api.Locator) -> sync_api.Locator:
    card.get_by_role("button", name="查看全文").click()
    cited = page.locator("#fz-viewer mark.fz-cited")
    expect(cited.first).to_be_visible()
    # the dialog's bar names the report it shows
    title = page.locator("#fz-viewer .fz-report > header h3").inner_text()
    expect(page.locator("#fz-viewer .fz-dialog-bar span")).to_have_text(f"报告全文 · {title}")
    return cited


def click_report(page: sync_api.Page, township: str) -> None:
    row = page.locator("#fz-reports [role=row].virtual-row").filter(has_text=township).first
    row.locator("[role=gridcell]").first.click()


def in_view(page: sync_api.Page, locator: sync_api.Locator) -> bool:
    box = locator.bounding_box()
    frame = page.locator("#fz-viewer .fz-dialog-body").bounding_box()
    assert box and frame
    return box["y"] < frame["y"] + frame["height"] and box["y"] + box["height"] > frame["y"]


# -- tests -------------------------------------------------------------------------------------
def test_chat_example_cites_townships_and_opens_the_full_text(page: sync_api.Page) -> None:
    expect(page.get_by_text("FAZHI_LLM_BASE_URL")).to_be_visible()
    page.get_by_role("button", name=example_label(0)).click()
    cards = page.locator("#fz-sources details.fz-turn").first.locator(".fz-card")
    expect(cards.first).to_be_visible()
    townships = set(cards.locator("header b").all_inner_texts())
    assert len(townships) >= 3, townships
    expect(page.locator("#fz-chatbot .fz-meta").last).to_contain_text("摘录式")

    links = page.locator("#fz-chatbot a.fz-cite")
    expect(links).to_have_count(cards.count())
    links.nth(2).click()  # a citation marker jumps to its card
    expect(page.locator("#fz-a0-c3")).to_have_class(re.compile("fz-flash"))
    expect(page.locator("#fz-a0-c3 mark.fz-quote").first).to_be_visible()
    shot(page, "chat-answer")

    passage = cards.nth(1).locator(".fz-passage").inner_text()
    cited = open_full_text(page, cards.nth(1))
    assert normalize("".join(cited.all_inner_texts())) == normalize(passage)
    page.wait_for_timeout(300)
    assert in_view(page, cited.first)
    expect(page.locator("#fz-viewer .fz-outline")).to_contain_text("存在问题")
    shot(page, "chat-full-text", full_page=False)
    page.keyboard.press("Escape")
    expect(page.locator("#fz-viewer")).to_be_hidden()

    with page.expect_download() as download:
        page.locator("#fz-export-md").click()
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert markdown.startswith("# 哪些乡镇把执法能力不足列为存在的问题？")
    assert "## 引文" in markdown and "“存在问题”部分" in markdown
    assert all(t in markdown for t in townships)


def test_filters_apply_to_the_next_question(page: sync_api.Page) -> None:
    page.locator("#fz-chat-province input").click()
    page.get_by_role("option", name="河南省").click()
    page.keyboard.press("Escape")
    cards = ask(page, "哪些乡镇把执法能力不足列为存在的问题？")
    expect(cards.first).to_be_visible()
    assert set(cards.locator("header b").all_inner_texts()) == {"石桥镇"}
    expect(page.locator("#fz-chatbot .fz-meta").last).to_contain_text("省份：河南省")
    shot(page, "chat-filtered")


def test_a_province_chosen_narrows_the_counties_and_townships_offered(page: sync_api.Page) -> None:
    page.locator("#fz-chat-province input").click()
    page.get_by_role("option", name="河南省").click()
    page.keyboard.press("Escape")
    page.locator("#fz-chat-county input").click()
    expect(page.get_by_role("option")).to_have_text([re.compile("宝丰县$")])
    # offered, not chosen
    expect(page.locator("#fz-chat-province .token")).to_have_count(1)
    expect(page.locator("#fz-chat-county .token")).to_have_count(0)
    page.keyboard.press("Escape")
    page.locator("#fz-chat-township input").click()
    expect(page.get_by_role("option")).to_have_text([re.compile("石桥镇$")])
    page.keyboard.press("Escape")


def test_a_follow_up_asks_the_last_question_of_the_place_it_names(page: sync_api.Page) -> None:
    first = "哪些乡镇把执法能力不足列为存在的问题？"
    ask(page, first)
    # still the graded list, of one report: 塘坊镇 is 相关 there as in the full list
    cards = ask(page, "那塘坊镇呢？")
    assert set(cards.locator("header b").all_inner_texts()) == {"塘坊镇"}
    notice = page.locator("#fz-chatbot .fz-notice").last
    expect(notice).to_contain_text(f"按上一问“{first}”回答，范围换成：塘坊镇")
    expect(page.locator("#fz-chatbot .fz-msg").last).to_contain_text("1 个提到相关内容")
    # the next follow-up asks the first question again, not the follow-up of it
    cards = ask(page, "石桥镇呢？")
    assert set(cards.locator("header b").all_inner_texts()) == {"石桥镇"}
    # a place the last question named is replaced, not added to
    ask(page, "万灵镇有多少名法律明白人？")
    cards = ask(page, "那石桥镇呢？")
    assert set(cards.locator("header b").all_inner_texts()) == {"石桥镇"}
    # ...by a place of any level: 重庆's reports, not 石桥镇's in 重庆 (none)
    ask(page, "石桥镇有多少名法律明白人？")
    cards = ask(page, "那重庆呢？")
    named = set(cards.locator("header b").all_inner_texts())
    assert named and named <= {"王场镇", "塘坊镇", "万灵镇"}


def test_the_full_text_dialog_covers_the_chat_s_scroll_arrow(page: sync_api.Page) -> None:
    ask(page, "哪些乡镇把执法能力不足列为存在的问题？")
    cards = ask(page, "别的镇在矛盾纠纷化解上有什么做法？")
    # scrolled up, the chat shows Gradio's "Scroll down" arrow, lifted high above the page
    # (scrolled again until it shows: the chat may still be growing)
    page.wait_for_function(
        """() => {
            const chat = document.querySelector('#fz-chatbot');
            chat.querySelectorAll('*').forEach(x => {
                if (x.scrollHeight > x.clientHeight + 20) {
                    x.scrollTop = 0;
                    x.dispatchEvent(new Event('scroll'));
                }
            });
            return !!chat.querySelector('button[aria-label="Scroll down"]');
        }""",
        polling=250,
    )
    arrow = page.locator('#fz-chatbot button[aria-label="Scroll down"]')
    z_index = "e => Number(getComputedStyle(e).zIndex) || 0"
    lifted = max(
        arrow.evaluate(
            f"b => {{ let e = b, z = 0; while (e) {{ z = Math.max(z, ({z_index})(e)); e = e.parentElement }} return z }}"
        ),
        1,
    )
    open_full_text(page, cards.first)
    assert page.locator("#fz-viewer").evaluate(z_index) > lifted
    # and below Gradio's toasts: one raised while the dialog is open is on top, readable
    page.locator("#fz-question textarea").evaluate("t => { t.value = ''; }")
    page.locator("#fz-send").evaluate("b => b.click()")
    toast = page.locator(".toast-body").last
    expect(toast).to_contain_text("请输入问题")
    on_top = toast.evaluate(
        """t => { const r = t.getBoundingClientRect();
                  return t.contains(document.elementFromPoint(r.x + r.width / 2,
                                                              r.y + r.height / 2)); }"""
    )
    assert on_top


def test_an_empty_question_is_answered_with_a_toast(page: sync_api.Page) -> None:
    page.locator("#fz-question textarea").fill("   ")
    page.locator("#fz-send").click()
    # (Gradio 6 heads a toast with its kind, "Warning", not the title passed)
    expect(page.locator(".toast-body").last).to_contain_text("请输入问题")
    expect(page.locator("#fz-chatbot .fz-msg")).to_have_count(0)  # nothing was asked


def test_compare_matrix_opens_passages_and_downloads_csv(
    page: sync_api.Page, served: Served
) -> None:
    page.get_by_role("tab", name="对比").click()
    page.locator("#fz-compare-run").click()
    table = page.locator("#fz-matrix table")
    expect(table).to_be_visible()
    reports = served.store.list_reports()
    expect(table.locator("tbody tr")).to_have_count(len(reports))
    header = table.locator("thead tr").first.locator("th").all_inner_texts()
    assert header[:3] == ["乡镇", "县区", "年份"]
    topics = header[3:]
    assert topics == ["执法能力", "普法宣传", "法律顾问", "矛盾纠纷化解"]
    expect(table.locator("tr.fz-totals")).to_contain_text("合计")
    assert "fz-group-row" not in table.inner_html()  # five townships: nothing grouped

    problems = table.locator("button.fz-problem")
    assert problems.count() >= 2 and table.locator("button.fz-measure").count() >= 5
    problems.first.click()
    expect(page.locator("#fz-viewer mark.fz-cited").first).to_be_visible()
    expect(page.locator("#fz-viewer .fz-sec.fz-t-problems mark.fz-cited").first).to_be_visible()
    page.locator("#fz-viewer .fz-close").click()
    shot(page, "compare")

    with page.expect_download() as download:
        page.locator("#fz-csv").click()
    with open(download.value.path(), encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(reports) * len(topics)
    assert {r["乡镇"] for r in rows} == {r.meta.township for r in reports}
    for township_row in table.locator("tbody tr").all():
        name = township_row.locator("th").inner_text().splitlines()[0]
        cells = township_row.locator("td").all()[2:]  # after the county and the year
        for topic, cell in zip(topics, cells, strict=True):
            (row,) = [r for r in rows if r["乡镇"] == name and r["主题"] == topic]
            has_problem = cell.locator("button.fz-problem").count() == 1
            assert (row["列为存在问题"] == "是") == has_problem, (name, topic)
            assert bool(row["问题引文"]) == has_problem


def test_reports_table_sorts_searches_and_shows_typed_sections(page: sync_api.Page) -> None:
    page.get_by_role("tab", name="报告").click()
    table = page.locator("#fz-reports")
    year = table.locator("thead th").filter(has_text="年份").first
    year.hover()
    year.locator("button.cell-menu-button").click()
    page.get_by_role("menuitem", name="降序排序").click()
    rows = table.locator("[role=row].virtual-row")
    years = [row.locator("[role=gridcell]").nth(3).inner_text() for row in rows.all()]
    assert years == sorted(years, reverse=True) and len(years) >= 5
    rows.first.locator("[role=gridcell]").first.click()  # the newest report
    newest = max(years)
    expect(page.locator("#fz-report-view .fz-facts")).to_contain_text(f"{newest}年")

    table.locator("input.search-input").fill("河南")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("石桥镇")
    page.evaluate("window.scrollTo(0, 0)")
    click_report(page, "石桥镇")
    view = page.locator("#fz-report-view .fz-report")
    expect(view).to_contain_text("宝丰县石桥镇人民政府")
    # the text drawn below the table is brought into sight
    page.wait_for_function(
        "() => document.getElementById('fz-report-view').getBoundingClientRect().top"
        " < window.innerHeight / 2"
    )
    labels = view.locator(".fz-outline .fz-badge").all_inner_texts()
    assert {"第一责任人履职", "举措成效", "存在问题", "下一步打算"} <= set(labels)
    expect(view.locator(".fz-sec.fz-t-problems .fz-sec-label")).to_have_text("存在问题")
    shot(page, "reports")


def test_uploaded_report_with_markup_stays_inert(
    page: sync_api.Page, tmp_path: Path, served: Served
) -> None:
    text = sample_text(1).replace("塘坊镇", "红岩镇")
    text = text.replace(
        "二是部分工作人员法律知识水平",
        f"三是执法能力不足{XSS_SCRIPT}，详见{XSS_LINK}{XSS_IMG}。二是部分工作人员法律知识水平",
    )
    evil = tmp_path / "红岩镇 <b onclick=x>报告.txt"
    evil.write_text(text, encoding="utf-8")

    page.get_by_role("tab", name="上传").click()
    page.locator("#fz-files input[type=file]").set_input_files(str(evil))
    page.locator("#fz-upload").click()
    results = page.locator("#fz-upload-results")
    expect(results).to_contain_text("已添加", timeout=TIMEOUT)
    expect(results).to_contain_text("红岩镇")
    shot(page, "upload")

    page.get_by_role("tab", name="问答").click()
    cards = ask(page, "哪些乡镇把执法能力不足列为存在的问题？")
    card = cards.filter(has_text="红岩镇")
    expect(card).to_have_count(1)
    expect(card.locator(".fz-passage")).to_contain_text(XSS_SCRIPT)
    expect(card.locator(".fz-passage")).to_contain_text(XSS_LINK)
    expect(page.locator("#fz-chatbot")).to_contain_text(XSS_LINK)
    cited = open_full_text(page, card)
    expect(page.locator("#fz-viewer")).to_contain_text(XSS_IMG)
    assert in_view(page, cited.first)
    shot(page, "inert-full-text", full_page=False)

    assert page.evaluate("window.__fzXss") is None
    assert page.locator("script:not([src])", has_text="__fzXss").count() == 0
    assert page.locator("img[src=x], a[href^='javascript']").count() == 0


@pytest.mark.parametrize("tab", ["问答", "报告", "对比", "上传"])
def test_phone_width_has_no_horizontal_overflow(
    browser: sync_api.Browser, served: Served, tab: str
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=1
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(served.url)
    expect(page.locator(".fz-banner")).to_contain_text("份报告")
    page.get_by_role("tab", name=tab).click()
    if tab == "问答":
        page.get_by_role("button", name=example_label(2)).click()
        expect(page.locator("#fz-sources .fz-card").first).to_be_visible()
    elif tab == "对比":
        page.locator("#fz-compare-run").click()
        expect(page.locator("#fz-matrix table")).to_be_visible()
        # wider than the phone: the table scrolls on its own, and says so
        expect(page.locator("#fz-matrix .fz-narrow-only")).to_be_visible()
    elif tab == "报告":
        click_report(page, "万灵镇")
        expect(page.locator("#fz-report-view .fz-report")).to_be_visible()
        # the checkbox reads on one line, not a character a line
        box = page.locator("#fz-review-only").bounding_box()
        assert box and box["width"] >= 150, box
    page.wait_for_timeout(300)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{tab}: page is {width}px wide"
    shot(page, f"phone-{tab}")
    if tab == "问答":
        open_full_text(page, page.locator("#fz-sources .fz-card").first)
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "phone-full-text", full_page=False)
    context.close()


def test_llm_mode_streams_an_inert_answer_with_citations(
    browser: sync_api.Browser, served: Served
) -> None:
    """LLM mode with a stand-in chat model (LangChain's fake) behind the real LLMWriter."""
    # an invented source's sentence is dropped (notice); an uncited one stays, inert
    reply = "石桥镇和王场镇都承认执法能力不足[1][2]。另见[9]。<script>window.__fzXss=4</script>"
    chat = FakeListChatModel(responses=[reply], sleep=0.01)
    service = AnswerService(served.store, llm=LLMWriter(chat, label="fake"))
    app = build_app(served.settings, service)
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.goto(serve(app, served.settings))
        expect(page.get_by_text("FAZHI_LLM_BASE_URL")).to_have_count(0)  # no hint: LLM is set
        cards = ask(page, "哪些乡镇把执法能力不足列为存在的问题？")
        expect(cards.first).to_be_visible()
        message = page.locator("#fz-chatbot .fz-msg").last
        expect(message.locator(".fz-meta")).to_contain_text("大模型")
        expect(message.locator(".fz-notice")).to_contain_text("[9]")
        expect(message).to_contain_text("<script>window.__fzXss=4</script>")
        expect(message.locator("a.fz-cite")).to_have_count(2 + cards.count())
        assert page.evaluate("window.__fzXss") is None
        shot(page, "chat-llm")
        context.close()
    finally:
        app.close()


def test_llm_judging_progress_shows_before_the_answer(
    browser: sync_api.Browser, served: Served
) -> None:
    """With a slow LLM, the chat shows how many reports it has checked before the answer."""
    with FakeLLM() as llm:
        llm.script = Script(respond=judging({"石桥镇", "王场镇", "万灵镇"}), delay=1.5)
        settings = Settings(_env_file=None, llm_base_url=llm.url, llm_model="fake", llm_timeout=30)
        service = AnswerService(served.store, llm=LLMWriter.from_settings(settings))
        app = build_app(served.settings, service)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            page = context.new_page()
            page.set_default_timeout(TIMEOUT)
            page.goto(serve(app, served.settings))
            page.locator("#fz-question textarea").fill("哪些乡镇把执法能力不足列为存在的问题？")
            page.locator("#fz-question textarea").press("Enter")
            pending = page.locator("#fz-chatbot .fz-pending").last
            expect(pending).to_contain_text(re.compile(r"已核查 0/\d+"))
            assert page.locator("#fz-sources details.fz-turn").count() == 0, "no answer yet"
            shot(page, "chat-llm-judging", full_page=False)
            expect(page.locator("#fz-sources details.fz-turn")).to_have_count(1)
            expect(page.locator("#fz-chatbot .fz-pending")).to_have_count(0)
            message = page.locator("#fz-chatbot .fz-msg").last
            expect(message).to_contain_text("石桥镇")
            assert any(is_judging(r) for r in llm.script.requests)
            context.close()
        finally:
            app.close()


# -- a Chroma server that goes away ------------------------------------------------------------
class ChromaServer:
    """`chroma run` on a free loopback port, which a test may stop and start again."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.folder = folder
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        chroma = Path(sys.executable).with_name("chroma")
        command = [str(chroma), "run", "--path", str(self.folder / "data")]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        with (self.folder / "server.log").open("a") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        raise AssertionError((self.folder / "server.log").read_text())

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    if not Path(sys.executable).with_name("chroma").exists():
        pytest.skip("the `chroma` server command is not installed")
    server = ChromaServer(tmp_path / "chroma")
    server.folder.mkdir()
    server.start()
    yield server
    server.stop()


def assert_no_raw_error(page: sync_api.Page) -> None:
    """No connection error text, Gradio error toast or empty "Error" badge on the page."""
    text = page.locator("body").inner_text()
    for raw in ("Errno", "Connection refused", "ConnectError"):
        assert raw not in text, raw
    assert page.locator(".toast-body").count() == 0
    assert page.get_by_text("Error", exact=True).count() == 0


def test_chroma_server_outage_is_one_clear_message_and_the_app_recovers(
    browser: sync_api.Browser,
    chroma_server: ChromaServer,
    embeddings: FazhiEmbeddings,
    tmp_path: Path,
) -> None:
    settings = Settings(_env_file=None, store=tmp_path / "store", chroma_url=chroma_server.url)
    store = open_store(settings, embeddings)
    summary = ingest_paths(
        sample_paths()[1:3], store, max_bytes=settings.max_bytes, chunking=settings.chunking
    )
    assert summary.count("added") == 2
    app = build_app(settings, AnswerService(store))
    outage = "无法连接 Chroma 服务器"
    try:
        url = serve(app, settings)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.goto(url)
        expect(page.locator(".fz-banner")).to_contain_text("2 份报告")
        ask(page, "石桥镇有多少名法律明白人？")

        chroma_server.stop()
        page.locator("#fz-question textarea").fill("哪些乡镇把执法能力不足列为存在的问题？")
        page.locator("#fz-question textarea").press("Enter")
        message = page.locator("#fz-chatbot .fz-msg.fz-error").last
        expect(message).to_contain_text(outage)
        expect(message).to_contain_text("chroma run --path DIR")
        assert_no_raw_error(page)

        page.get_by_role("tab", name="报告").click()
        click_report(page, "石桥镇")
        expect(page.locator("#fz-report-view .fz-outage")).to_contain_text(outage)

        page.get_by_role("tab", name="对比").click()
        page.locator("#fz-compare-run").click()
        expect(page.locator("#fz-matrix .fz-outage")).to_contain_text(outage)
        expect(page.locator("#fz-csv")).to_be_hidden()

        report = tmp_path / "西联镇 2019年 报告.txt"
        report.write_text(sample_text(3), encoding="utf-8")
        page.get_by_role("tab", name="上传").click()
        page.locator("#fz-files input[type=file]").set_input_files(str(report))
        page.locator("#fz-upload").click()
        results = page.locator("#fz-upload-results")
        expect(results).to_contain_text("失败")
        expect(results).to_contain_text(outage)
        expect(page.locator(".fz-banner .fz-outage")).to_contain_text(outage)
        assert_no_raw_error(page)
        shot(page, "chroma-outage")

        page.reload()
        expect(page.locator(".fz-banner .fz-outage")).to_contain_text("chroma run --path DIR")
        assert_no_raw_error(page)
        with pytest.raises(AppError, match=outage):
            Client(url, verbose=False).predict("石桥镇有多少名法律明白人？", api_name="/ask")

        chroma_server.start()  # back: the next question is answered, nothing restarted
        cards = ask(page, "哪些乡镇把执法能力不足列为存在的问题？")
        expect(cards.first).to_be_visible()
        page.reload()
        expect(page.locator(".fz-banner")).to_contain_text("2 份报告")
        assert Client(url, verbose=False).predict("石桥镇有多少名法律明白人？", api_name="/ask")[
            "found"
        ]
        context.close()
    finally:
        app.close()
