"""Loading every format a township publishes, built from the real sample reports.

Assertions are about what a user would notice: the report's sentences come out whole (no spaces
inside Chinese, no mojibake, no page numbers or site furniture), and every bad file is refused
with a message naming the file and what is wrong.
"""

from __future__ import annotations

import random
import re
import zipfile
from pathlib import Path

import pytest

from ingest.errors import ReportLoadError, UnsupportedFormatError
from ingest.loaders import (
    CELL_SEPARATOR,
    DEFAULT_MAX_BYTES,
    SUPPORTED_EXTENSIONS,
    find_report_files,
    load_document,
)
from ingest.loaders.text import markdown_text
from ingest.sections import split_sections
from tests.fixture_files import (
    DOCX_HEADER_TEXT,
    DOCX_TABLE_ROWS,
    HTML_FURNITURE,
    PDF_HEADER_TEXT,
    make_binary_junk,
    make_corrupt_docx,
    make_doc_as_docx,
    make_docx,
    make_docx_bomb,
    make_empty,
    make_encrypted_pdf,
    make_gov_html,
    make_html_without_article,
    make_oversize,
    make_pdf,
    make_pdf_bomb,
    make_scanned_pdf,
    make_truncated_pdf,
    make_undecodable_text,
    make_untitled_gov_html,
    problems_heading_index,
    report_lines,
    sample_paths,
    sample_text,
    write_encoded,
)

# Whole sentences from the problems sections of the samples, as users would quote them.
WANGCHANG = 0  # 石柱县王场镇 2021
WANGCHANG_PROBLEM = (
    "我镇虽然建立了综合执法队，但是执法人员没有经过专业的培训，执法能力和执法水平有待于提升，"
    "同时执法队人员还兼政府其他业务，没有充分的时间参加执法活动，间接的牵绊着执法人员的工作精力。"
)
TANGFANG = 1  # 巫溪县塘坊镇 2022, scraped from the county site
TANGFANG_TITLE = "巫溪县塘坊镇人民政府关于2022年度法治政府建设情况的报告"
TANGFANG_PROBLEM = (
    "二是部分工作人员法律知识水平和依法行政能力有待进一步提高,个别村干部文化水平较低,"
    "对于法治政府建设工作适应较慢。"
)
SHIQIAO = 2  # 宝丰县石桥镇 2023
SHIQIAO_PROBLEM = (
    "部分机关干部、村干部运用法治思维、法治手段解决问题的意识和能力还不够强，执法程序、"
    "执法水平、运用法律手段管理社会事务能力还有待于进一步规范和提高。"
)

SPACE_INSIDE_CHINESE = re.compile(r"[\u4e00-\u9fff，。、；：] +[\u4e00-\u9fff，。、；：]")


def squash(text: str) -> str:
    """The text without any whitespace, to compare content regardless of line breaks."""
    return re.sub(r"\s+", "", text)


def assert_names_file(excinfo: pytest.ExceptionInfo[ReportLoadError], path: Path) -> str:
    message = str(excinfo.value)
    assert str(path) in message
    assert excinfo.value.path == path
    return message


# ------------------------------------------------------------------------------------------
# Plain text


def test_utf8_sample_loads_unchanged() -> None:
    path = sample_paths()[WANGCHANG]
    doc = load_document(path)
    assert doc.format == "txt"
    assert doc.encoding == "utf-8"
    assert doc.source == path
    assert doc.text == sample_text(WANGCHANG)
    assert WANGCHANG_PROBLEM in doc.text


@pytest.mark.parametrize(
    ("encoding", "crlf", "recorded"),
    [
        ("gb18030", True, "gb18030"),  # Notepad/WPS "ANSI" on a Chinese Windows
        ("gbk", False, "gb18030"),
        ("utf-8-sig", True, "utf-8-sig"),
        ("utf-16", True, "utf-16"),  # Notepad "Unicode", with BOM
        ("utf-16-le", False, "utf-16-le"),  # no BOM
        ("utf-16-be", False, "utf-16-be"),
    ],
)
def test_windows_encodings_decode_to_the_same_text(
    tmp_path: Path, encoding: str, crlf: bool, recorded: str
) -> None:
    original = sample_text(SHIQIAO)
    path = write_encoded(original, tmp_path / f"report-{encoding}.txt", encoding, crlf=crlf)
    doc = load_document(path)
    assert doc.encoding == recorded
    assert "\r" not in doc.text
    assert doc.text == original
    assert SHIQIAO_PROBLEM in doc.text


def test_markdown_is_text(tmp_path: Path) -> None:
    path = write_encoded("# 报告\n\n" + sample_text(WANGCHANG), tmp_path / "report.md", "utf-8")
    doc = load_document(path)
    assert doc.format == "md"
    assert WANGCHANG_PROBLEM in doc.text


def test_markdown_markup_is_not_the_reports_text(tmp_path: Path) -> None:
    # a report kept as Markdown: its headings are the report's, so are its sections
    markdown = (
        "# 周庄镇2023年法治政府建设情况报告\n\n## 一、主要举措和成效\n\n"
        "1. 推进村级**法律顾问**全覆盖，详见[公示](http://example.org/a)。\n"
        "- 开展“法治夜市”普法活动18场。\n\n---\n\n## 二、存在的问题 ##\n\n"
        "> 执法文书制作不够规范。\n"
    )
    path = write_encoded(markdown, tmp_path / "report.md", "utf-8")
    text = load_document(path).text
    assert text.splitlines()[0] == "周庄镇2023年法治政府建设情况报告"
    assert "\n二、存在的问题\n" in text and "\n执法文书制作不够规范。" in text
    assert "1. 推进村级法律顾问全覆盖，详见公示。" in text  # its own numbering stays
    assert not re.search(r"[#*>\[\]]|---|^- ", text, re.MULTILINE)
    sections = [s.type for s in split_sections(text)]
    assert "problems" in sections and "measures" in sections
    # as pandoc and other converters write it: an underlined title, a table, a code fence
    converted = (
        "周庄镇2023年法治政府建设情况报告\n=========================\n\n一、主要举措和成效\n"
        "-----------\n\n| 项目 | 数量 |\n|:---|---:|\n| 法律明白人 | 159名 |\n\n"
        "```\n开展普法活动18场。\n```\n\n二、存在的问题\n-----------\n\n执法文书制作不够规范。\n"
    )
    text = load_document(write_encoded(converted, tmp_path / "pandoc.md", "utf-8")).text
    assert text.splitlines()[0] == "周庄镇2023年法治政府建设情况报告"
    assert "\n项目｜数量\n法律明白人｜159名\n" in text and "\n开展普法活动18场。\n" in text
    assert not re.search(r"[=|`]|---", text), text
    assert "problems" in [s.type for s in split_sections(text)]
    # a table without outer pipes, its rule the file's last line
    bare = markdown_text("项目 | 数量\n--- | ---\n法律顾问 | 28个\n\n全文完。\n| 名称 |\n|---|")
    assert bare == "项目｜数量\n法律顾问｜28个\n\n全文完。\n名称"
    # a line with a pipe and no table rule is the report's own text
    assert markdown_text("甲 | 乙\n正文。") == "甲 | 乙\n正文。"
    # a .txt file is read as it is
    txt = write_encoded("# 不是标题\n" + sample_text(WANGCHANG), tmp_path / "r.txt", "utf-8")
    assert load_document(txt).text.startswith("# 不是标题")


def test_big5_traditional_text_is_not_read_as_gbk_mojibake(tmp_path: Path) -> None:
    text = "本鎮堅持以習近平法治思想為指導，全面推進法治政府建設，依法履行政府職能。\n" * 8
    path = write_encoded(text, tmp_path / "big5.txt", "big5")
    doc = load_document(path)
    assert doc.encoding == "big5"
    assert doc.text == text


def test_undecodable_text_is_refused_not_mojibaked(tmp_path: Path) -> None:
    path = make_undecodable_text(tmp_path / "report.txt")
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    message = assert_names_file(excinfo, path)
    assert "cannot detect the text encoding" in message
    assert "gb18030" in message and "utf-8" in message
    assert "save it as UTF-8" in message


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8"])
def test_text_with_a_damaged_byte_says_so(tmp_path: Path, encoding: str) -> None:
    data = sample_text(SHIQIAO).encode(encoding)
    cut = data.index("法治思维运用".encode(encoding))
    path = tmp_path / "damaged.txt"
    path.write_bytes(data[:cut] + b"\xff" + data[cut:])
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    message = assert_names_file(excinfo, path)
    assert f"looks like {encoding.upper()} but has 1 invalid byte sequence" in message
    assert "save it as UTF-8" in message


def test_binary_junk_with_txt_name(tmp_path: Path) -> None:
    path = make_binary_junk(tmp_path / "report.txt")
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    assert "binary" in assert_names_file(excinfo, path)


def test_pdf_saved_as_txt_says_what_it_is(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes(make_pdf(sample_text(WANGCHANG), tmp_path / "real.pdf").read_bytes())
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    assert "PDF" in assert_names_file(excinfo, path)


@pytest.mark.parametrize("name", ["report.txt", "report.docx", "report.pdf", "report.html"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = make_empty(tmp_path / name)
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    assert "empty" in assert_names_file(excinfo, path)


def test_whitespace_only_text(tmp_path: Path) -> None:
    path = write_encoded(" \n\u3000\n\n", tmp_path / "blank.txt", "utf-8")
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    assert "no text" in assert_names_file(excinfo, path)


def test_oversize_file_says_limit_and_how_to_raise_it(tmp_path: Path) -> None:
    path = make_oversize(tmp_path / "huge.pdf", DEFAULT_MAX_BYTES + 1)
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    message = assert_names_file(excinfo, path)
    assert "20.0 MB" in message
    assert "--max-bytes 22020096" in message and "FAZHI_MAX_BYTES=22020096" in message


def test_max_bytes_is_respected_both_ways(tmp_path: Path) -> None:
    path = write_encoded(sample_text(WANGCHANG), tmp_path / "report.txt", "utf-8")
    size = path.stat().st_size
    with pytest.raises(ReportLoadError, match="size limit"):
        load_document(path, max_bytes=size - 1)
    assert WANGCHANG_PROBLEM in load_document(path, max_bytes=size).text


def test_missing_file_and_unsupported_type(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(missing)
    assert "no such file" in assert_names_file(excinfo, missing)

    sheet = tmp_path / "stats.xls"
    sheet.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(UnsupportedFormatError) as unsupported:
        load_document(sheet)
    message = str(unsupported.value)
    assert str(sheet) in message and "'.xls'" in message and ".docx" in message


# ------------------------------------------------------------------------------------------
# Word .docx


def test_docx_paragraphs_and_tables_in_document_order(tmp_path: Path) -> None:
    original = report_lines(sample_text(WANGCHANG))
    doc = load_document(make_docx(sample_text(WANGCHANG), tmp_path / "王场镇.docx"))
    assert doc.format == "docx"
    lines = [line for line in doc.text.split("\n") if line.strip()]

    table_lines = [CELL_SEPARATOR.join(row) for row in DOCX_TABLE_ROWS]
    at = problems_heading_index(original)
    # every paragraph, then the table rows exactly where the table sits, merged cells repeated
    assert lines == original[:at] + table_lines + original[at:]
    assert lines.count("学法用法｜党委理论中心组学法｜12次") == 1
    assert "学法用法｜干部法律知识考试｜参考率100%" in lines  # vertical merge repeated
    assert "备注｜以上数据截至2023年12月31日" in lines  # horizontal merge kept once

    assert WANGCHANG_PROBLEM in doc.text
    assert DOCX_HEADER_TEXT not in doc.text  # page header is furniture
    assert "_GoBack" not in doc.text and "bookmark" not in doc.text


def test_corrupt_docx(tmp_path: Path) -> None:
    path = make_corrupt_docx(tmp_path / "report.docx")
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    assert "not a valid .docx" in assert_names_file(excinfo, path)


def test_zip_that_is_not_a_word_file(tmp_path: Path) -> None:
    path = tmp_path / "report.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("report.txt", sample_text(WANGCHANG))
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    assert "not a valid .docx" in assert_names_file(excinfo, path)


def test_old_doc_renamed_to_docx(tmp_path: Path) -> None:
    path = make_doc_as_docx(tmp_path / "report.docx")
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    message = assert_names_file(excinfo, path)
    assert "old .doc" in message and "save it as .docx" in message


def test_docx_without_text(tmp_path: Path) -> None:
    import docx

    path = tmp_path / "scan.docx"
    docx.Document().save(str(path))
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    assert "no text" in assert_names_file(excinfo, path)


def test_docx_tracked_changes_read_as_word_shows_them(tmp_path: Path) -> None:
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def run(text: str, deleted: bool = False) -> object:
        r = OxmlElement("w:r")
        t = OxmlElement("w:delText" if deleted else "w:t")
        t.text = text
        r.append(t)
        return r

    document = docx.Document()
    paragraph = document.add_paragraph("全镇共配备")
    insertion = OxmlElement("w:ins")
    insertion.set(qn("w:id"), "1")
    insertion.set(qn("w:author"), "司法所")
    insertion.append(run("159名"))
    deletion = OxmlElement("w:del")
    deletion.set(qn("w:id"), "2")
    deletion.set(qn("w:author"), "司法所")
    deletion.append(run("150名", deleted=True))
    paragraph._p.append(deletion)
    paragraph._p.append(insertion)
    paragraph._p.append(run("法律明白人。"))
    path = tmp_path / "tracked.docx"
    document.save(str(path))
    assert load_document(path).text == "全镇共配备159名法律明白人。"


# ------------------------------------------------------------------------------------------
# PDF


@pytest.mark.parametrize("index", range(5))
def test_pdf_text_comes_back_whole(tmp_path: Path, index: int) -> None:
    original = sample_text(index)
    doc = load_document(make_pdf(original, tmp_path / "report.pdf"))
    assert doc.format == "pdf"
    # nothing lost or added (the samples' own stray page number "1" may go with the furniture)
    expected = squash(original)
    assert squash(doc.text) in (expected, expected.removesuffix("1"))
    assert not SPACE_INSIDE_CHINESE.search(doc.text)
    assert PDF_HEADER_TEXT not in doc.text
    assert not re.search(r"^\s*-\s*\d+\s*-\s*$", doc.text, re.M)
    # wrapped lines are rejoined: every paragraph's text sits on lines of its own, and the
    # document has about as many lines as paragraphs, not one per printed line
    lines = [line for line in doc.text.split("\n") if line.strip()]
    paragraphs = report_lines(original)
    assert len(lines) < 1.6 * len(paragraphs)
    for paragraph in paragraphs:
        if paragraph != "1":
            assert squash(paragraph) in squash(doc.text)


def test_pdf_problem_sentences_verbatim(tmp_path: Path) -> None:
    for index, sentence in [(WANGCHANG, WANGCHANG_PROBLEM), (SHIQIAO, SHIQIAO_PROBLEM)]:
        doc = load_document(make_pdf(sample_text(index), tmp_path / f"{index}.pdf"))
        assert sentence in doc.text
    # headings stay on their own lines
    doc = load_document(make_pdf(sample_text(WANGCHANG), tmp_path / "w.pdf"))
    lines = doc.text.split("\n")
    assert "三、存在的问题" in lines
    assert "关于2021年推进法治政府建设工作开展情况的报告" in lines


PAGE_LABELS = ["- {n} -", "第 {n} 页", "{n}/{total}", "{n}", "第{n}页 共{total}页", "— {n} —"]
PAGE_NUMBER_LINE = re.compile(
    r"第\s*\d+\s*页|^\s*\d+\s*/\s*\d+\s*$|^\s*[-—]?\s*\d+\s*[-—]?\s*$", re.M
)


@pytest.mark.parametrize("label", PAGE_LABELS)
def test_pdf_page_numbers_dropped(tmp_path: Path, label: str) -> None:
    doc = load_document(make_pdf(sample_text(SHIQIAO), tmp_path / "p.pdf", page_label=label))
    assert SHIQIAO_PROBLEM in doc.text
    assert not PAGE_NUMBER_LINE.search(doc.text)
    assert squash(doc.text) in (squash(sample_text(SHIQIAO)), squash(sample_text(SHIQIAO))[:-1])


def test_truncated_pdf(tmp_path: Path) -> None:
    path = make_truncated_pdf(sample_text(WANGCHANG), tmp_path / "report.pdf")
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    assert "truncated or corrupt" in assert_names_file(excinfo, path)


def test_damaged_pdf_is_refused_not_half_read(tmp_path: Path) -> None:
    path = make_pdf(sample_text(WANGCHANG), tmp_path / "damaged.pdf")
    data = bytearray(path.read_bytes())
    at = int(len(data) * 0.1)  # inside the page objects; the end marker survives
    data[at : at + 400] = random.Random(1).randbytes(400)
    path.write_bytes(bytes(data))
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    message = assert_names_file(excinfo, path)
    assert "damaged" in message or "corrupt" in message


def test_scanned_pdf_has_no_text_layer(tmp_path: Path) -> None:
    path = make_scanned_pdf(tmp_path / "scan.pdf")
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    message = assert_names_file(excinfo, path)
    assert "no text layer" in message and "OCR is not supported" in message


def test_password_protected_pdf(tmp_path: Path) -> None:
    path = make_encrypted_pdf(sample_text(WANGCHANG), tmp_path / "secret.pdf")
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    assert "password" in assert_names_file(excinfo, path)


def test_junk_named_pdf(tmp_path: Path) -> None:
    path = make_binary_junk(tmp_path / "report.pdf")
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    assert "not a PDF" in assert_names_file(excinfo, path)


# ------------------------------------------------------------------------------------------
# HTML pages saved from government sites


def test_gov_page_keeps_article_and_drops_the_site(tmp_path: Path) -> None:
    original = report_lines(sample_text(TANGFANG))
    path = make_gov_html(sample_text(TANGFANG), tmp_path / "t.html", TANGFANG_TITLE, "2023-02-08")
    doc = load_document(path)
    assert doc.format == "html"
    assert doc.encoding == "utf-8"
    assert doc.title_hint == TANGFANG_TITLE
    assert doc.published_hint == "2023-02-08"
    for furniture in HTML_FURNITURE:
        assert furniture not in doc.text, furniture
    assert "首页" not in doc.text and "浏览次数" not in doc.text and "相关链接" not in doc.text
    assert TANGFANG_PROBLEM in doc.text
    assert not SPACE_INSIDE_CHINESE.search(doc.text)
    # one line per <p>: the report's paragraphs, less the furniture pasted into the sample
    lines = doc.text.split("\n")
    kept = [ln for ln in original if not ln.startswith(("您当前的位置", "日期:", "扫一扫"))]
    assert lines == [ln.replace("\xa0", " ") for ln in kept]  # &nbsp; reads as a space


def test_gbk_page_declaring_gb2312(tmp_path: Path) -> None:
    path = make_gov_html(
        sample_text(SHIQIAO),
        tmp_path / "s.htm",
        "石桥镇2023年法治政府建设情况的报告",
        "2024-01-15",
        encoding="gb18030",
    )
    doc = load_document(path)
    assert doc.encoding == "gb18030"
    assert doc.published_hint == "2024-01-15"
    assert SHIQIAO_PROBLEM in doc.text


def test_gbk_page_heavy_with_markup_and_scripts(tmp_path: Path) -> None:
    # real pages are mostly markup: the encoding check must look at the visible text
    path = make_gov_html(sample_text(SHIQIAO), tmp_path / "s.htm", "报告", "2024-01-15")
    page = path.read_text(encoding="utf-8").replace("charset=utf-8", "charset=gbk")
    script = "<script>" + "var menu = [{id: 1, url: '/zwgk/index.html'}];\n" * 3000 + "</script>"
    page = page.replace("</head>", script + "</head>")
    path.write_bytes(page.encode("gb18030"))
    doc = load_document(path)
    assert doc.encoding == "gb18030"
    assert SHIQIAO_PROBLEM in doc.text


def test_page_declaring_gb2312_but_saved_as_utf8(tmp_path: Path) -> None:
    path = make_gov_html(sample_text(SHIQIAO), tmp_path / "s.html", "报告", "2024-01-15")
    path.write_bytes(path.read_bytes().replace(b"charset=utf-8", b"charset=gb2312"))
    doc = load_document(path)
    assert doc.encoding == "utf-8"
    assert SHIQIAO_PROBLEM in doc.text


def test_page_without_cms_classes_falls_back_to_densest_paragraphs(tmp_path: Path) -> None:
    paragraphs = report_lines(sample_text(SHIQIAO))
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    page = f"""<html><head><meta charset="utf-8"><title>石桥镇报告 - 宝丰县</title></head><body>
<div class="x1"><p><a href="/">首页</a> <a href="#">政务公开</a> <a href="#">乡镇动态</a></p></div>
<div class="x2"><h2>宝丰县石桥镇人民政府关于2023年法治政府建设情况的报告</h2>
<p>成文日期：2024年1月5日</p>{body}
<table><tr><th>指标</th><th>完成数</th></tr><tr><td>普法活动</td><td>80余次</td></tr></table>
</div><div class="x3"><p>版权所有：宝丰县人民政府 豫ICP备12345678号</p></div></body></html>"""
    path = tmp_path / "plain.htm"
    path.write_text(page, encoding="utf-8")
    doc = load_document(path)
    assert doc.title_hint == "宝丰县石桥镇人民政府关于2023年法治政府建设情况的报告"
    assert doc.published_hint == "2024-01-05"
    assert SHIQIAO_PROBLEM in doc.text
    assert "普法活动｜80余次" in doc.text.split("\n")
    assert "政务公开" not in doc.text and "ICP" not in doc.text


def test_index_block_made_of_divs_is_dropped(tmp_path: Path) -> None:
    path = make_gov_html(sample_text(SHIQIAO), tmp_path / "s.html", "报告", "2024-01-15")
    page = path.read_text(encoding="utf-8")
    index = (
        '<div class="xxgk-head"><div><span>索 引 号：</span>00001-2024-000123</div>'
        "<div><span>发布机构：</span>宝丰县石桥镇人民政府</div>"
        "<div><span>成文日期：</span>2024-01-10</div></div>"
    )
    # inside the article container itself, as some CMS templates put it
    page = page.replace('<div class="TRS_Editor">', '<div class="TRS_Editor">' + index)
    path.write_text(page, encoding="utf-8")
    doc = load_document(path)
    assert SHIQIAO_PROBLEM in doc.text
    assert "00001-2024-000123" not in doc.text and "成文日期" not in doc.text


def test_old_layout_table_page_keeps_paragraphs_apart(tmp_path: Path) -> None:
    paragraphs = report_lines(sample_text(WANGCHANG))
    cell = "<br>\n".join("&nbsp;&nbsp;&nbsp;&nbsp;" + p for p in paragraphs)
    page = f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>石柱县人民政府</title></head><body>
<table width="980"><tr><td class="logo"><h1><a href="/">石柱县人民政府</a></h1></td></tr>
<tr><td width="200"><a href="#">政务公开</a><br><a href="#">乡镇街道</a></td>
<td width="780"><div class="bt">王场镇关于2021年推进法治政府建设工作开展情况的报告</div>
<span>时间：2022-01-20</span><br>{cell}</td></tr></table></body></html>"""
    path = tmp_path / "old.htm"
    path.write_bytes(page.encode("gb18030"))
    doc = load_document(path)
    assert doc.encoding == "gb18030"
    assert doc.title_hint == "王场镇关于2021年推进法治政府建设工作开展情况的报告"
    assert doc.published_hint == "2022-01-20"
    lines = doc.text.split("\n")
    assert WANGCHANG_PROBLEM in doc.text
    assert "三、存在的问题" in lines
    assert lines[0] == "王场镇关于2021年推进法治政府建设工作开展情况的报告"
    assert "乡镇街道" not in doc.text and "时间：" not in doc.text


def test_page_without_article(tmp_path: Path) -> None:
    path = make_html_without_article(tmp_path / "app.html")
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    assert "no article text" in assert_names_file(excinfo, path)


# ------------------------------------------------------------------------------------------
# Finding files


def test_find_report_files_expands_nested_directories(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    text = sample_text(WANGCHANG)
    files = {
        "2021/王场镇.txt": lambda p: write_encoded(text, p, "gb18030"),
        "2021/重庆/石柱/王场镇.docx": lambda p: make_docx(text, p),
        "2022/塘坊镇.html": lambda p: make_gov_html(text, p, TANGFANG_TITLE, "2023-02-08"),
        "2022/王场镇.pdf": lambda p: make_pdf(text, p),
        "2022/notes.md": lambda p: write_encoded(text, p, "utf-8"),
    }
    for rel, make in files.items():
        make(root / rel)
    (root / "2021" / "统计表.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (root / "2021" / "王场镇.docx.meta.json").write_text("{}", encoding="utf-8")
    (root / "manifest.csv").write_text("file,township\n", encoding="utf-8")
    (root / ".DS_Store").write_bytes(b"\x00\x01")
    (root / ".git").mkdir()
    (root / ".git" / "notes.txt").write_text("内部", encoding="utf-8")
    (root / "2021" / "~$王场镇.docx").write_bytes(b"lock")

    found, skipped = find_report_files([root, tmp_path / "missing"])
    assert [p.relative_to(root).as_posix() for p in found] == [
        "2021/王场镇.txt",
        "2021/重庆/石柱/王场镇.docx",
        "2022/notes.md",
        "2022/塘坊镇.html",
        "2022/王场镇.pdf",
    ]
    reasons = {p.name: reason for p, reason in skipped}
    assert set(reasons) == {"统计表.xls", "missing"}
    assert reasons["统计表.xls"].startswith("unsupported file type '.xls' (supported: ")
    assert all(ext in reasons["统计表.xls"] for ext in SUPPORTED_EXTENSIONS)
    assert reasons["missing"] == "no such file or directory"

    # and everything found loads to the report's text
    for path in found:
        assert WANGCHANG_PROBLEM in load_document(path).text, path


def test_find_report_files_explicit_files_and_duplicates(tmp_path: Path) -> None:
    report = write_encoded(sample_text(WANGCHANG), tmp_path / "a" / "r.txt", "utf-8")
    old = tmp_path / "a" / "old.doc"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    found, skipped = find_report_files([report, tmp_path / "a", old])
    assert found == [report]
    assert skipped == [
        (
            old,
            "unsupported file type '.doc' (supported: .docx, .htm, .html, .md, .pdf, .txt); "
            "open it in Word or WPS and save it as .docx",
        )
    ]


def test_loaders_public_surface_is_pinned() -> None:
    # Pipeline, settings and the web upload import these; the format modules stay internal.
    import ingest.loaders

    assert sorted(ingest.loaders.__all__) == [
        "CELL_SEPARATOR",
        "DEFAULT_MAX_BYTES",
        "SUPPORTED_EXTENSIONS",
        "find_report_files",
        "load_document",
    ]


# Bombs: the limits scale with max_bytes (ten times it), so a 100 KB limit makes a 5 MB bomb
# enough to test what a 300 MB one does at the default 20 MiB.
SMALL_LIMIT = 100_000


def test_docx_bomb_is_refused_naming_the_part_and_the_limit(tmp_path: Path) -> None:
    path = make_docx_bomb(tmp_path / "bomb.docx", 5_000_000)
    assert path.stat().st_size < SMALL_LIMIT
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path, max_bytes=SMALL_LIMIT)
    message = assert_names_file(excinfo, path)
    assert "word/document.xml expands to 4.8 MB (limit 1.0 MB" in message
    assert "zip bomb" in message


def test_docx_bomb_whose_headers_lie_about_its_size_is_caught_unpacking(tmp_path: Path) -> None:
    path = make_docx_bomb(tmp_path / "liar.docx", 5_000_000, declared=10_000)
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path, max_bytes=SMALL_LIMIT)
    message = assert_names_file(excinfo, path)
    assert "word/document.xml expands beyond 1.0 MB" in message
    assert "corrupt" not in message


def test_docx_part_that_unpacks_larger_than_declared_is_refused(tmp_path: Path) -> None:
    path = make_docx_bomb(tmp_path / "liar.docx", 500_000, declared=10_000)
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)
    assert "declares 9.8 KB but unpacks to 488.3 KB" in assert_names_file(excinfo, path)


def test_docx_part_compressed_a_thousand_times_is_refused_under_the_size_limit(
    tmp_path: Path,
) -> None:
    path = make_docx_bomb(tmp_path / "dense.docx", 5_000_000)
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path)  # 4.8 MB is under the default 200 MB: the ratio gives it away
    assert "word/document.xml expands 9" in assert_names_file(excinfo, path)
    assert "limit 100 times" in str(excinfo.value)


def test_real_word_and_pdf_reports_pass_the_bomb_checks_at_a_small_limit(tmp_path: Path) -> None:
    word = make_docx(sample_text(SHIQIAO), tmp_path / "shiqiao.docx")
    pdf = make_pdf(sample_text(SHIQIAO), tmp_path / "shiqiao.pdf")
    for path in (word, pdf):
        doc = load_document(path, max_bytes=path.stat().st_size)
        assert squash(SHIQIAO_PROBLEM) in squash(doc.text)


def test_pdf_with_a_huge_flate_stream_is_refused_naming_the_limit(tmp_path: Path) -> None:
    path = make_pdf_bomb(tmp_path / "bomb.pdf", 5_000_000)
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(path, max_bytes=SMALL_LIMIT)
    message = assert_names_file(excinfo, path)
    assert "compressed stream in the PDF expands beyond 1.0 MB" in message


def test_symlink_loops_and_broken_links_are_reasons_not_crashes(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    good = folder / "good.txt"
    good.parent.mkdir()
    good.write_text(sample_text(0), encoding="utf-8")
    (folder / "a.txt").symlink_to("b.txt")
    (folder / "b.txt").symlink_to("a.txt")
    (folder / "sub").mkdir()
    (folder / "sub" / "back").symlink_to("..", target_is_directory=True)
    (folder / "gone.txt").symlink_to("deleted.txt")
    linked = tmp_path / "elsewhere"
    (linked / "nested").mkdir(parents=True)
    (linked / "nested" / "linked.txt").write_text(sample_text(1), encoding="utf-8")
    (folder / "shared").symlink_to(linked, target_is_directory=True)

    files, skipped = find_report_files([folder, folder / "a.txt"])
    assert files == [good, folder / "shared" / "nested" / "linked.txt"]
    reasons = {path.name: reason for path, reason in skipped}
    assert sorted(reasons) == ["a.txt", "b.txt", "back", "gone.txt"], "each link reported once"
    assert reasons["a.txt"].startswith("symlink loop")
    assert reasons["b.txt"].startswith("symlink loop")
    assert reasons["back"].startswith("symlink loop")
    assert "broken symlink" in reasons["gone.txt"] and "deleted.txt" in reasons["gone.txt"]


def test_web_page_names_its_report_in_breadcrumbs_and_meta_tags(tmp_path: Path) -> None:
    path = make_untitled_gov_html(sample_text(SHIQIAO), tmp_path / "page.html")
    doc = load_document(path)
    assert doc.page_clues[:2] == [
        "首页 > 镇街动态 > 龙颈镇",  # separators drawn as images: the links are the steps
        "首页 > 乡镇动态 > 龙颈镇 > 法治政府",  # the label 当前位置 dropped
    ]
    assert doc.page_clues[2:] == [
        "龙颈镇,法治政府建设,年度报告",
        doc.page_clues[3],
        "龙颈镇2025年法治政府建设年度报告",
        "龙颈镇",  # ColumnName, given twice, kept once
        "龙颈镇法治政府建设年度报告 - 从化区人民政府",
    ]
    assert doc.page_clues[3].startswith("2025年，龙颈镇坚持以习近平法治思想为指导")
    assert all(len(clue) <= 200 for clue in doc.page_clues), "short strings, not the article"
    assert not any("办事服务" in clue for clue in doc.page_clues), "the nav menu is no clue"
    assert "龙颈镇" not in doc.text.splitlines()[0], "the text itself has no title"


def test_gov_page_breadcrumb_is_a_clue_and_text_files_have_none(tmp_path: Path) -> None:
    page = make_gov_html(sample_text(TANGFANG), tmp_path / "p.html", TANGFANG_TITLE, "2023-01-05")
    clues = load_document(page).page_clues
    assert clues[0] == "首页 > 街镇 > 塘坊镇人民政府 > 政务公开 > 法治政府建设年度报告"
    assert {"巫溪县人民政府", "法治政府建设年度报告"} <= set(clues)  # SiteName, ColumnName
    text = tmp_path / "r.txt"
    text.write_text(sample_text(TANGFANG), encoding="utf-8")
    assert load_document(text).page_clues == []


def test_loading_a_symlink_loop_directly_says_so(tmp_path: Path) -> None:
    (tmp_path / "a.txt").symlink_to("b.txt")
    (tmp_path / "b.txt").symlink_to("a.txt")
    with pytest.raises(ReportLoadError) as excinfo:
        load_document(tmp_path / "a.txt")
    assert "symlink loop" in assert_names_file(excinfo, tmp_path / "a.txt")
