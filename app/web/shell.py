"""The app around the tabs: banner, tabs, login, the sample corpus on first start, launching."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from app.answers.service import AnswerService
from app.indexing import FileResult, IngestEvents, IngestSummary, ingest_paths
from app.settings import SAMPLE_CORPUS, Settings
from app.web.chat import ASK_DESCRIPTION, ChatTab
from app.web.compare import CompareTab
from app.web.context import WebContext, static_text
from app.web.filters import filter_choices
from app.web.markup import esc
from app.web.report_facets import FACETS, selection
from app.web.reports import ReportsTab
from app.web.upload import STATUS_LABELS, UploadTab
from ingest.errors import FazhiError
from vectorstore import PassageStore

log = logging.getLogger(__name__)


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


def banner(store: PassageStore | None, problem: str | None = None) -> str:
    """The title and what the store holds, or the `problem` that keeps it from being read."""
    if problem is not None or store is None:
        stats = f'<div class="fz-stats fz-error fz-outage">⚠ {esc(problem)}</div>'
    else:
        reports = store.list_reports()
        townships = {r.meta.township for r in reports if r.meta.township}
        text = (
            f"库中 {len(reports)} 份报告 · {len(townships)} 个乡镇 · {store.count_passages()} 个段落"
            if reports
            else "报告库还是空的：请到“上传”页添加报告文件"
        )
        stats = f'<div class="fz-stats">{esc(text)}</div>'
    return (
        '<div class="fz-banner"><div class="fz-title">法治 <span>乡镇法治政府建设年度报告问答</span></div>'
        f"{stats}</div>"
    )


def build_app(settings: Settings, service: AnswerService | None = None) -> gr.Blocks:
    """The whole app. `service` defaults to the one `app.services.answer_service` builds."""
    if service is None:
        from app.services import answer_service

        service = answer_service(settings)
    ctx = WebContext(settings, service)
    reports = ReportsTab(ctx)
    chat, comparison, upload = ChatTab(ctx, reports), CompareTab(ctx, reports), UploadTab(ctx)
    facets = ctx.store.facet_values()
    with gr.Blocks(title="法治 · 乡镇法治政府建设报告问答", analytics_enabled=False) as app:
        head = (
            f"<style>{static_text('fazhi.css')}</style><script>{static_text('fazhi.js')}</script>"
        )
        top = gr.HTML(banner(ctx.store), head=head, apply_default_css=False, js_on_load=None)
        with gr.Tabs():
            with gr.Tab("问答", id="chat"):
                chat_filters = chat.build(facets)
            with gr.Tab("报告", id="reports"):
                listing = reports.build()
            with gr.Tab("对比", id="compare"):
                compare_filters = comparison.build(facets)
            with gr.Tab("上传", id="upload"):
                upload_button, upload_event, notice = upload.build(app)

        def refresh(review_only: bool = False, *facet_values: list[str]) -> tuple[Any, ...]:
            """New choices for every filter, the report table and its review count and the banner
            (after an upload or an edit); while the Chroma server is down, the banner says so and
            the rest stays as it was."""
            try:
                facets = ctx.store.facet_values()
                dropdowns = filter_choices(facets) * 2  # chat tab, compare tab
                chosen = selection(list(facet_values) or [[]] * len(FACETS))
                rows, summary = reports.table_and_summary(bool(review_only), chosen)
                counts = reports.facet_updates(chosen)
                return (*dropdowns, rows, summary, *counts, banner(ctx.store))
            except Exception as exc:
                message = ctx.outage(exc)
                if message is None:
                    raise
                return (*[gr.skip()] * (len(refresh_outputs) - 1), banner(None, problem=message))

        refresh_outputs = [
            *chat_filters.components(),
            *compare_filters.components(),
            listing.table,
            listing.summary,
            *listing.facets,
            top,
        ]
        refresh_inputs = [listing.review_only, *listing.facets]
        for event in (upload_event, listing.saved):
            event.then(
                refresh, inputs=refresh_inputs, outputs=refresh_outputs, api_visibility="private"
            )
        app.load(refresh, inputs=refresh_inputs, outputs=refresh_outputs, api_visibility="private")
        app.load(upload.notice, outputs=[notice, upload_button], api_visibility="private")
        app.load(
            reports.form.notice, outputs=[listing.notice, listing.save], api_visibility="private"
        )
        gr.api(chat.api_ask, api_name="ask", api_description=ASK_DESCRIPTION)
    return app


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
