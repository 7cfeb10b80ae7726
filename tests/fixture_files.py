"""Build realistic report files of every format, and broken ones, for tests.

Each `make_*` function writes one file at `path` (creating parent folders) and returns `path`.
The good ones are built from a real sample report's text (`sample_text()`), shaped like what
townships publish: a Word file with headings and a merged-cell table, a PDF whose lines wrap
mid-sentence with page numbers and a running header, a saved government web page with its
breadcrumb, index table, share widget and footer, and text saved as GB18030 or UTF-16.

    from tests.fixture_files import make_pdf, sample_text
    make_pdf(sample_text(0), tmp_path / "report.pdf")
"""

from __future__ import annotations

import html
import io
import random
import re
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "app" / "samples" / "reports"

# The table `make_docx` inserts, as a loader should read it (row by row, merged cells repeated
# in every row they span vertically, a horizontal span kept once).
DOCX_TABLE_ROWS: list[list[str]] = [
    ["类别", "事项", "完成情况"],
    ["学法用法", "党委理论中心组学法", "12次"],
    ["学法用法", "干部法律知识考试", "参考率100%"],
    ["执法监督", "行政执法案卷评查", "评查案卷8件"],
    ["备注", "以上数据截至2023年12月31日"],
]
DOCX_HEADER_TEXT = "法治政府建设情况报告（页眉）"
PDF_HEADER_TEXT = "法治政府建设年度报告（公开版）"

# Page furniture `make_gov_html` puts around the article; none of it belongs in the report text.
HTML_FURNITURE = (
    "您当前的位置",
    "扫一扫在手机打开当前页",
    "分享到",
    "索引号",
    "发文字号",
    "发布机构",
    "主办单位",
    "网站标识码",
    "ICP备",
    "版权所有",
    "打印本页",
    "关闭窗口",
    "政务公开",  # a nav menu item
    "var ",  # script
)

_SECTION_HEADING = re.compile(r"^[一二三四五六七八九十]+、")
_PROBLEMS_HEADING = re.compile(r"^[一二三四五六七八九十]+、.{0,30}(存在|不足|问题)")


def sample_paths() -> list[Path]:
    """The real sample reports shipped with the app, sorted."""
    return sorted(SAMPLES_DIR.glob("*.txt"))


def sample_text(index: int = 0) -> str:
    """The text of the `index`-th sample report (UTF-8)."""
    return sample_paths()[index].read_text(encoding="utf-8")


def report_lines(report_text: str) -> list[str]:
    """The non-empty, stripped lines of a report: its paragraphs."""
    return [line.strip() for line in report_text.splitlines() if line.strip()]


def problems_heading_index(lines: list[str]) -> int:
    """Index of the '三、存在的问题' style heading in `lines` (or the middle if there is none)."""
    for i, line in enumerate(lines):
        if _PROBLEMS_HEADING.match(line):
            return i
    return len(lines) // 2


def _prepare(path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# ------------------------------------------------------------------------------------------
# Good files


def make_docx(report_text: str, path: Path) -> Path:
    """Write `report_text` as a Word .docx: title, headings, paragraphs and a merged-cell table.

    The table (`DOCX_TABLE_ROWS`) sits right before the problems heading; its first column has
    a vertically merged "学法用法" cell and its last row a horizontally merged cell. The page
    header holds `DOCX_HEADER_TEXT` and one paragraph carries a `_GoBack` bookmark, as Word
    leaves them.
    """
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    path = _prepare(path)
    lines = report_lines(report_text)
    table_at = problems_heading_index(lines)
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = DOCX_HEADER_TEXT
    for i, line in enumerate(lines):
        if i == table_at:
            _add_docx_table(document)
        if i == 0:
            document.add_heading(line, level=0)
        elif _SECTION_HEADING.match(line):
            document.add_heading(line, level=1)
        else:
            paragraph = document.add_paragraph(line)
            if i == 2:
                start = OxmlElement("w:bookmarkStart")
                start.set(qn("w:id"), "0")
                start.set(qn("w:name"), "_GoBack")
                end = OxmlElement("w:bookmarkEnd")
                end.set(qn("w:id"), "0")
                paragraph._p.insert(0, start)
                paragraph._p.append(end)
    document.save(str(path))
    return path


def _add_docx_table(document: object) -> None:
    rows = DOCX_TABLE_ROWS
    table = document.add_table(rows=len(rows), cols=3)  # type: ignore[attr-defined]
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        if len(row) == 3 and r != 2:  # row 2's first cell is the lower half of a merge
            for c, value in enumerate(row):
                table.cell(r, c).text = value
    # vertical merge: 学法用法 spans rows 1-2 of column 0
    merged = table.cell(1, 0).merge(table.cell(2, 0))
    merged.text = "学法用法"
    table.cell(2, 1).text = rows[2][1]
    table.cell(2, 2).text = rows[2][2]
    # horizontal merge: the note spans columns 1-2 of the last row
    last = len(rows) - 1
    table.cell(last, 0).text = rows[last][0]
    note = table.cell(last, 1).merge(table.cell(last, 2))
    note.text = rows[last][1]


def _pdf_wrap(text: str, font: str, size: float, width: float, indent: float) -> list[str]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    current = ""
    limit = width - indent
    for ch in text:
        if stringWidth(current + ch, font, size) > limit:
            lines.append(current)
            current = ch
            limit = width
        else:
            current += ch
    if current:
        lines.append(current)
    return lines


def make_pdf(
    report_text: str,
    path: Path,
    *,
    header: str | None = PDF_HEADER_TEXT,
    page_label: str = "- {n} -",
    font_size: float = 12,
) -> Path:
    """Write `report_text` as an A4 PDF with a real text layer, the way Word exports reports.

    Uses reportlab's built-in CID font STSong-Light (no font files needed). Paragraphs are
    indented two characters and wrap across lines wherever the width runs out, mid-sentence and
    mid-number; every page has `header` at the top and `page_label` at the bottom, formatted
    with `{n}` (page number) and `{total}` (page count): "- 2 -", "第 {n} 页", "{n}/{total}".
    The first two lines (issuing body, title) are centered when short.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    path = _prepare(path)
    font = "STSong-Light"
    pdfmetrics.registerFont(UnicodeCIDFont(font))
    page_w, page_h = A4
    margin_x, top, bottom = 72.0, page_h - 80, 80.0
    text_w = page_w - 2 * margin_x
    leading = font_size * 1.6

    # Lay out first (x offset or None for centered, text) so the page count is known.
    pages: list[list[tuple[float | None, str]]] = [[]]
    per_page = int((top - bottom) // leading) + 1
    for i, paragraph in enumerate(report_lines(report_text)):
        if i < 2 and len(paragraph) < 40:
            placed: list[tuple[float | None, str]] = [(None, paragraph)]
        else:
            indent = 2 * font_size
            wrapped = _pdf_wrap(paragraph, font, font_size, text_w, indent)
            placed = [(margin_x + (indent if j == 0 else 0), ln) for j, ln in enumerate(wrapped)]
        for item in placed:
            if len(pages[-1]) >= per_page:
                pages.append([])
            pages[-1].append(item)

    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1)  # same bytes every run
    for n, lines in enumerate(pages, start=1):
        pdf.setFont(font, 9)
        if header:
            pdf.drawCentredString(page_w / 2, page_h - 50, header)
        pdf.drawCentredString(page_w / 2, 45, page_label.format(n=n, total=len(pages)))
        pdf.setFont(font, font_size)
        y = top
        for x, line in lines:
            if x is None:
                pdf.drawCentredString(page_w / 2, y, line)
            else:
                pdf.drawString(x, y, line)
            y -= leading
        pdf.showPage()
    pdf.save()
    return path


def _html_paragraph(line: str, width: int = 40) -> str:
    """A <p> whose source text is hard-wrapped between Chinese characters, as CMSes emit it."""
    escaped = html.escape(line)
    pieces: list[str] = []
    current = ""
    for ch in escaped:
        current += ch
        if len(current) >= width and re.match(r"[\u4e00-\u9fff]", ch):
            pieces.append(current)
            current = ""
    pieces.append(current)
    body = "\n".join(p for p in pieces if p)
    return f'<p style="text-indent:2em;">\n{body}</p>'


def make_gov_html(
    report_text: str,
    path: Path,
    title: str,
    date: str,
    *,
    encoding: str = "utf-8",
) -> Path:
    """Write `report_text` as a page saved from a township government site.

    Around the article (`<div id="zoom" class="zoom"><div class="TRS_Editor">`, one <p> per
    paragraph) sit what real pages have: a nav menu, the breadcrumb "您当前的位置：首页>…",
    the `title` heading, a "发布日期：`date`" info line, an index table (索引号/发文字号/发布机构
    /成文日期), a share widget with "扫一扫在手机打开当前页", print/close links, related links, a
    footer (主办单位/网站标识码/ICP备/版权所有) and scripts. Bytes are `encoding`; a GB18030
    page declares `gb2312`, as such sites do.
    """
    path = _prepare(path)
    gb = encoding.lower().replace("-", "") in ("gb18030", "gbk", "gb2312")
    declared = "gb2312" if gb else encoding
    paragraphs = "\n".join(_html_paragraph(line) for line in report_lines(report_text))
    t = html.escape(title)
    page = f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset={declared}">
<meta name="SiteName" content="巫溪县人民政府">
<meta name="ColumnName" content="法治政府建设年度报告">
<title>{t}_巫溪县人民政府</title>
<link rel="stylesheet" href="/css/style.css">
<style>.zoom p {{ line-height: 2em; }} .nav li {{ float: left; }}</style>
<script type="text/javascript">
var siteName = "巫溪县人民政府"; var columnName = "政务公开";
</script>
</head>
<body>
<div class="top">
  <div class="logo"><h1><a href="/">巫溪县人民政府</a></h1></div>
  <div class="search"><input type="text" value="请输入关键字"><button>搜索</button></div>
</div>
<div class="nav"><ul>
  <li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li>
  <li><a href="/bsfw/">办事服务</a></li><li><a href="/hdjl/">互动交流</a></li>
  <li><a href="/zjwx/">走进巫溪</a></li>
</ul></div>
<div class="main">
  <div class="position">您当前的位置：<a href="/">首页</a>&gt;<a href="/jz/">街镇</a>&gt;<a
    href="/jz/tfz/">塘坊镇人民政府</a>&gt;<a href="/jz/tfz/zwgk/">政务公开</a>&gt;<a
    href="#">法治政府建设年度报告</a></div>
  <div class="left-menu"><ul>
    <li><a href="#">机构职能</a></li><li><a href="#">政策文件</a></li>
    <li><a href="#">法治政府建设年度报告</a></li>
  </ul></div>
  <div class="article">
    <table class="xxgk_table">
      <tr><td>索引号：</td><td>11500238009355014C/2023-00012</td>
          <td>发布机构：</td><td>巫溪县塘坊镇人民政府</td></tr>
      <tr><td>发文字号：</td><td></td><td>成文日期：</td><td>{date}</td></tr>
      <tr><td>主题分类：</td><td>综合政务/其他</td><td>发布日期：</td><td>{date}</td></tr>
    </table>
    <div class="title"><h2>{t}</h2></div>
    <div class="info">
      <span>发布日期：{date}</span><span>来源：巫溪县塘坊镇人民政府</span>
      <span>浏览次数：<script>document.write(1024)</script></span>
      <span class="fontsize">字号：<a href="#">大</a> <a href="#">中</a> <a href="#">小</a></span>
    </div>
    <div id="zoom" class="zoom">
      <div class="TRS_Editor">
{paragraphs}
      </div>
    </div>
    <div class="share">
      <span>分享到：</span><a href="#" class="wx">微信</a><a href="#" class="wb">微博</a>
      <div class="ewm"><img src="/qrcode.png" alt=""><p>扫一扫在手机打开当前页</p></div>
    </div>
    <div class="tools"><a href="javascript:window.print()">【打印本页】</a>
      <a href="javascript:window.close()">【关闭窗口】</a></div>
    <div class="related"><h3>相关链接</h3><ul>
      <li><a href="#">巫溪县人民政府关于2022年度法治政府建设情况的报告</a></li>
      <li><a href="#">塘坊镇2021年度法治政府建设情况报告</a></li>
    </ul></div>
  </div>
</div>
<div class="footer">
  <p>主办单位：巫溪县人民政府办公室　承办单位：巫溪县大数据发展中心</p>
  <p>网站标识码：5002380001　<a href="https://beian.miit.gov.cn">渝ICP备05003300号</a>
     <a href="#">渝公网安备 50023802000001号</a></p>
  <p>版权所有：巫溪县人民政府　<a href="#">网站地图</a>　<a href="#">联系我们</a></p>
</div>
<script src="/js/jquery.min.js"></script>
<script>var _hmt = _hmt || []; var tip = "扫一扫在手机打开当前页";</script>
</body>
</html>
"""
    path.write_bytes(page.encode(encoding))
    return path


def write_encoded(text: str, path: Path, encoding: str, *, crlf: bool = False) -> Path:
    """Write `text` in `encoding` as Windows tools do.

    "utf-8-sig" and "utf-16" write a byte-order mark; "utf-16-le"/"utf-16-be" do not;
    "gb18030" (or "gbk") is what Chinese Notepad/WPS save as "ANSI". `crlf` uses \\r\\n.
    """
    path = _prepare(path)
    if crlf:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    path.write_bytes(text.encode(encoding))
    return path


# ------------------------------------------------------------------------------------------
# Bad files


def make_empty(path: Path) -> Path:
    """A 0-byte file."""
    path = _prepare(path)
    path.write_bytes(b"")
    return path


def make_binary_junk(path: Path, size: int = 4096, seed: int = 7) -> Path:
    """Random bytes (with NULs and controls), whatever the extension says."""
    path = _prepare(path)
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def make_corrupt_docx(path: Path, seed: int = 11) -> Path:
    """Random bytes with a .docx name: not a ZIP package at all."""
    return make_binary_junk(path, size=3000, seed=seed)


def make_doc_as_docx(path: Path) -> Path:
    """An old binary Word .doc (OLE2 compound file header) saved under a .docx name."""
    path = _prepare(path)
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff"
    path.write_bytes(header + random.Random(3).randbytes(4096))
    return path


def make_truncated_pdf(report_text: str, path: Path) -> Path:
    """A real text PDF cut in half, as an interrupted download leaves it."""
    path = _prepare(path)
    full = make_pdf(report_text, path)
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def make_scanned_pdf(path: Path, pages: int = 2) -> Path:
    """A PDF whose pages hold only drawn shapes (like scanned images): no text layer at all."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = _prepare(path)
    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1)  # same bytes every run
    width, height = A4
    for _ in range(pages):
        pdf.setFillGray(0.92)
        pdf.rect(40, 40, width - 80, height - 80, stroke=1, fill=1)
        pdf.setFillGray(0.3)
        for k in range(30):  # grey bars where the scanned lines of text would be
            pdf.rect(80, height - 120 - k * 22, width - 160 - (k % 4) * 40, 9, stroke=0, fill=1)
        pdf.showPage()
    pdf.save()
    return path


def make_encrypted_pdf(report_text: str, path: Path, password: str = "fazhi2023") -> Path:
    """A text PDF that needs a user password to open (RC4-128, as older Acrobat writes)."""
    from pypdf import PdfReader, PdfWriter

    path = _prepare(path)
    plain = make_pdf(report_text, path.with_name(path.stem + ".plain.pdf"))
    writer = PdfWriter(clone_from=PdfReader(str(plain)))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    path.write_bytes(buffer.getvalue())
    plain.unlink()
    return path


def make_undecodable_text(path: Path) -> Path:
    """Text that is neither UTF-8 nor Chinese: Japanese in Shift_JIS plus Latin-1 accents."""
    path = _prepare(path)
    text = "法令遵守の報告書です。行政手続きについて説明します。ありがとうございました。" * 5
    path.write_bytes(text.encode("shift_jis") + "Café résumé naïve".encode("latin-1"))
    return path


def make_html_without_article(path: Path) -> Path:
    """A page whose article is loaded by JavaScript: only nav, breadcrumb and footer remain."""
    path = _prepare(path)
    page = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>巫溪县人民政府</title>
<script>fetch('/api/article?id=12').then(r => r.text()).then(t => render(t));</script></head>
<body><div class="nav"><ul><li><a href="/">首页</a></li><li><a href="#">政务公开</a></li>
<li><a href="#">办事服务</a></li></ul></div>
<div class="position">您当前的位置：<a href="/">首页</a>&gt;<a href="#">政务公开</a></div>
<div id="app"></div>
<div class="footer"><p>主办单位：巫溪县人民政府办公室</p><p>渝ICP备05003300号</p></div>
</body></html>"""
    path.write_bytes(page.encode("utf-8"))
    return path


def make_oversize(path: Path, size: int) -> Path:
    """A sparse file of `size` bytes (no disk used), to trip the size limit."""
    path = _prepare(path)
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


# ------------------------------------------------------------------------------------------
# Hostile files: decompression bombs

_BOMB_CHUNK = 1024 * 1024


def make_docx_bomb(path: Path, expands_to: int, *, declared: int | None = None) -> Path:
    """A real Word package whose `word/document.xml` unpacks to `expands_to` bytes.

    The XML is valid (one paragraph whose text is `expands_to` bytes of "A"), so a loader that
    trusts the package parses all of it. Written as a stream: the file is about 1/1000 of
    `expands_to` and nothing large is ever held in memory. With `declared`, the part's headers
    lie and say it unpacks to `declared` bytes.
    """
    import zipfile

    import docx

    path = _prepare(path)
    template = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("关于2023年度法治政府建设情况的报告")
    document.save(template)
    head = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>"
    )
    tail = b"</w:t></w:r></w:p></w:body></w:document>"
    filler = expands_to - len(head) - len(tail)
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w") as bomb:
        for info in source.infolist():
            if info.filename != "word/document.xml":
                bomb.writestr(info, source.read(info), compress_type=zipfile.ZIP_DEFLATED)
                continue
            part = zipfile.ZipInfo("word/document.xml", date_time=info.date_time)
            part.compress_type = zipfile.ZIP_DEFLATED
            with bomb.open(part, "w", force_zip64=expands_to > 0x7FFFFFFF) as stream:
                stream.write(head)
                block = b"A" * _BOMB_CHUNK
                for _ in range(filler // _BOMB_CHUNK):
                    stream.write(block)
                stream.write(b"A" * (filler % _BOMB_CHUNK) + tail)
    if declared is not None:
        _declare_size(path, "word/document.xml", declared)
    return path


def _declare_size(path: Path, name: str, size: int) -> None:
    """Overwrite the uncompressed size a (non-zip64) zip part declares, in both its headers."""
    import struct
    import zipfile

    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as package:
        info = package.getinfo(name)
    struct.pack_into("<I", data, info.header_offset + 22, size)  # local file header
    entry = data.find(b"PK\x01\x02")
    while entry != -1:
        name_length = struct.unpack_from("<H", data, entry + 28)[0]
        if data[entry + 46 : entry + 46 + name_length] == name.encode():
            struct.pack_into("<I", data, entry + 24, size)  # central directory entry
            break
        entry = data.find(b"PK\x01\x02", entry + 4)
    path.write_bytes(bytes(data))


def make_pdf_bomb(path: Path, expands_to: int) -> Path:
    """A one-page PDF whose content stream is `expands_to` bytes of spaces, Flate-compressed.

    The page also shows one line of text, so only the size of its stream is wrong with it.
    """
    import zlib

    path = _prepare(path)
    packer = zlib.compressobj(9)
    text = b"BT /F1 12 Tf 72 720 Td (Report) Tj ET\n"
    packed = [packer.compress(text)]
    block = b" " * _BOMB_CHUNK
    for _ in range((expands_to - len(text)) // _BOMB_CHUNK):
        packed.append(packer.compress(block))
    packed.append(packer.compress(b" " * ((expands_to - len(text)) % _BOMB_CHUNK)))
    packed.append(packer.flush())
    stream = b"".join(packed)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))
    return path


# ------------------------------------------------------------------------------------------
# Pages that name their report only around the text


def make_untitled_gov_html(report_text: str, path: Path) -> Path:
    """A page saved without its heading: the report is named only by its breadcrumbs and meta tags.

    The article holds `report_text` without its first two lines (issuing body and title). The
    page names 龙颈镇 in a breadcrumb whose separators are images (class `crumbs`), in a labelled
    trail "当前位置：首页 >> 乡镇动态 >> 龙颈镇 >> 法治政府" (no class), and in `<meta>` tags
    (Keywords, Description, ArticleTitle, ColumnName, og:title); a nav menu and a footer sit
    around it.
    """
    path = _prepare(path)
    body = report_lines(report_text)[2:]
    paragraphs = "\n".join(f"<p>{html.escape(line)}</p>" for line in body)
    description = "2025年，龙颈镇坚持以习近平法治思想为指导，" + "深入推进依法行政。" * 40
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta name="Keywords" content="龙颈镇,法治政府建设,年度报告">
<meta name="Description" content="{description}">
<meta name="ArticleTitle" content="龙颈镇2025年法治政府建设年度报告">
<meta name="ColumnName" content="龙颈镇">
<meta name="ColumnName" content="龙颈镇">
<meta property="og:title" content="龙颈镇法治政府建设年度报告 - 从化区人民政府">
<meta name="viewport" content="width=device-width">
<title>从化区人民政府门户网站</title></head>
<body>
<div class="nav"><a href="/">首页</a> <a href="/zwgk/">政务公开</a> <a href="/bsfw/">办事服务</a></div>
<div class="crumbs"><a href="/">首页</a><img src="/arrow.gif"><a href="/zjjd/">镇街动态</a><img
  src="/arrow.gif"><a href="/zjjd/ljz/">龙颈镇</a></div>
<table><tr><td>当前位置：<a href="/">首页</a> &gt;&gt; <a href="#">乡镇动态</a> &gt;&gt;
  <a href="#">龙颈镇</a> &gt;&gt; 法治政府</td></tr></table>
<div class="content">
{paragraphs}
</div>
<div class="footer"><p>主办单位：从化区人民政府办公室</p></div>
</body></html>
"""
    path.write_bytes(page.encode("utf-8"))
    return path
