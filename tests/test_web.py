"""The web app over HTTP with gradio_client: the `ask` API, filters, uploads and login.

Apps are launched from `build_app` on a free port in a background thread; the read-only one
over the shared sample store is shared by the module.
"""

from __future__ import annotations

import csv
import functools
import http.server
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import pytest
from gradio.utils import get_upload_folder
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from openpyxl import load_workbook

from app.answering import Answer, AnswerService, Citation
from app.compare import CompareCell, CompareMatrix, CompareRow, parse_topics
from app.export import answer_markdown, write_csv, write_xlsx
from app.settings import SAMPLE_CORPUS, Settings
from app.web import (
    answer_message,
    build_app,
    ensure_corpus,
    launch_options,
    matrix_html,
    parse_auth,
    report_html,
    safe_filename,
    source_card,
    stage_uploads,
)
from app.web.outage import store_outage
from ingest.errors import FazhiError
from ingest.model import ReportMeta, Section
from tests.fixture_files import make_corrupt_docx, make_docx, sample_text
from vectorstore import PassageStore
from vectorstore.store import StoredReport

CORPUS_QUESTION = "哪些乡镇把执法能力不足列为存在的问题？"
PAYLOAD = '执法能力不足<script>window.__fzXss=1</script>，见[点我](javascript:alert(1))<img src=x onerror="alert(2)">。'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(app: gr.Blocks, settings: Settings) -> str:
    """Launch like `fazhi serve` does, but on a free port and without blocking."""
    options = launch_options(settings)
    options.update(server_port=free_port(), prevent_thread_lock=True, quiet=True)
    app.launch(**options)
    return str(app.local_url)


@pytest.fixture(scope="module")
def sample_client(sample_settings: Settings) -> Iterator[Client]:
    app = build_app(sample_settings)
    url = serve(app, sample_settings)
    yield Client(url, verbose=False)
    app.close()


def check_citations(result: dict[str, Any], store: PassageStore) -> None:
    for c in result["citations"]:
        text = store.get_report(c["report_id"]).text or ""
        assert text[c["start"] : c["end"]] == c["text"]
        assert text[c["quote_start"] : c["quote_end"]] == c["quote"]
        assert f"[{c['n']}]" in result["answer"]


# -- the ask API -------------------------------------------------------------------------------
def test_ask_corpus_wide_returns_cited_townships(
    sample_client: Client, sample_store: PassageStore
) -> None:
    result = sample_client.predict(CORPUS_QUESTION, api_name="/ask")
    assert set(result) == set(Answer.__dataclass_fields__)
    assert result["kind"] == "corpus" and result["found"]
    assert result["mode"] == "extractive"
    assert len(result["townships"]) >= 3
    related = {r["township"] for r in result["related"]}
    assert {c["township"] for c in result["citations"]} == set(result["townships"]) | related
    assert all(c["section"] == "problems" for c in result["citations"])
    grades = {v["township"]: v["grade"] for v in result["verdicts"]}
    assert {t for t, g in grades.items() if g == "明确提到"} == set(result["townships"])
    check_citations(result, sample_store)


def test_ask_returns_the_cli_json_object(sample_client: Client, service: AnswerService) -> None:
    question = "石桥镇有多少名法律明白人？"
    result = sample_client.predict(question, api_name="/ask")
    expected = service.ask(question).to_dict()
    result.pop("timings"), expected.pop("timings")
    assert result == expected
    assert result["townships"] == ["石桥镇"]
    assert "法律明白人" in result["citations"][0]["text"]


def test_ask_filters_by_province(sample_client: Client, sample_store: PassageStore) -> None:
    result = sample_client.predict(CORPUS_QUESTION, provinces=["河南"], api_name="/ask")
    assert result["townships"] == ["石桥镇"]
    assert result["filters"]["provinces"] == ["河南省"]
    assert {c["province"] for c in result["citations"]} == {"河南省"}
    check_citations(result, sample_store)


def test_ask_filters_by_year_and_section_label(sample_client: Client) -> None:
    result = sample_client.predict(
        "各镇在普法宣传上有什么做法？",
        year_from=2022,
        sections=["举措成效"],
        api_name="/ask",
    )
    assert result["filters"]["year_from"] == 2022
    assert result["filters"]["sections"] == ["measures"]
    assert result["citations"]
    assert all(c["year"] >= 2022 and c["section"] == "measures" for c in result["citations"])


def test_ask_rejects_unknown_filter_values(sample_client: Client) -> None:
    with pytest.raises(AppError, match="火星"):
        sample_client.predict(CORPUS_QUESTION, provinces=["火星"], api_name="/ask")
    with pytest.raises(AppError, match="部分"):
        sample_client.predict(CORPUS_QUESTION, sections=["附录"], api_name="/ask")


def test_only_ask_and_upload_are_public(sample_client: Client) -> None:
    endpoints = sample_client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert set(endpoints) == {"/ask", "/upload"}


# -- uploads -----------------------------------------------------------------------------------
def test_upload_reports_each_file(tmp_path: Path, fresh_store: PassageStore) -> None:
    settings = Settings(_env_file=None, store=tmp_path / "store")
    app = build_app(settings, AnswerService(fresh_store))
    try:
        client = Client(serve(app, settings), verbose=False)
        folder = tmp_path / "in"
        good = make_docx(sample_text(3), folder / "西联镇 2019年 报告.docx")
        broken = make_corrupt_docx(folder / "broken.docx")
        exe = folder / "tool.exe"
        exe.write_bytes(b"MZ" + bytes(200))
        table, status = client.predict(
            [handle_file(good), handle_file(broken), handle_file(exe)], api_name="/upload"
        )
        rows = {row[0]: row for row in table["data"]}
        assert set(rows) == {good.name, broken.name, exe.name}
        _, result, township, year, passages, _ = rows[good.name]
        assert (result, township, int(year)) == ("已添加", "西联镇", 2019) and int(passages) > 5
        assert rows[broken.name][1] == "失败" and rows[broken.name][5]
        assert rows[exe.name][1] == "失败" and "不支持的文件类型" in rows[exe.name][5]
        assert "已添加 1 个" in status and "失败 2 个" in status

        stored = sorted(p.name for p in (settings.store / "uploads").iterdir())
        assert stored == ["broken.docx", "西联镇_2019年_报告.docx"]

        answer = client.predict("西联镇的法律顾问情况如何？", api_name="/ask")
        assert answer["found"] and answer["townships"] == ["西联镇"]
        check_citations(answer, fresh_store)

        again, _ = client.predict([handle_file(good)], api_name="/upload")
        assert again["data"][0][1] == "未变化"

        # the same report from another site, one figure edited: stored, and flagged
        reposted = make_docx(sample_text(3).replace("。", "；", 1), folder / "转载.docx")
        twin, status = client.predict([handle_file(reposted)], api_name="/upload")
        [(_, result, township, _, _, note)] = twin["data"]
        assert (result, township) == ("已添加", "西联镇")
        assert "与西联镇_2019年_报告.docx同乡镇同年份" in note
        assert "1 个待核对" in status
    finally:
        app.close()


def raw_upload(http: httpx.Client, path: str) -> tuple[str, Any]:
    """An `/upload` API call whose file entry is `path`, as a hand-written client sends it."""
    entry = {"path": path, "orig_name": Path(path).name, "meta": {"_type": "gradio.FileData"}}
    started = http.post("gradio_api/call/upload", json={"data": [[entry]]})
    assert started.status_code == 200, started.text
    reply = http.get(f"gradio_api/call/upload/{started.json()['event_id']}").text
    event = re.findall(r"^event: (\w+)", reply, flags=re.MULTILINE)[-1]
    data = re.findall(r"^data: (.*)$", reply, flags=re.MULTILINE)[-1]
    return event, json.loads(data)


def test_upload_api_reads_only_files_that_were_uploaded(
    tmp_path: Path, fresh_store: PassageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAZHI_AUTH", "alice:s3cret")
    monkeypatch.setenv("FAZHI_ADMIN_USER", "alice")
    settings = Settings(_env_file=None, store=tmp_path / "store")
    app = build_app(settings, AnswerService(fresh_store))
    # a report on the server that nobody uploaded: in Gradio's shared cache folder (where
    # other apps' files and this app's own downloads live) and behind a local URL
    cached = Path(get_upload_folder()) / f"fazhi-test-{uuid.uuid4().hex}" / "塘坊镇 2021年 报告.txt"
    cached.parent.mkdir(parents=True)
    cached.write_text(sample_text(1), encoding="utf-8")
    served = tmp_path / "www"
    served.mkdir()
    (served / "report.txt").write_text(sample_text(3), encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    web_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=web_server.serve_forever, daemon=True).start()
    try:
        url = serve(app, settings)
        admin = httpx.Client(base_url=url, timeout=120)
        assert admin.post("login", data={"username": "alice", "password": "s3cret"}).is_success

        # Gradio itself refuses a path outside its cache and a loopback URL (in English);
        # what gets past it (its cache folder, a public URL it downloaded) fazhi refuses
        readme = Path(__file__).resolve().parent.parent / "README.md"
        event, data = raw_upload(admin, str(readme))
        assert event == "error" and "README.md" in json.dumps(data, ensure_ascii=False)
        event, data = raw_upload(admin, f"http://127.0.0.1:{web_server.server_port}/report.txt")
        assert event == "error", data

        event, data = raw_upload(admin, str(cached))
        assert event == "complete", data
        (row,), status = data[0]["data"], data[1]
        assert row[1] == "失败" and "不是随本次请求上传的文件" in row[5], row
        assert "失败 1 个" in status

        assert fresh_store.list_reports() == []
        assert not (settings.store / "uploads").exists() or not any(
            (settings.store / "uploads").iterdir()
        )

        # the same report, uploaded, is stored
        alice = Client(url, auth=("alice", "s3cret"), verbose=False)
        table, _ = alice.predict([handle_file(cached)], api_name="/upload")
        assert table["data"][0][1:3] == ["已添加", "塘坊镇"]
        assert [r.meta.township for r in fresh_store.list_reports()] == ["塘坊镇"]
    finally:
        web_server.shutdown()
        shutil.rmtree(cached.parent, ignore_errors=True)
        app.close()


def test_stage_uploads_enforces_size_and_type(tmp_path: Path) -> None:
    small = tmp_path / "a.txt"
    small.write_text("短", encoding="utf-8")
    big = tmp_path / "b.md"
    big.write_text("长" * 100, encoding="utf-8")
    odd = tmp_path / "c.doc"
    odd.write_bytes(b"x")
    files = [str(small), str(big), str(odd)]
    staged = stage_uploads(files, tmp_path / "uploads", max_bytes=50, uploaded=files)
    assert staged[0].path == (tmp_path / "uploads" / "a.txt").resolve()
    assert staged[1].path is None and "文件过大" in staged[1].reason
    assert staged[2].path is None and "不支持" in staged[2].reason


def test_stage_uploads_refuses_what_was_not_uploaded(tmp_path: Path) -> None:
    received = tmp_path / "received" / "a.txt"
    received.parent.mkdir()
    received.write_text("石桥镇", encoding="utf-8")
    other = tmp_path / "secret.txt"
    other.write_text("密", encoding="utf-8")
    sneaky = f"{received.parent}/../secret.txt"
    files = [str(received), str(other), sneaky, "secret.txt", "https://example.com/x.txt"]
    staged = stage_uploads(files, tmp_path / "uploads", 1000, uploaded=[str(received)])
    assert staged[0].path is not None
    for item in staged[1:]:
        assert item.path is None and "不是随本次请求上传的文件" in item.reason, item
    assert [p.name for p in (tmp_path / "uploads").iterdir()] == ["a.txt"]
    # without the app's record, only Gradio's upload folder counts
    (only,) = stage_uploads([str(other)], tmp_path / "uploads", 1000)
    assert only.path is None and "不是随本次请求上传的文件" in only.reason


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\boot.ini.HTM", "boot_ini.htm"),
        ("<script>alert(1)</script>.md", "script.md"),
        ("<b onclick=x>.MD", "b_onclick_x.md"),
        ("...", "report"),
        ("石桥镇 2023年度 报告（定稿）.docx", "石桥镇_2023年度_报告(定稿).docx"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


# -- login -------------------------------------------------------------------------------------
def test_auth_is_required_when_configured(
    tmp_path: Path, fresh_store: PassageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAZHI_AUTH", "alice:s3cret,bob:hunter2")
    monkeypatch.setenv("FAZHI_ADMIN_USER", "alice")
    settings = Settings(_env_file=None, store=tmp_path / "store")
    app = build_app(settings, AnswerService(fresh_store))
    try:
        url = serve(app, settings)
        assert httpx.get(f"{url}gradio_api/info").status_code == 401
        with pytest.raises(Exception, match=r"(?i)login|auth|credentials"):
            Client(url, verbose=False)
        with pytest.raises(Exception, match=r"(?i)login|auth|credentials|incorrect"):
            Client(url, auth=("alice", "wrong"), verbose=False)

        bob = Client(url, auth=("bob", "hunter2"), verbose=False)
        assert bob.predict("石桥镇有多少名法律明白人？", api_name="/ask")["found"] is False
        exe = tmp_path / "x.exe"
        exe.write_bytes(b"MZ")
        with pytest.raises(AppError, match="管理员"):
            bob.predict([handle_file(exe)], api_name="/upload")

        alice = Client(url, auth=("alice", "s3cret"), verbose=False)
        table, _ = alice.predict([handle_file(exe)], api_name="/upload")
        assert table["data"][0][1] == "失败"
    finally:
        app.close()


def test_parse_auth() -> None:
    assert parse_auth(None) is None
    assert parse_auth("a:b, c:d:e") == [("a", "b"), ("c", "d:e")]
    with pytest.raises(FazhiError):
        parse_auth("justuser")


# -- first start -------------------------------------------------------------------------------
def test_first_start_ingests_the_samples_with_progress(
    tmp_path: Path, fresh_store: PassageStore, sample_store: PassageStore
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sample = sorted(SAMPLE_CORPUS.glob("*.txt"))[2]
    (corpus / sample.name).write_bytes(sample.read_bytes())
    lines: list[str] = []
    settings = Settings(_env_file=None, store=tmp_path / "store")
    summary = ensure_corpus(settings, fresh_store, echo=lines.append, corpus=corpus)
    assert summary is not None and summary.count("added") == 1
    assert [r.meta.township for r in fresh_store.list_reports()] == ["石桥镇"]
    assert any("[1/1]" in line and "已添加" in line for line in lines)
    assert ensure_corpus(settings, sample_store, echo=lines.append) is None  # not empty: no-op


def test_fazhi_serve_launches_the_app(tmp_path: Path, sample_store_dir: Path) -> None:
    """The real `fazhi serve` command, in its own process, over a copy of the sample store."""
    store = tmp_path / "store"
    shutil.copytree(sample_store_dir, store)
    port = free_port()
    fazhi = Path(sys.executable).with_name("fazhi")
    command = [str(fazhi), "serve", "--store", str(store), "--port", str(port)]
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail(f"fazhi serve did not come up:\n{log.read_text()}")
        page = httpx.get(url).text
        assert "法治" in page
        result = Client(url, verbose=False).predict(CORPUS_QUESTION, api_name="/ask")
        assert len(result["townships"]) >= 3
        assert "正在导入内置示例报告" not in log.read_text()  # the store was not empty
    finally:
        process.terminate()
        process.wait(timeout=30)


# -- untrusted text ----------------------------------------------------------------------------
def evil_citation(n: int = 1) -> Citation:
    text = f"三、存在的问题\n一是{PAYLOAD}二是队伍建设薄弱。"
    quote_start = text.index("一是")
    quote_end = text.index("二是")
    return Citation(
        n=n,
        township="红岩镇<b>",
        county="巫溪县",
        province="重庆市",
        year=2022,
        section="problems",
        heading="三、存在的问题",
        text=text,
        report_id="evil",
        source="/x/<evil>.txt",
        start=100,
        end=100 + len(text),
        quote=text[quote_start:quote_end],
        quote_start=100 + quote_start,
        quote_end=100 + quote_end,
    )


def assert_inert(markup: str, *, markdown: bool = False) -> None:
    """No tag, handler or link from the payload survives (as markup; as text it may)."""
    lowered = markup.lower()
    for bad in ("<script", "<img", "镇<b>", 'href="javascript', 'onerror="'):
        assert bad not in lowered, bad
    if markdown:  # the chat parses Markdown: not even the link syntax may be left
        assert "](" not in markup and "javascript:" not in lowered


def test_untrusted_text_renders_inert() -> None:
    citation = evil_citation()
    answer = Answer(
        question="哪些乡镇<script>x</script>？",
        kind="corpus",
        mode="extractive",
        answer=f"- **红岩镇**：“{citation.quote}” [1]\n[link](javascript:alert(3)) $$x$$",
        found=True,
        townships=["红岩镇"],
        not_mentioned=[],
        citations=[citation],
        filters={},
        timings={"total_ms": 12.0},
        notice="<script>notice</script>",
    ).to_dict()
    message = answer_message(answer, 0)
    assert_inert(message, markdown=True)
    assert '<a class="fz-cite" href="#fz-a0-c1"' in message  # our own link survives
    assert "<strong>红岩镇</strong>" in message
    assert "&#60;script&#62;" in message and "&#91;link&#93;&#40;javascript&#58;" in message

    card = source_card(answer["citations"][0], 0, ["执法能力"])
    assert_inert(card)
    assert "&lt;script&gt;window.__fzXss=1&lt;/script&gt;" in card
    assert '<mark class="fz-quote fz-term">执法能力</mark>' in card

    report = StoredReport(
        id="evil",
        source="/x/<evil>.txt",
        format="txt",
        meta=ReportMeta(township="红岩镇", title="<script>t</script>", warnings=["<img src=x>"]),
        sections=[Section("problems", "三、存在的问题<b>", 0, 40)],
        passage_count=1,
        fingerprint="",
        text=("<b>前言</b>" + PAYLOAD) * 3,
    )
    assert_inert(report_html(report, cited=(5, 30, 10, 20)))

    matrix = CompareMatrix(
        topics=["执法<i>能力"],
        rows=[
            CompareRow(
                "evil", "红岩镇<b>", None, None, 2022, {"执法<i>能力": CompareCell(citation)}
            )
        ],
    )
    assert_inert(matrix_html(matrix).replace("<i>", "").replace("执法<i>", ""))
    assert "执法&lt;i&gt;能力" in matrix_html(matrix)


# -- exports -----------------------------------------------------------------------------------
def test_answer_markdown_for_a_paper() -> None:
    citation = evil_citation()
    answer = Answer(
        question="哪些乡镇把执法能力不足列为存在的问题？",
        kind="corpus",
        mode="extractive",
        answer=f"- **红岩镇**：“{citation.quote}” [1]",
        found=True,
        townships=["红岩镇"],
        not_mentioned=[],
        citations=[citation],
        filters={"provinces": ["重庆市"], "sections": ["problems"]},
        timings={},
    ).to_dict()
    text = answer_markdown(answer)
    assert "检索范围：省份：重庆市；部分：存在问题" in text
    assert "- **红岩镇**：" in text and "[1]" in text
    assert "[1] 红岩镇\\<b\\>（重庆市巫溪县），2022年度法治政府建设报告，“存在问题”部分" in text
    assert "\\<script\\>" in text and "\\[点我\\](javascript:alert(1))" in text
    assert "<script>" not in text


def test_comparison_exports_guard_formulas(tmp_path: Path) -> None:
    citation = evil_citation()
    citation.quote = '=HYPERLINK("http://x","y")'
    matrix = CompareMatrix(
        topics=["执法能力", "信访"],
        rows=[
            CompareRow(
                "r1",
                "红岩镇",
                "巫溪县",
                "重庆市",
                2022,
                {
                    "执法能力": CompareCell(problem=citation),
                    "信访": CompareCell(),
                },
            )
        ],
    )
    with write_csv(matrix, tmp_path / "m.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:5] == ["乡镇", "县区", "省份", "年份", "主题"]
    assert rows[1][4:8] == ["执法能力", "是", '\'=HYPERLINK("http://x","y")', "否"]
    assert rows[2][4:6] == ["信访", "否"]

    book = load_workbook(write_xlsx(matrix, tmp_path / "m.xlsx"))
    assert book.sheetnames == ["对比矩阵", "明细"]
    assert [c.value for c in book["对比矩阵"][2]] == [
        "红岩镇",
        "巫溪县",
        "重庆市",
        2022,
        "存在问题",
        "未提及",
    ]
    quote = book["明细"]["G2"]
    assert quote.data_type == "s" and quote.value.startswith("'=")


def test_parse_topics() -> None:
    assert parse_topics(["执法能力"], "信访, 安全生产，执法能力") == [
        "执法能力",
        "信访",
        "安全生产",
    ]
    with pytest.raises(FazhiError):
        parse_topics([], " ")


def test_a_connection_error_from_elsewhere_is_not_a_store_outage(
    fresh_store: PassageStore,
) -> None:
    """Only a store whose server does not answer is an outage (the browser test stops a real
    one); a refused LLM endpoint, say, keeps its own error."""
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    assert store_outage(fresh_store, "http://127.0.0.1:8000", refused) is None
    assert store_outage(fresh_store, None, refused) is None


def test_a_source_card_names_an_unidentified_report_by_its_file(service):
    answer = service.ask("哪些乡镇把执法能力不足列为存在的问题？").to_dict()
    citation = dict(answer["citations"][0], township=None, source="/reports/石桥2023.docx")
    card = source_card(citation, 0, [])
    assert "<b>未识别乡镇（石桥2023.docx）</b>" in card
    assert "未知乡镇" not in card
