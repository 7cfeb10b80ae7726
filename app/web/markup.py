"""Untrusted text as HTML: escaping, highlighted spans and a report's full text.

Everything taken from a report, a question, a file name or an LLM reply goes through `esc`
(for gr.HTML) or `inert` (for the chat, which parses Markdown) before it reaches the page, so
HTML, scripts and Markdown links in it show as plain text.
"""

from __future__ import annotations

import html
import itertools
import re
from pathlib import Path
from typing import Any

from app.answers.models import MARKER_DIGITS
from app.export import section_label
from vectorstore.store import StoredReport

KIND_LABELS = {
    "annual_report": "年度报告",
    "duty_report": "述法报告",
    "self_inspection": "自查报告",
}

# Every character that HTML or Markdown would act on becomes a numeric entity: the chat's
# Markdown renderer then has nothing to parse, and the browser shows the characters as text.
_INERT = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'`*_[](){}#!|~$\\=:"})


def esc(value: object) -> str:
    """Text for HTML that is not parsed as Markdown (gr.HTML)."""
    return html.escape("" if value is None else str(value), quote=True)


def inert(value: object) -> str:
    """Text for the chat, which parses Markdown: nothing in it can form a tag or a link."""
    return ("" if value is None else str(value)).translate(_INERT)


_BOLD = re.compile(r"&#42;&#42;(.+?)&#42;&#42;")
_MARKER = re.compile(rf"&#91;(\d{{1,{MARKER_DIGITS}}})&#93;")
_HEADING = re.compile(r"^(?:&#35;)+\s*")


def cite_anchor(turn: int, n: int) -> str:
    """The id of a chat turn's citation card, which [n] markers link to."""
    return f"fz-a{turn}-c{n}"


def answer_inline(line: str, turn: int, valid: set[int]) -> str:
    """A line of an answer inert, with its own **bold** and [n] markers linking to the cards."""
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
            items.append(f"<li>{answer_inline(line[2:], turn, valid)}</li>")
            continue
        if items:
            blocks.append(f"<ul>{''.join(items)}</ul>")
            items = []
        if line:
            body = answer_inline(line, turn, valid)
            heading = _HEADING.match(body)
            if heading:
                body = f"<strong>{body[heading.end() :]}</strong>"
            blocks.append(f"<p>{body}</p>")
    if items:
        blocks.append(f"<ul>{''.join(items)}</ul>")
    return "".join(blocks)


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


def section_badge(section: str) -> str:
    return f'<span class="fz-badge fz-t-{esc(section)}">{esc(section_label(section))}</span>'


def open_spec(c: dict[str, Any]) -> str:
    """What a "查看全文" button asks the server for: report id, cited span, key sentence."""
    return f"{c['report_id']}|{c['start']}|{c['end']}|{c['quote_start']}|{c['quote_end']}"


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
