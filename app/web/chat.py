"""The 问答 tab: streamed answers with clickable [n] citations and source cards; and the `ask`
API endpoint, which returns the same object as `fazhi ask --json`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from app.answers.engine import CANNOT_READ
from app.answers.models import Answer, Progress
from app.export import (
    MODE_LABELS,
    answer_markdown,
    describe_filters,
    write_answer_csv,
    write_answer_xlsx,
)
from app.question import follow_up
from app.web.context import WebContext
from app.web.filters import (
    SECTION_CHOICES,
    FilterControls,
    FilterInputs,
    filter_controls,
    to_filters,
)
from app.web.markup import (
    answer_html,
    cite_anchor,
    esc,
    highlight,
    inert,
    open_spec,
    section_badge,
    term_spans,
)
from app.web.reports import ReportsTab
from app.web.verdicts import corpus_answer_html
from ingest.errors import FazhiError
from ingest.model import township_label

log = logging.getLogger(__name__)

EXAMPLES: tuple[tuple[str, str], ...] = (
    ("全库比较", "哪些乡镇把执法能力不足列为存在的问题？"),
    ("查具体事实", "石桥镇有多少名法律明白人？"),
    ("找同行做法", "别的镇在矛盾纠纷化解上有什么做法？"),
)
LLM_HINT = (
    "当前为<b>摘录式</b>回答（直接引用报告原文）。如需大模型撰写回答，请设置 "
    "<code>FAZHI_LLM_BASE_URL</code>、<code>FAZHI_LLM_MODEL</code> 和 "
    "<code>FAZHI_LLM_API_KEY</code> 后重启。"
)
ASK_DESCRIPTION = (
    "Answer a question over the reports. Optional filters: townships, counties, provinces, "
    "year_from, year_to, sections (problems, measures, plans, innovations, duty, other). "
    "Returns the same JSON object as `fazhi ask --json`."
)


LISTS_SKIP = (gr.skip(), gr.skip())  # the two list downloads, until the answer is ready


# -- chat messages -----------------------------------------------------------------------------
def answer_meta(answer: dict[str, Any]) -> str:
    mode = MODE_LABELS.get(answer["mode"], answer["mode"])
    ms = (answer.get("timings") or {}).get("total_ms")
    parts = [
        f"回答方式：<b>{inert(mode)}</b>",
        f"检索范围：{inert(describe_filters(answer.get('filters') or {}))}",
    ]
    if ms is not None:
        took = f"{ms:.0f} 毫秒" if ms < 1000 else f"{ms / 1000:.1f} 秒"
        parts.append(f"检索作答用时 {took}")  # the server's part, not the page's drawing
    return f'<div class="fz-meta">{" · ".join(parts)}</div>'


def answer_message(answer: dict[str, Any], turn: int) -> str:
    valid = {c["n"] for c in answer.get("citations") or []}
    notice = (
        f'<div class="fz-notice">⚠ {inert(answer["notice"])}</div>' if answer.get("notice") else ""
    )
    body = corpus_answer_html(answer, turn, valid) or answer_html(answer["answer"], turn, valid)
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
        elif turn.get("progress"):  # LLM mode: 已核查 120/340
            content = f'<div class="fz-msg fz-pending">{inert(turn["progress"])}…</div>'
        else:
            content = '<div class="fz-msg fz-pending">正在检索报告…</div>'
        messages.append({"role": "assistant", "content": content})
    return messages


# -- source cards ------------------------------------------------------------------------------
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
        f'<header><span class="fz-n">[{c["n"]}]</span> <b>{esc(township_label(c.get("township"), c.get("source", "")))}</b>'
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


def _refused(answer: dict[str, Any]) -> bool:
    """Whether an answer says its question could not be read (English, too long)."""
    return str(answer.get("answer", "")).startswith(CANNOT_READ)


# -- handlers and layout -----------------------------------------------------------------------
class ChatTab:
    def __init__(self, ctx: WebContext, reports: ReportsTab) -> None:
        self.ctx = ctx
        self.service = ctx.service
        self.reports = reports

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
            gr.Warning("请输入问题。", title="提示")
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), *LISTS_SKIP
            return
        # "那王场镇呢？": the last question read and answered (not itself a follow-up), asked of
        # the places or years it names
        answered = [t for t in turns if t.get("answer") and not _refused(t["answer"])]
        previous = answered[-1].get("base", answered[-1]["question"]) if answered else ""
        turns = [*turns, {"question": question, "base": question, "answer": None, "terms": []}]
        turn = turns[-1]
        asked, read = question, None
        try:
            values = FilterInputs(provinces, counties, townships, year_from, year_to, sections)
            filters = self.service.resolve(to_filters(values))
            tokenizer, facets = self.service.retriever.tokenizer, self.ctx.store.facet_values()
            if previous and (again := follow_up(question, tokenizer, facets)) is not None:
                turn["base"] = previous
                read = f"按上一问“{previous}”回答，范围换成：{again.named}"
                asked = again.ask_of(previous, facets)
                if not again.unknown_places:
                    filters = again.narrow(filters)
                elif asked == previous:  # answered "库中没有东风镇的报告"
                    asked = f"{again.named}：{previous}"
        except Exception as exc:
            message = str(exc) if isinstance(exc, FazhiError) else self.ctx.outage(exc)
            if message is None:
                raise
            turn["error"] = message
            yield turn_messages(turns), gr.skip(), turns, "", gr.skip(), *LISTS_SKIP
            return
        yield turn_messages(turns), gr.skip(), turns, "", gr.skip(), *LISTS_SKIP
        final: Answer | None = None
        try:
            for event in self.service.stream(asked, filters):
                if isinstance(event, Answer):
                    final = event
                elif isinstance(event, Progress):
                    turn["progress"] = event.text
                    yield turn_messages(turns), gr.skip(), turns, "", gr.skip(), *LISTS_SKIP
                else:
                    turn["partial"] = turn.get("partial", "") + event
                    yield turn_messages(turns), gr.skip(), turns, "", gr.skip(), *LISTS_SKIP
        except Exception as exc:  # show it in the chat rather than leave "正在检索…" hanging
            final = None
            outage = self.ctx.outage(exc)
            if outage is None:
                log.exception("answering %r failed", question)
            turn["error"] = outage or f"回答出错：{type(exc).__name__}: {exc}"
        if final is None:
            turn.setdefault("error", "没有得到回答。")
            yield turn_messages(turns), gr.skip(), turns, "", gr.skip(), *LISTS_SKIP
            return
        if read:
            final.notice = f"{read}。{final.notice}" if final.notice else read
        turn["answer"] = final.to_dict()
        turn["terms"] = self.service.retriever.tokenizer.content_words(asked)
        stem = self.ctx.export_stem(f"fazhi-answer-{len(turns)}")
        export = stem.with_suffix(".md")
        export.write_text(answer_markdown(turn["answer"]), encoding="utf-8")
        yield (
            turn_messages(turns),
            sources_html(turns),
            turns,
            "",
            gr.DownloadButton(value=str(export), visible=True),
            *self.list_exports(turn["answer"], stem),
        )

    @staticmethod
    def list_exports(answer: dict[str, Any], stem: Path) -> list[gr.DownloadButton]:
        """Every report's grade and quote as CSV and XLSX, for an answer that grades them."""
        if not answer.get("verdicts"):
            return [gr.DownloadButton(value=None, visible=False)] * 2
        csv_path = write_answer_csv(answer, stem.with_suffix(".csv"))
        xlsx_path = write_answer_xlsx(answer, stem.with_suffix(".xlsx"))
        return [
            gr.DownloadButton(value=str(csv_path), visible=True),
            gr.DownloadButton(value=str(xlsx_path), visible=True),
        ]

    def clear(self) -> tuple[Any, ...]:
        hidden = gr.DownloadButton(value=None, visible=False)
        return [], sources_html([]), [], hidden, hidden, hidden

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
        except Exception as exc:
            message = self.ctx.outage(exc)
            if message is None:
                raise
            raise gr.Error(message) from None

    def build(self, facets: dict[str, list[Any]]) -> FilterControls:
        turns = gr.State([])
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                if self.service.llm is None:
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
                        gr.Button(
                            f"{kind}：{q}", size="sm", elem_classes="fz-example", min_width=160
                        )
                        for kind, q in EXAMPLES
                    ]
                with gr.Row():
                    export = gr.DownloadButton(
                        "导出回答（Markdown）", visible=False, size="sm", elem_id="fz-export-md"
                    )
                    lists_csv = gr.DownloadButton(
                        "导出名单（CSV）", visible=False, size="sm", elem_id="fz-export-csv"
                    )
                    lists_xlsx = gr.DownloadButton(
                        "导出名单（Excel）", visible=False, size="sm", elem_id="fz-export-xlsx"
                    )
                    clear = gr.Button("清空对话", size="sm")
            with gr.Column(scale=2, min_width=300):
                with gr.Accordion("筛选（对之后的每个问题都有效，清空即取消）", open=True):
                    controls = filter_controls(facets, "fz-chat")
                    controls.narrow_places(self.ctx.store)
                    sections = gr.Dropdown(
                        SECTION_CHOICES, value=[], multiselect=True, label="报告部分"
                    )
                sources = self.reports.viewer_html(sources_html([]), "fz-sources", label="引文")
        inputs = [question, turns, *controls.components(), sections]
        outputs = [chatbot, sources, turns, question, export, lists_csv, lists_xlsx]
        for trigger in (question.submit, send.click):
            trigger(self.on_question, inputs, outputs, api_visibility="private")
        for button, (_, text) in zip(examples, EXAMPLES, strict=True):
            button.click(lambda t=text: t, outputs=question, api_visibility="private").then(
                self.on_question, inputs, outputs, api_visibility="private"
            )
        clear.click(
            self.clear,
            outputs=[chatbot, sources, turns, export, lists_csv, lists_xlsx],
            api_visibility="private",
        )
        return controls
