"""The fazhi web app (Gradio): 问答, 报告, 对比, 上传, plus the `ask` API endpoint.

The UI only calls services (`AnswerService`, `ingest_paths`, store reads) and renders their
results. Report text is untrusted: everything taken from a report, a question, a file name or
an LLM reply is escaped before it reaches the page, so HTML, scripts and Markdown links in it
show as plain text.

    from app.web import build_app, launch_options
    app = build_app(settings)
    app.launch(**launch_options(settings))
"""

from __future__ import annotations

import html
import itertools
import logging
import re
import shutil
import tempfile
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from app.answering import Answer, AnswerService, Filters
from app.compare import TOPIC_PRESETS, CompareCell, CompareMatrix, compare, parse_topics
from app.export import (
    MODE_LABELS,
    answer_markdown,
    describe_filters,
    section_label,
    write_csv,
    write_xlsx,
)
from app.indexing import FileResult, IngestEvents, IngestSummary, ingest_paths
from app.settings import SAMPLE_CORPUS, Settings
from ingest.errors import FazhiError
from ingest.model import SECTION_LABELS, SECTION_TYPES
from vectorstore import PassageStore
from vectorstore.store import StoredReport

log = logging.getLogger(__name__)

UPLOAD_TYPES = (".txt", ".md", ".docx", ".pdf", ".html", ".htm")
EXAMPLES: tuple[tuple[str, str], ...] = (
    ("全库比较", "哪些乡镇把执法能力不足列为存在的问题？"),
    ("查具体事实", "石桥镇有多少名法律明白人？"),
    ("找同行做法", "别的镇在矛盾纠纷化解上有什么做法？"),
)
KIND_LABELS = {
    "annual_report": "年度报告",
    "duty_report": "述法报告",
    "self_inspection": "自查报告",
}
STATUS_LABELS = {
    "added": "已添加",
    "unchanged": "未变化",
    "replaced": "已替换",
    "failed": "失败",
    "skipped": "已跳过",
}
SECTION_CHOICES = [(label, key) for key, label in SECTION_LABELS.items()]
REPORT_HEADERS = ["乡镇", "县区", "省份", "年份", "类型", "段落数", "来源文件", "编号"]
UPLOAD_HEADERS = ["文件", "结果", "乡镇", "年份", "段落数", "说明"]
ANY_YEAR = "不限"
LLM_HINT = (
    "当前为<b>摘录式</b>回答（直接引用报告原文）。如需大模型撰写回答，请设置 "
    "<code>FAZHI_LLM_BASE_URL</code>、<code>FAZHI_LLM_MODEL</code> 和 "
    "<code>FAZHI_LLM_API_KEY</code> 后重启。"
)

# -- escaping ----------------------------------------------------------------------------------
# Every character that HTML or Markdown would act on becomes a numeric entity: the chat's
# Markdown renderer then has nothing to parse, and the browser shows the characters as text.
_INERT = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'`*_[](){}#!|~$\\=:"})
_BOLD = re.compile(r"&#42;&#42;(.+?)&#42;&#42;")
_MARKER = re.compile(r"&#91;(\d{1,3})&#93;")
_HEADING = re.compile(r"^(?:&#35;)+\s*")


def esc(value: object) -> str:
    """Text for HTML that is not parsed as Markdown (gr.HTML)."""
    return html.escape("" if value is None else str(value), quote=True)


def inert(value: object) -> str:
    """Text for the chat, which parses Markdown: nothing in it can form a tag or a link."""
    return ("" if value is None else str(value)).translate(_INERT)


# -- highlighting ------------------------------------------------------------------------------
Span = tuple[int, int, str]


def highlight(text: str, spans: list[Span]) -> str:
    """Escaped `text` with each [start, end) span wrapped in an element of its class."""
    cuts = {0, len(text)}
    for start, end, _ in spans:
        cuts.update((max(0, min(start, len(text))), max(0, min(end, len(text)))))
    points = sorted(cuts)
    out = []
    for a, b in itertools.pairwise(points):
        if a == b:
            continue
        classes = sorted({cls for s, e, cls in spans if s <= a and b <= e})
        piece = esc(text[a:b])
        out.append(f'<mark class="{" ".join(classes)}">{piece}</mark>' if classes else piece)
    return "".join(out)


def term_spans(text: str, terms: list[str]) -> list[Span]:
    spans: list[Span] = []
    for term in terms:
        if len(term) < 2:
            continue
        spans += [(m.start(), m.end(), "fz-term") for m in re.finditer(re.escape(term), text)]
    return spans


# -- chat messages -----------------------------------------------------------------------------
def cite_anchor(turn: int, n: int) -> str:
    return f"fz-a{turn}-c{n}"


def _inline(line: str, turn: int, valid: set[int]) -> str:
    text = _BOLD.sub(r"<strong>\1</strong>", inert(line))

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in valid:
            return match.group(0)
        return f'<a class="fz-cite" href="#{cite_anchor(turn, n)}" title="查看引文 {n}">[{n}]</a>'

    return _MARKER.sub(link, text)


def answer_html(text: str, turn: int, valid: set[int]) -> str:
    """The answer's own light Markdown (bullets, bold, [n]) as HTML, everything else inert."""
    blocks: list[str] = []
    items: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if line.startswith(("- ", "* ", "• ")):
            items.append(f"<li>{_inline(line[2:], turn, valid)}</li>")
            continue
        if items:
            blocks.append(f"<ul>{''.join(items)}</ul>")
            items = []
        if line:
            body = _inline(line, turn, valid)
            heading = _HEADING.match(body)
            if heading:
                body = f"<strong>{body[heading.end() :]}</strong>"
            blocks.append(f"<p>{body}</p>")
    if items:
        blocks.append(f"<ul>{''.join(items)}</ul>")
    return "".join(blocks)


def answer_meta(answer: dict[str, Any]) -> str:
    mode = MODE_LABELS.get(answer["mode"], answer["mode"])
    ms = (answer.get("timings") or {}).get("total_ms")
    parts = [
        f"回答方式：<b>{inert(mode)}</b>",
        f"检索范围：{inert(describe_filters(answer.get('filters') or {}))}",
    ]
    if ms is not None:
        parts.append(f"用时 {ms:.0f} 毫秒" if ms < 1000 else f"用时 {ms / 1000:.1f} 秒")
    return f'<div class="fz-meta">{" · ".join(parts)}</div>'


def answer_message(answer: dict[str, Any], turn: int) -> str:
    valid = {c["n"] for c in answer.get("citations") or []}
    notice = (
        f'<div class="fz-notice">⚠ {inert(answer["notice"])}</div>' if answer.get("notice") else ""
    )
    body = answer_html(answer["answer"], turn, valid)
    return f'<div class="fz-msg">{notice}{body}{answer_meta(answer)}</div>'


def turn_messages(turns: list[dict[str, Any]]) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = []
    for i, turn in enumerate(turns):
        messages.append({"role": "user", "content": inert(turn["question"])})
        if turn.get("answer"):
            content = answer_message(turn["answer"], i)
        elif turn.get("error"):
            content = f'<div class="fz-msg fz-error">⚠ {inert(turn["error"])}</div>'
        elif turn.get("partial"):
            content = f'<div class="fz-msg">{answer_html(turn["partial"], i, set())}</div>'
        else:
            content = '<div class="fz-msg fz-pending">正在检索报告…</div>'
        messages.append({"role": "assistant", "content": content})
    return messages


# -- source cards ------------------------------------------------------------------------------
def open_spec(c: dict[str, Any]) -> str:
    return f"{c['report_id']}|{c['start']}|{c['end']}|{c['quote_start']}|{c['quote_end']}"


def section_badge(section: str) -> str:
    return f'<span class="fz-badge fz-t-{esc(section)}">{esc(section_label(section))}</span>'


def source_card(c: dict[str, Any], turn: int, terms: list[str]) -> str:
    text = c["text"]
    spans = [(c["quote_start"] - c["start"], c["quote_end"] - c["start"], "fz-quote")]
    spans += term_spans(text, terms)
    place = " · ".join(
        esc(v)
        for v in (c.get("county"), c.get("province"), f"{c['year']}年" if c.get("year") else None)
        if v
    )
    return (
        f'<article class="fz-card" id="{cite_anchor(turn, c["n"])}">'
        f'<header><span class="fz-n">[{c["n"]}]</span> <b>{esc(c.get("township") or "未知乡镇")}</b>'
        f" · {place} · {section_badge(c['section'])}</header>"
        f'<div class="fz-heading">{esc(c.get("heading"))}</div>'
        f'<div class="fz-passage">{highlight(text, spans)}</div>'
        f'<footer><button type="button" class="fz-open" data-fz-open="{esc(open_spec(c))}">'
        f'查看全文</button><span class="fz-src">{esc(Path(c.get("source") or "").name)}</span>'
        "</footer></article>"
    )


def sources_html(turns: list[dict[str, Any]]) -> str:
    """Every answered question's cited passages, newest first (older ones folded)."""
    groups = []
    for i in reversed(range(len(turns))):
        answer = turns[i].get("answer")
        if not answer:
            continue
        cards = "".join(source_card(c, i, turns[i].get("terms") or []) for c in answer["citations"])
        count = len(answer["citations"])
        empty = '<p class="fz-empty">这个回答没有引用段落。</p>' if not count else ""
        groups.append(
            f'<details class="fz-turn" {"open" if not groups else ""}>'
            f"<summary>第 {i + 1} 问：{esc(turns[i]['question'])} · {count} 条引文</summary>"
            f"{cards}{empty}</details>"
        )
    if not groups:
        return '<div class="fz-sources"><p class="fz-empty">提问后，这里会列出回答引用的报告原文，可点开查看全文。</p></div>'
    return f'<div class="fz-sources">{"".join(groups)}</div>'


# -- full report -------------------------------------------------------------------------------
def report_html(report: StoredReport, *, cited: tuple[int, int, int, int] | None = None) -> str:
    """The full text, sections labelled by type, the cited span (and its key sentence) marked."""
    text = report.text or ""
    prefix = f"fz-{'v' if cited else 'r'}-{esc(report.id[:12])}"
    spans: list[Span] = []
    if cited:
        start, end, qs, qe = cited
        spans = [(start, end, "fz-cited"), (qs, qe, "fz-quote")]
    blocks = _section_blocks(report, len(text))
    outline = "".join(
        f'<li><a href="#{prefix}-s{i}">{section_badge(kind)} {esc(heading or "（开头）")}</a></li>'
        for i, (kind, heading, _, _) in enumerate(blocks)
        if kind != "gap"
    )
    body = "".join(
        f'<section class="fz-sec fz-t-{esc(kind)}" id="{prefix}-s{i}">'
        + (f'<div class="fz-sec-label">{esc(section_label(kind))}</div>' if kind != "gap" else "")
        + f'<div class="fz-sec-text">{highlight(text[a:b], _shift(spans, a))}</div></section>'
        for i, (kind, heading, a, b) in enumerate(blocks)
    )
    return (
        f'<div class="fz-report">{_report_header(report)}'
        f'<nav class="fz-outline"><div class="fz-outline-title">章节</div><ul>{outline}</ul></nav>'
        f'<div class="fz-report-body">{body}</div></div>'
    )


def _report_header(report: StoredReport) -> str:
    meta = report.meta
    facts = [
        meta.township,
        meta.county,
        meta.city,
        meta.province,
        f"{meta.year}年" if meta.year else None,
        KIND_LABELS.get(meta.kind, meta.kind),
        f"发布 {meta.published}" if meta.published else None,
    ]
    warnings = "".join(f'<li class="fz-warning">{esc(w)}</li>' for w in meta.warnings)
    return (
        f"<header><h3>{esc(meta.title or meta.township or report.id)}</h3>"
        f'<div class="fz-facts">{" · ".join(esc(f) for f in facts if f)}</div>'
        f'<div class="fz-src">来源：{esc(Path(report.source).name)} · 编号 {esc(report.id)}</div>'
        f"{f'<ul>{warnings}</ul>' if warnings else ''}</header>"
    )


def _section_blocks(report: StoredReport, length: int) -> list[tuple[str, str, int, int]]:
    """Typed sections in order, with any uncovered stretch of text as a 'gap' block."""
    blocks: list[tuple[str, str, int, int]] = []
    pos = 0
    for s in sorted(report.sections, key=lambda s: s.start):
        start, end = max(s.start, pos), min(s.end, length)
        if start > pos:
            blocks.append(("gap", "", pos, start))
        if end > start:
            blocks.append((s.type, s.heading, start, end))
            pos = end
    if pos < length:
        blocks.append(("gap", "", pos, length))
    return blocks


def _shift(spans: list[Span], offset: int) -> list[Span]:
    return [(s - offset, e - offset, cls) for s, e, cls in spans]


# -- comparison --------------------------------------------------------------------------------
def matrix_html(matrix: CompareMatrix | None) -> str:
    if matrix is None:
        return '<div class="fz-matrix"><p class="fz-empty">选择主题后点击“生成对比”。</p></div>'
    if not matrix.rows:
        return '<div class="fz-matrix"><p class="fz-empty">筛选范围内没有报告。</p></div>'
    head = "".join(f"<th>{esc(t)}</th>" for t in matrix.topics)
    rows = []
    for row in matrix.rows:
        place = " · ".join(esc(v) for v in (row.county, row.year) if v)
        cells = "".join(_matrix_cell(row.cells[t]) for t in matrix.topics)
        rows.append(
            f'<tr><th scope="row">{esc(row.township)}<small>{place}</small></th>{cells}</tr>'
        )
    legend = (
        '<p class="fz-legend"><span class="fz-mark fz-problem">问题</span> 报告在“存在问题”中提到 '
        '<span class="fz-mark fz-measure">举措</span> 在“举措成效/创新做法”中提到 '
        '<span class="fz-none">—</span> 未提及。点击标记查看引文所在的全文。</p>'
    )
    return (
        f'<div class="fz-matrix">{legend}<div class="fz-scroll"><table>'
        f"<thead><tr><th>乡镇</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
        "</table></div></div>"
    )


def _matrix_cell(cell: CompareCell) -> str:
    marks = []
    for citation, cls, label in (
        (cell.problem, "fz-problem", "问题"),
        (cell.measure, "fz-measure", "举措"),
    ):
        if citation is not None:
            spec = esc(open_spec(vars(citation)))
            title = esc(citation.quote[:80])
            marks.append(
                f'<button type="button" class="fz-mark {cls}" data-fz-open="{spec}" '
                f'title="{title}">{label}</button>'
            )
    return f"<td>{''.join(marks) or NONE_MARK}</td>"


# -- uploads -----------------------------------------------------------------------------------
PROGRESS = gr.Progress()  # Gradio swaps in a per-event tracker for a Progress default
NONE_MARK = '<span class="fz-none">—</span>'
_UNSAFE_NAME = re.compile(r"[^\w\u4e00-\u9fff（）()\-]+")


def safe_filename(name: str) -> str:
    """A plain file name from an uploaded one: no folders, no dots in front, no odd characters."""
    name = unicodedata.normalize("NFKC", name).replace("\\", "/").split("/")[-1]
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = _UNSAFE_NAME.sub("_", stem).strip("._- ")[:80] or "report"
    suffix = re.sub(r"[^a-z0-9]", "", suffix.lower())[:8]
    return f"{stem}.{suffix}" if suffix else stem


def megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB".replace(".0 MB", " MB")


@dataclass
class StagedFile:
    original: str
    path: Path | None = None  # where the upload was copied, None when rejected
    reason: str = ""


def stage_uploads(files: list[str], folder: Path, max_bytes: int) -> list[StagedFile]:
    """Copy accepted uploads into `folder` under sanitised, distinct names; reject the rest."""
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[StagedFile] = []
    taken: set[str] = set()
    for file in files:
        source = Path(file)
        item = StagedFile(original=source.name)
        size = source.stat().st_size if source.is_file() else -1
        if source.suffix.lower() not in UPLOAD_TYPES:
            item.reason = f"不支持的文件类型（{source.suffix or '无扩展名'}），可上传：{'、'.join(UPLOAD_TYPES)}"
        elif size < 0:
            item.reason = "上传的文件不存在"
        elif size > max_bytes:
            item.reason = f"文件过大（{megabytes(size)}），上限 {megabytes(max_bytes)}"
        else:
            name = safe_filename(source.name)
            stem, _, suffix = name.rpartition(".")
            n = 1
            while name in taken:
                n += 1
                name = f"{stem}-{n}.{suffix}"
            taken.add(name)
            target = (folder / name).resolve()
            if target.parent != folder.resolve():  # belt and braces: never outside uploads/
                item.reason = "文件名无效"
            else:
                shutil.copyfile(source, target)
                item.path = target
        staged.append(item)
    return staged


def upload_rows(staged: list[StagedFile], summary: IngestSummary | None) -> list[list[Any]]:
    by_path = {r.path.resolve(): r for r in summary.results} if summary else {}
    rows = []
    for item in staged:
        result = by_path.get(item.path) if item.path else None
        if result is None:
            reason = item.reason or "没有入库结果"
            rows.append([item.original, STATUS_LABELS["failed"], "", "", 0, reason])
        else:
            rows.append(_result_row(item.original, result))
    return rows


def _result_row(name: str, r: FileResult) -> list[Any]:
    note = r.reason or "；".join(r.warnings)
    return [
        name,
        STATUS_LABELS.get(r.status, r.status),
        r.township or "",
        r.year or "",
        r.passages,
        note,
    ]


# -- auth --------------------------------------------------------------------------------------
def parse_auth(spec: str | None) -> list[tuple[str, str]] | None:
    """'user:pass,user2:pass2' → [(user, pass), ...]; None when not set."""
    if not spec or not spec.strip():
        return None
    pairs = []
    for item in spec.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user or not password:
            raise FazhiError("FAZHI_AUTH 的格式应为 user:password，多个用逗号分隔")
        pairs.append((user, password))
    return pairs


# -- first start -------------------------------------------------------------------------------
def ensure_corpus(
    settings: Settings,
    store: PassageStore,
    echo: Callable[[str], None] = print,
    corpus: Path = SAMPLE_CORPUS,
) -> IngestSummary | None:
    """On first start (empty store) ingest the bundled sample reports, reporting progress."""
    if store.list_reports():
        return None
    echo(f"报告库为空，正在导入内置示例报告（{corpus}）…")
    state = {"files": 0, "done": 0}

    def on_files(files: list[Path]) -> None:
        state["files"] = len(files)

    def on_result(result: FileResult) -> None:
        state["done"] += 1
        echo(
            f"  [{state['done']}/{state['files']}] {result.path.name}："
            f"{STATUS_LABELS.get(result.status, result.status)} {result.township or ''} "
            f"{result.passages} 段 {result.reason}"
        )

    summary = ingest_paths(
        [corpus],
        store,
        max_bytes=settings.max_bytes,
        chunking=settings.chunking,
        events=IngestEvents(on_files=on_files, on_result=on_result),
    )
    echo(
        f"示例报告导入完成：{summary.count('added')} 份，{summary.passages} 个段落，用时 {summary.seconds:.0f} 秒。"
    )
    return summary


# -- the app -----------------------------------------------------------------------------------
@dataclass
class FilterInputs:
    provinces: list[str] = field(default_factory=list)
    counties: list[str] = field(default_factory=list)
    townships: list[str] = field(default_factory=list)
    year_from: str | int | None = None
    year_to: str | int | None = None
    sections: list[str] = field(default_factory=list)


def to_filters(values: FilterInputs) -> Filters:
    """UI or API values → `Filters`; section labels (存在问题) or keys (problems) both work."""
    year_from, year_to = _year(values.year_from), _year(values.year_to)
    if year_from and year_to and year_from > year_to:
        year_from, year_to = year_to, year_from
    by_label = {label: key for key, label in SECTION_LABELS.items()}
    sections = []
    for s in values.sections or []:
        key = s if s in SECTION_TYPES else by_label.get(s)
        if key is None:
            raise FazhiError(f"未知的部分“{s}”，可选：{'、'.join(SECTION_TYPES)}")
        sections.append(key)
    return Filters(
        townships=list(values.townships or []),
        counties=list(values.counties or []),
        provinces=list(values.provinces or []),
        year_from=year_from,
        year_to=year_to,
        sections=sections,
    )


def _year(value: str | int | None) -> int | None:
    if value in (None, "", ANY_YEAR):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FazhiError(f"年份“{value}”无效") from None


class FazhiWeb:
    """The handlers behind the UI; each one calls services and returns rendered values."""

    def __init__(self, settings: Settings, service: AnswerService) -> None:
        self.settings = settings
        self.service = service
        self.store = service.store
        self.exports = Path(tempfile.mkdtemp(prefix="fazhi-export-"))

    # -- store views ---------------------------------------------------------------------------
    def facets(self) -> dict[str, list[Any]]:
        return self.store.facet_values()

    def banner(self) -> str:
        reports = self.store.list_reports()
        townships = {r.meta.township for r in reports if r.meta.township}
        stats = (
            f"库中 {len(reports)} 份报告 · {len(townships)} 个乡镇 · {self.store.count_passages()} 个段落"
            if reports
            else "报告库还是空的：请到“上传”页添加报告文件"
        )
        return (
            '<div class="fz-banner"><div class="fz-title">法治 <span>乡镇法治政府建设年度报告问答</span></div>'
            f'<div class="fz-stats">{esc(stats)}</div></div>'
        )

    def report_rows(self) -> list[list[Any]]:
        return [
            [
                r.meta.township or "",
                r.meta.county or "",
                r.meta.province or "",
                r.meta.year or "",
                KIND_LABELS.get(r.meta.kind, r.meta.kind),
                r.passage_count,
                Path(r.source).name,
                r.id,
            ]
            for r in self.store.list_reports()
        ]

    def open_report(self, args: list[Any] | str) -> str:
        """Server function for the browser: full report HTML with the cited span marked."""
        spec = args[0] if isinstance(args, list) and args else args
        try:
            report_id, *numbers = str(spec).split("|")
            start, end, qs, qe = (int(n) for n in numbers)
            report = self.store.get_report(report_id)
        except (ValueError, FazhiError):
            return '<p class="fz-error">找不到这份报告。</p>'
        return report_html(report, cited=(start, end, qs, qe))

    def show_report(self, evt: gr.SelectData) -> str:
        row = evt.row_value or []
        if not row:
            return ""
        try:
            return report_html(self.store.get_report(str(row[-1])))
        except FazhiError as exc:
            return f'<p class="fz-error">{esc(exc)}</p>'

    def refresh(self) -> tuple[Any, ...]:
        """New choices for every filter, the report table and the banner (after an upload)."""
        f = self.facets()
        years = [ANY_YEAR, *(str(y) for y in f["year"])]
        choices = [f["province"], f["county"], f["township"], years, years]
        dropdowns = [gr.Dropdown(choices=c) for c in choices * 2]  # chat tab, compare tab
        return (*dropdowns, self.report_rows(), self.banner())

    # -- chat ----------------------------------------------------------------------------------
    def on_question(
        self,
        question: str,
        turns: list[dict[str, Any]],
        provinces: list[str],
        counties: list[str],
        townships: list[str],
        year_from: str | None,
        year_to: str | None,
        sections: list[str],
    ) -> Iterator[tuple[Any, ...]]:
        question = (question or "").strip()
        if not question:
            gr.Warning("请输入问题。")
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        turns = [*turns, {"question": question, "answer": None, "terms": []}]
        turn = turns[-1]
        try:
            values = FilterInputs(provinces, counties, townships, year_from, year_to, sections)
            filters = self.service.resolve(to_filters(values))
        except FazhiError as exc:
            turn["error"] = str(exc)
            yield turn_messages(turns), gr.skip(), turns, "", gr.skip()
            return
        yield turn_messages(turns), gr.skip(), turns, "", gr.skip()
        final: Answer | None = None
        try:
            for event in self.service.stream(question, filters):
                if isinstance(event, Answer):
                    final = event
                else:
                    turn["partial"] = turn.get("partial", "") + event
                    yield turn_messages(turns), gr.skip(), turns, "", gr.skip()
        except Exception as exc:  # show it in the chat rather than leave "正在检索…" hanging
            log.exception("answering %r failed", question)
            final = None
            turn["error"] = f"回答出错：{type(exc).__name__}: {exc}"
        if final is None:
            turn.setdefault("error", "没有得到回答。")
            yield turn_messages(turns), gr.skip(), turns, "", gr.skip()
            return
        turn["answer"] = final.to_dict()
        turn["terms"] = self.service.retriever.tokenizer.content_words(question)
        export = self._write_answer_export(turn["answer"], len(turns))
        yield (
            turn_messages(turns),
            sources_html(turns),
            turns,
            "",
            gr.DownloadButton(value=export, visible=True),
        )

    def _write_answer_export(self, answer: dict[str, Any], turn: int) -> str:
        self._prune_exports()
        path = self.exports / f"fazhi-answer-{turn}-{uuid.uuid4().hex[:8]}.md"
        path.write_text(answer_markdown(answer), encoding="utf-8")
        return str(path)

    def _prune_exports(self, max_age: float = 24 * 3600) -> None:
        """Exports are downloaded right away; drop those older than a day."""
        cutoff = time.time() - max_age
        for path in self.exports.iterdir():
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)

    def clear(self) -> tuple[Any, ...]:
        return [], sources_html([]), [], gr.DownloadButton(value=None, visible=False)

    def api_ask(
        self,
        question: str,
        townships: list[str] | None = None,
        counties: list[str] | None = None,
        provinces: list[str] | None = None,
        year_from: int | None = None,
        year_to: int | None = None,
        sections: list[str] | None = None,
    ) -> dict[str, Any]:
        if not (question or "").strip():
            raise gr.Error("question is empty")
        try:
            values = FilterInputs(
                provinces or [], counties or [], townships or [], year_from, year_to, sections or []
            )
            filters = self.service.resolve(to_filters(values))
            return self.service.ask(question.strip(), filters).to_dict()
        except FazhiError as exc:
            raise gr.Error(str(exc)) from None

    # -- compare -------------------------------------------------------------------------------
    def run_compare(
        self,
        selected: list[str],
        typed: str,
        provinces: list[str],
        counties: list[str],
        townships: list[str],
        year_from: str | None,
        year_to: str | None,
        progress: gr.Progress = PROGRESS,
    ) -> tuple[Any, ...]:
        try:
            topics = parse_topics(selected, typed)
            values = FilterInputs(provinces, counties, townships, year_from, year_to)
            filters = self.service.resolve(to_filters(values))
        except FazhiError as exc:
            raise gr.Error(str(exc)) from None

        def report(i: int, n: int, topic: str) -> None:
            progress(i / max(n, 1), desc=f"正在对比“{topic}”（{i + 1}/{n}）" if topic else "完成")

        matrix = compare(self.service, topics, filters, progress=report)
        self._prune_exports()
        stem = self.exports / f"fazhi-compare-{uuid.uuid4().hex[:8]}"
        csv_path = write_csv(matrix, stem.with_suffix(".csv"))
        xlsx_path = write_xlsx(matrix, stem.with_suffix(".xlsx"))
        return (
            matrix_html(matrix),
            gr.DownloadButton(value=str(csv_path), visible=True),
            gr.DownloadButton(value=str(xlsx_path), visible=True),
        )

    # -- upload --------------------------------------------------------------------------------
    def may_upload(self, username: str | None) -> bool:
        admin = self.settings.admin_user
        return not admin or username == admin

    def upload_notice(self, request: gr.Request) -> tuple[Any, ...]:
        allowed = self.may_upload(getattr(request, "username", None))
        text = (
            f"可上传 {'、'.join(UPLOAD_TYPES)} 文件，单个不超过 {megabytes(self.settings.upload_max_bytes)}。"
            "同名文件再次上传会替换旧版本。"
            if allowed
            else f"只有管理员（{self.settings.admin_user}）可以上传报告。"
        )
        return gr.Markdown(text), gr.Button(interactive=allowed)

    def upload(
        self, files: list[str] | None, request: gr.Request, progress: gr.Progress = PROGRESS
    ) -> tuple[list[list[Any]], str]:
        if not self.may_upload(getattr(request, "username", None)):
            raise gr.Error(f"只有管理员（{self.settings.admin_user}）可以上传报告。")
        if not files:
            raise gr.Error("请先选择要上传的报告文件。")
        staged = stage_uploads(
            files, self.settings.store / "uploads", self.settings.upload_max_bytes
        )
        paths = [s.path for s in staged if s.path]
        summary = self._ingest(paths, progress) if paths else None
        rows = upload_rows(staged, summary)
        counts: dict[str, int] = {}
        for row in rows:
            counts[row[1]] = counts.get(row[1], 0) + 1
        text = "，".join(f"{label} {n} 个" for label, n in counts.items())
        return rows, f"入库完成：{text}。"

    def _ingest(self, paths: list[Path], progress: gr.Progress) -> IngestSummary:
        # reports are embedded several at a time, so the bar follows finished files and the
        # text the passages embedded so far
        state = {"done": 0, "queued": 0, "embedded": 0}
        total = len(paths)

        def show() -> None:
            desc = f"已处理 {state['done']}/{total} 个文件"
            if state["queued"]:
                desc += f"，已向量化 {state['embedded']}/{state['queued']} 段"
            progress(min(1.0, state["done"] / total), desc=desc)

        def on_passages(n: int) -> None:
            state["queued"] += n
            show()

        def on_embedded(n: int) -> None:
            state["embedded"] += n
            show()

        def on_result(result: FileResult) -> None:
            state["done"] += 1
            show()

        progress(0.0, desc=f"正在读取 {total} 个文件")
        return ingest_paths(
            paths,
            self.store,
            max_bytes=self.settings.max_bytes,
            chunking=self.settings.chunking,
            events=IngestEvents(
                on_passages=on_passages, on_embedded=on_embedded, on_result=on_result
            ),
        )


# -- layout ------------------------------------------------------------------------------------
@dataclass
class FilterControls:
    provinces: gr.Dropdown
    counties: gr.Dropdown
    townships: gr.Dropdown
    year_from: gr.Dropdown
    year_to: gr.Dropdown

    def components(self) -> list[gr.Dropdown]:
        return [self.provinces, self.counties, self.townships, self.year_from, self.year_to]


def filter_controls(facets: dict[str, list[Any]], prefix: str) -> FilterControls:
    years = [ANY_YEAR, *(str(y) for y in facets["year"])]

    def multi(label: str, key: str) -> gr.Dropdown:
        return gr.Dropdown(
            facets[key],
            value=[],
            multiselect=True,
            label=label,
            min_width=140,
            elem_id=f"{prefix}-{key}",
        )

    provinces, counties = multi("省份", "province"), multi("县区", "county")
    townships = multi("乡镇", "township")
    with gr.Row():
        year_from = gr.Dropdown(
            years, value=ANY_YEAR, label="起始年份", min_width=110, elem_id=f"{prefix}-from"
        )
        year_to = gr.Dropdown(
            years, value=ANY_YEAR, label="截止年份", min_width=110, elem_id=f"{prefix}-to"
        )
    return FilterControls(provinces, counties, townships, year_from, year_to)


SERVER_OPEN_JS = """
element.addEventListener('click', async (event) => {
  const button = event.target.closest('[data-fz-open]');
  if (!button || !element.contains(button)) return;
  event.preventDefault();
  window.fzViewer.loading();
  try {
    window.fzViewer.show(await server.open_report(button.dataset.fzOpen));
  } catch (err) {
    window.fzViewer.show('<p class="fz-error">全文载入失败，请重试。</p>');
  }
});
"""


def _open_report_fn(web: FazhiWeb) -> Callable[[list[Any]], str]:
    """A plain function (Gradio marks server functions with an attribute; methods refuse it)."""

    def open_report(args: list[Any]) -> str:
        return web.open_report(args)

    return open_report


def build_app(settings: Settings, service: AnswerService | None = None) -> gr.Blocks:
    """The whole app. `service` defaults to the one `app.services.answer_service` builds."""
    if service is None:
        from app.services import answer_service

        service = answer_service(settings)
    web = FazhiWeb(settings, service)
    facets = web.facets()
    with gr.Blocks(title="法治 · 乡镇法治政府建设报告问答", analytics_enabled=False) as app:
        banner = gr.HTML(
            web.banner(),
            head=f"<style>{CSS}</style><script>{JS}</script>",
            apply_default_css=False,
            js_on_load=None,
        )
        with gr.Tabs():
            with gr.Tab("问答", id="chat"):
                chat = _chat_tab(web, facets)
            with gr.Tab("报告", id="reports"):
                table = _reports_tab(web)
            with gr.Tab("对比", id="compare"):
                compare_filters = _compare_tab(web, facets)
            with gr.Tab("上传", id="upload"):
                upload_button, upload_event, notice = _upload_tab(web)
        refresh_outputs = [*chat.components(), *compare_filters.components(), table, banner]
        upload_event.then(web.refresh, outputs=refresh_outputs, api_visibility="private")
        app.load(web.refresh, outputs=refresh_outputs, api_visibility="private")
        app.load(web.upload_notice, outputs=[notice, upload_button], api_visibility="private")
        gr.api(web.api_ask, api_name="ask", api_description=ASK_DESCRIPTION)
    return app


ASK_DESCRIPTION = (
    "Answer a question over the reports. Optional filters: townships, counties, provinces, "
    "year_from, year_to, sections (problems, measures, plans, innovations, duty, other). "
    "Returns the same JSON object as `fazhi ask --json`."
)


def _chat_tab(web: FazhiWeb, facets: dict[str, list[Any]]) -> FilterControls:
    turns = gr.State([])
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=320):
            if web.service.llm is None:
                gr.HTML(
                    f'<div class="fz-hint">{LLM_HINT}</div>',
                    apply_default_css=False,
                    js_on_load=None,
                )
            chatbot = gr.Chatbot(
                label="问答",
                show_label=False,
                height=520,
                latex_delimiters=[],
                allow_tags=False,
                feedback_options=None,
                buttons=[],  # copying would copy our escaped HTML; the export is for that
                placeholder="问一问这些乡镇的法治政府建设报告：可以查某个镇的具体数字，也可以比较各镇的问题和做法。",
                elem_id="fz-chatbot",
            )
            with gr.Row(equal_height=True):
                question = gr.Textbox(
                    show_label=False,
                    placeholder="输入问题，按回车提问",
                    scale=5,
                    min_width=200,
                    max_lines=4,
                    elem_id="fz-question",
                )
                send = gr.Button(
                    "提问", variant="primary", scale=1, min_width=80, elem_id="fz-send"
                )
            with gr.Row(elem_classes="fz-examples"):
                examples = [
                    gr.Button(f"{kind}：{q}", size="sm", elem_classes="fz-example", min_width=160)
                    for kind, q in EXAMPLES
                ]
            with gr.Row():
                export = gr.DownloadButton(
                    "导出回答（Markdown）", visible=False, size="sm", elem_id="fz-export-md"
                )
                clear = gr.Button("清空对话", size="sm")
        with gr.Column(scale=2, min_width=300):
            with gr.Accordion("筛选（作用于下一个问题）", open=True):
                controls = filter_controls(facets, "fz-chat")
                sections = gr.Dropdown(
                    SECTION_CHOICES, value=[], multiselect=True, label="报告部分"
                )
            sources = gr.HTML(
                sources_html([]),
                label="引文",
                apply_default_css=False,
                js_on_load=SERVER_OPEN_JS,
                server_functions=[_open_report_fn(web)],
                elem_id="fz-sources",
            )
    inputs = [question, turns, *controls.components(), sections]
    outputs = [chatbot, sources, turns, question, export]
    for trigger in (question.submit, send.click):
        trigger(web.on_question, inputs, outputs, api_visibility="private")
    for button, (_, text) in zip(examples, EXAMPLES, strict=True):
        button.click(lambda t=text: t, outputs=question, api_visibility="private").then(
            web.on_question, inputs, outputs, api_visibility="private"
        )
    clear.click(web.clear, outputs=[chatbot, sources, turns, export], api_visibility="private")
    return controls


def _reports_tab(web: FazhiWeb) -> gr.Dataframe:
    gr.Markdown("点击表格中的一行查看报告全文；用表头的 ⋮ 菜单排序，用搜索框筛选。")
    table = gr.Dataframe(
        web.report_rows(),
        headers=REPORT_HEADERS,
        datatype=["str", "str", "str", "number", "str", "number", "str", "str"],
        interactive=False,
        show_search="search",
        latex_delimiters=[],
        wrap=True,
        max_height=360,
        elem_id="fz-reports",
    )
    viewer = gr.HTML(
        '<p class="fz-empty">选择一份报告查看全文。</p>',
        apply_default_css=False,
        js_on_load=None,
        elem_id="fz-report-view",
    )
    table.select(web.show_report, outputs=viewer, api_visibility="private")
    return table


def _compare_tab(web: FazhiWeb, facets: dict[str, list[Any]]) -> FilterControls:
    gr.Markdown("比较各乡镇报告是否提到某个主题，并区分列为**存在问题**还是**举措/创新**。")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            topics = gr.CheckboxGroup(
                list(TOPIC_PRESETS), value=list(TOPIC_PRESETS[:4]), label="主题"
            )
            typed = gr.Textbox(
                label="其他主题（用逗号分隔）", placeholder="例如：行政复议、安全生产"
            )
        with gr.Column(scale=2, min_width=280):
            controls = filter_controls(facets, "fz-cmp")
    run = gr.Button("生成对比", variant="primary", elem_id="fz-compare-run")
    matrix = gr.HTML(
        matrix_html(None),
        apply_default_css=False,
        js_on_load=SERVER_OPEN_JS,
        server_functions=[_open_report_fn(web)],
        elem_id="fz-matrix",
    )
    with gr.Row():
        csv_button = gr.DownloadButton("下载 CSV", visible=False, size="sm", elem_id="fz-csv")
        xlsx_button = gr.DownloadButton("下载 Excel", visible=False, size="sm", elem_id="fz-xlsx")
    run.click(
        web.run_compare,
        [topics, typed, *controls.components()],
        [matrix, csv_button, xlsx_button],
        api_name="compare",
        api_visibility="undocumented",
    )
    return controls


def _upload_tab(web: FazhiWeb) -> tuple[gr.Button, Any, gr.Markdown]:
    notice = gr.Markdown()
    files = gr.File(
        label="报告文件（txt / md / docx / pdf / html）", file_count="multiple", elem_id="fz-files"
    )
    button = gr.Button("开始入库", variant="primary", elem_id="fz-upload")
    status = gr.Markdown()
    results = gr.Dataframe(
        headers=UPLOAD_HEADERS,
        datatype=["str", "str", "str", "str", "number", "str"],
        interactive=False,
        latex_delimiters=[],
        wrap=True,
        elem_id="fz-upload-results",
    )
    event = button.click(web.upload, files, [results, status], api_name="upload")
    return button, event, notice


def launch_options(settings: Settings) -> dict[str, Any]:
    """Everything `Blocks.launch` needs from the settings (host, port, login, upload limit)."""
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": parse_auth(settings.auth),
        "auth_message": "法治 · 请登录",
        "max_file_size": settings.upload_max_bytes,
        "show_error": True,
        "ssr_mode": False,
    }


def _warm_up(service: AnswerService) -> None:
    t0 = time.perf_counter()
    try:
        service.warm_up()
    except FazhiError as exc:  # the first question will show the same error to the user
        log.warning("could not load the index in advance: %s", exc)
        return
    log.info("model and index loaded in %.1f s", time.perf_counter() - t0)


def launch(settings: Settings) -> None:
    """`fazhi serve`: open the store (importing the samples into an empty one) and serve."""
    from app.services import answer_service

    service = answer_service(settings)
    ensure_corpus(settings, service.store)
    # the first question would otherwise wait for the model and the index (~30 s at 10,000
    # reports); it now waits only for what is still loading
    threading.Thread(target=_warm_up, args=(service,), name="fazhi-warm-up", daemon=True).start()
    app = build_app(settings, service)
    app.queue(default_concurrency_limit=2)
    app.launch(**launch_options(settings))


CSS = """
:root { --fz-measures: #15803d; --fz-problems: #b91c1c; --fz-plans: #1d4ed8;
  --fz-innovations: #7e22ce; --fz-duty: #b45309; --fz-other: #6b7280; --fz-gap: #9ca3af; }
.gradio-container { max-width: 1400px !important; }
body.fz-noscroll { overflow: hidden; }
.fz-banner { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 16px; padding: 4px 2px; }
.fz-banner .fz-title { font-size: 1.5rem; font-weight: 700; color: var(--body-text-color); }
.fz-banner .fz-title span { font-size: 1rem; font-weight: 400; color: var(--body-text-color-subdued); }
.fz-banner .fz-stats, .fz-hint { color: var(--body-text-color-subdued); font-size: .9rem; }
.fz-hint code { font-size: .8rem; }
.fz-examples button { white-space: normal !important; text-align: left; height: auto !important; }
.fz-msg p { margin: .3em 0; }
.fz-msg ul { margin: .3em 0 .3em 1.2em; padding: 0; }
.fz-msg li { margin: .25em 0; }
.fz-msg a.fz-cite { font-weight: 600; text-decoration: none; color: var(--color-accent); cursor: pointer; }
.fz-msg .fz-meta { margin-top: .6em; font-size: .8rem; color: var(--body-text-color-subdued); }
.fz-msg .fz-notice { margin-bottom: .5em; padding: .3em .6em; border-radius: 6px;
  background: rgba(234, 179, 8, .15); font-size: .9rem; }
.fz-error { color: var(--fz-problems); }
.fz-pending { color: var(--body-text-color-subdued); }
.fz-empty { color: var(--body-text-color-subdued); padding: 8px 0; }
.fz-sources { display: flex; flex-direction: column; gap: 8px; max-height: 640px; overflow-y: auto; }
.fz-turn > summary { cursor: pointer; font-weight: 600; padding: 4px 0; overflow-wrap: anywhere; }
.fz-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
  margin: 6px 0; background: var(--background-fill-secondary); scroll-margin: 12px; }
.fz-card header { font-size: .9rem; overflow-wrap: anywhere; }
.fz-card .fz-n { color: var(--color-accent); font-weight: 700; }
.fz-card .fz-heading { font-size: .8rem; color: var(--body-text-color-subdued); margin: 2px 0; }
.fz-passage { white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.6; font-size: .92rem; }
.fz-card footer { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin-top: 6px; }
.fz-src { font-size: .75rem; color: var(--body-text-color-subdued); overflow-wrap: anywhere; }
.fz-open, .fz-mark { cursor: pointer; border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 2px 10px; background: var(--background-fill-primary); color: var(--body-text-color); font-size: .85rem; }
.fz-open:hover { border-color: var(--color-accent); }
.fz-flash { animation: fz-flash 1.6s ease-out; }
@keyframes fz-flash { from { box-shadow: 0 0 0 3px var(--color-accent); } to { box-shadow: none; } }
mark.fz-quote { background: rgba(250, 204, 21, .45); color: inherit; padding: 0; }
mark.fz-term { background: none; color: inherit; font-weight: 700; text-decoration: underline 2px var(--color-accent); }
mark.fz-quote.fz-term { background: rgba(250, 204, 21, .45); }
mark.fz-cited { background: rgba(96, 165, 250, .28); color: inherit; padding: 0; }
mark.fz-cited.fz-quote { background: rgba(250, 204, 21, .55); }
.fz-badge { display: inline-block; border-radius: 4px; padding: 0 6px; font-size: .75rem; color: #fff;
  background: var(--fz-other); white-space: nowrap; }
.fz-t-measures { --fz-c: var(--fz-measures); } .fz-t-problems { --fz-c: var(--fz-problems); }
.fz-t-plans { --fz-c: var(--fz-plans); } .fz-t-innovations { --fz-c: var(--fz-innovations); }
.fz-t-duty { --fz-c: var(--fz-duty); } .fz-t-other { --fz-c: var(--fz-other); } .fz-t-gap { --fz-c: var(--fz-gap); }
.fz-badge[class*="fz-t-"] { background: var(--fz-c); }
.fz-report header h3 { margin: 0 0 4px; font-size: 1.15rem; }
.fz-report .fz-facts { font-size: .9rem; }
.fz-report .fz-warning { color: var(--fz-duty); font-size: .8rem; }
.fz-outline { margin: 8px 0; padding: 6px 10px; border: 1px solid var(--border-color-primary); border-radius: 8px; }
.fz-outline-title { font-weight: 600; font-size: .85rem; }
.fz-outline ul { list-style: none; margin: 0; padding: 0; }
.fz-outline li { margin: 3px 0; font-size: .85rem; overflow-wrap: anywhere; }
.fz-outline a { color: var(--body-text-color); text-decoration: none; }
.fz-sec { border-left: 4px solid var(--fz-c); padding: 2px 0 2px 10px; margin: 10px 0; scroll-margin: 12px; }
.fz-sec-label { font-size: .75rem; font-weight: 700; color: var(--fz-c); }
.fz-sec-text { white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.75; }
#fz-report-view .fz-report { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 12px; }
.fz-overlay { position: fixed; inset: 0; z-index: 1000; background: rgba(0, 0, 0, .45);
  display: flex; align-items: center; justify-content: center; }
.fz-overlay[hidden] { display: none; }
.fz-dialog { background: var(--background-fill-primary, #fff); color: var(--body-text-color, #111);
  width: min(920px, calc(100vw - 16px)); max-height: calc(100vh - 32px); border-radius: 10px;
  display: flex; flex-direction: column; box-shadow: 0 10px 40px rgba(0, 0, 0, .35); }
.fz-dialog-bar { display: flex; justify-content: space-between; align-items: center; padding: 8px 14px;
  border-bottom: 1px solid var(--border-color-primary); font-weight: 600; }
.fz-close { cursor: pointer; border: 1px solid var(--border-color-primary); border-radius: 6px;
  background: none; color: inherit; padding: 2px 10px; }
.fz-dialog-body { overflow-y: auto; padding: 12px 16px; }
.fz-matrix .fz-legend { font-size: .85rem; color: var(--body-text-color-subdued); }
.fz-scroll { overflow-x: auto; max-width: 100%; }
.fz-matrix table { border-collapse: collapse; font-size: .9rem; }
.fz-matrix th, .fz-matrix td { border: 1px solid var(--border-color-primary); padding: 6px 8px;
  text-align: center; vertical-align: middle; }
.fz-matrix tbody th { text-align: left; white-space: nowrap; position: sticky; left: 0;
  background: var(--background-fill-primary); }
.fz-matrix tbody th small { display: block; font-weight: 400; color: var(--body-text-color-subdued); }
.fz-matrix td { min-width: 84px; }
.fz-matrix td .fz-mark { margin: 2px; }
.fz-mark.fz-problem { border-color: var(--fz-problems); color: var(--fz-problems); }
.fz-mark.fz-measure { border-color: var(--fz-measures); color: var(--fz-measures); }
.fz-legend .fz-mark { cursor: default; }
.fz-none { color: var(--body-text-color-subdued); }
@media (max-width: 640px) {
  .fz-banner .fz-title { font-size: 1.25rem; }
  .fz-dialog { max-height: calc(100vh - 8px); width: calc(100vw - 8px); }
  .fz-dialog-body { padding: 8px 10px; }
}
"""

JS = """
(() => {
  if (window.fzViewer) return;
  const overlay = () => {
    let o = document.getElementById('fz-viewer');
    if (o) return o;
    o = document.createElement('div');
    o.id = 'fz-viewer';
    o.className = 'fz-overlay';
    o.hidden = true;
    o.innerHTML = '<div class="fz-dialog" role="dialog" aria-modal="true" aria-label="报告全文">'
      + '<div class="fz-dialog-bar"><span>报告全文</span>'
      + '<button type="button" class="fz-close">关闭 ✕</button></div>'
      + '<div class="fz-dialog-body"></div></div>';
    o.addEventListener('click', (e) => {
      if (e.target === o || e.target.closest('.fz-close')) hide();
    });
    document.body.appendChild(o);
    return o;
  };
  const hide = () => {
    const o = document.getElementById('fz-viewer');
    if (o) o.hidden = true;
    document.body.classList.remove('fz-noscroll');
  };
  const show = (markup) => {
    const o = overlay();
    const body = o.querySelector('.fz-dialog-body');
    body.innerHTML = markup;
    o.hidden = false;
    document.body.classList.add('fz-noscroll');
    const target = body.querySelector('mark.fz-cited');
    if (target) requestAnimationFrame(() => target.scrollIntoView({ block: 'center' }));
    o.querySelector('.fz-close').focus({ preventScroll: true });
  };
  window.fzViewer = { show, hide, loading: () => show('<p class="fz-empty">正在载入全文…</p>') };
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape') hide(); });
  document.addEventListener('click', (e) => {
    const link = e.target.closest && e.target.closest('a[href^="#fz-"]');
    if (!link) return;
    const target = document.getElementById(decodeURIComponent(link.getAttribute('href').slice(1)));
    e.preventDefault();
    e.stopPropagation();
    if (!target) return;
    const details = target.closest('details');
    if (details) details.open = true;
    target.scrollIntoView({ behavior: 'smooth', block: 'center' });
    target.classList.remove('fz-flash');
    void target.offsetWidth;
    target.classList.add('fz-flash');
  }, true);
})();
"""
