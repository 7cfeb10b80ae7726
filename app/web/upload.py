"""The 上传 tab: report files from the browser are staged under `<store>/uploads` with safe
names and ingested; only the admin (FAZHI_ADMIN_USER) may upload when one is set.

Only files that arrived through this app's upload route are read: an API call can name any
path (or URL) as a file, and Gradio accepts anything in its shared cache folder.
"""

from __future__ import annotations

import logging
import re
import shutil
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from app.indexing import FileResult, IngestEvents, IngestSummary, ingest_paths
from app.web.context import WebContext
from app.web.meta_form import twins_reason

UPLOAD_TYPES = (".txt", ".md", ".docx", ".pdf", ".html", ".htm")
UPLOAD_HEADERS = ["文件", "结果", "乡镇", "年份", "段落数", "说明"]
STATUS_LABELS = {
    "added": "已添加",
    "unchanged": "未变化",
    "replaced": "已替换",
    "failed": "失败",
    "skipped": "已跳过",
}
NOT_UPLOADED = (
    "已拒绝：这不是随本次请求上传的文件（不能读取服务器上的其他文件）。"
    "请在“上传”页选择文件，或用 gradio_client 的 handle_file() 上传。"
)
log = logging.getLogger(__name__)
PROGRESS = gr.Progress()  # Gradio swaps in a per-event tracker for a Progress default
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


def was_uploaded(file: str, uploaded: Collection[str] | None) -> bool:
    """Did `file` arrive through the app's upload route? `uploaded` is the app's record of the
    files it received (Gradio's `Blocks.upload_file_set`); without one, anything inside
    Gradio's upload folder counts."""
    path = Path(file)
    if not path.is_absolute() or "://" in file:
        return False
    resolved = path.resolve()
    if uploaded is not None:
        return file in uploaded or str(resolved) in uploaded
    return resolved.is_relative_to(Path(get_upload_folder()).resolve())


def stage_uploads(
    files: list[str],
    folder: Path,
    max_bytes: int,
    uploaded: Collection[str] | None = None,
) -> list[StagedFile]:
    """Copy accepted uploads into `folder` under sanitised, distinct names; reject the rest.

    A file that did not arrive through the upload route (not in `uploaded`, see
    `was_uploaded`) is rejected before it is even looked at."""
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[StagedFile] = []
    taken: set[str] = set()
    for file in files:
        source = Path(file)
        item = StagedFile(original=source.name)
        if not was_uploaded(str(file), uploaded):
            log.warning("refused an upload entry that was never uploaded: %s", file)
            item.reason = NOT_UPLOADED
            staged.append(item)
            continue
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


def upload_rows(
    staged: list[StagedFile], summary: IngestSummary | None, unfinished: str = "没有入库结果"
) -> list[list[Any]]:
    """One row per file; `unfinished` explains a staged file that has no result."""
    by_path = {r.path.resolve(): r for r in summary.results} if summary else {}
    rows = []
    for item in staged:
        result = by_path.get(item.path) if item.path else None
        if result is None:
            reason = item.reason or unfinished
            rows.append([item.original, STATUS_LABELS["failed"], "", "", 0, reason])
        else:
            rows.append(_result_row(item.original, result))
    return rows


def _result_row(name: str, r: FileResult) -> list[Any]:
    warnings = [*r.warnings]
    if r.same_township_year_files:
        warnings.append(f"⚠ {twins_reason(r.same_township_year_files)}")
    note = r.reason or "；".join(warnings)
    return [
        name,
        STATUS_LABELS.get(r.status, r.status),
        r.township or "",
        r.year or "",
        r.passages,
        note,
    ]


class UploadTab:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.blocks: gr.Blocks | None = None  # set by build(): whose uploads are accepted

    def may_upload(self, username: str | None) -> bool:
        admin = self.settings.admin_user
        return not admin or username == admin

    def notice(self, request: gr.Request) -> tuple[Any, ...]:
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
            files,
            self.settings.store / "uploads",
            self.settings.upload_max_bytes,
            uploaded=getattr(self.blocks, "upload_file_set", None),
        )
        paths = [s.path for s in staged if s.path]
        summary, outage = IngestSummary(), None
        try:
            if paths:
                self._ingest(paths, progress, summary)
        except Exception as exc:
            outage = self.ctx.outage(exc)
            if outage is None:
                raise
        rows = upload_rows(staged, summary, unfinished=outage or "没有入库结果")
        counts: dict[str, int] = {}
        for row in rows:
            counts[row[1]] = counts.get(row[1], 0) + 1
        text = "，".join(f"{label} {n} 个" for label, n in counts.items())
        if summary.needs_review:
            text += f"；{summary.needs_review} 个待核对，见“报告”页"
        if outage:
            return rows, f"⚠ {outage}（{text}）"
        return rows, f"入库完成：{text}。"

    def _ingest(self, paths: list[Path], progress: gr.Progress, done: IngestSummary) -> None:
        """Ingest `paths`, each file's result into `done` as soon as it is final (so an
        outage midway still tells which files were stored)."""
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
            done.results.append(result)
            state["done"] += 1
            show()

        progress(0.0, desc=f"正在读取 {total} 个文件")
        ingest_paths(
            paths,
            self.ctx.store,
            max_bytes=self.settings.max_bytes,
            chunking=self.settings.chunking,
            events=IngestEvents(
                on_passages=on_passages, on_embedded=on_embedded, on_result=on_result
            ),
        )

    def build(self, blocks: gr.Blocks) -> tuple[gr.Button, Any, gr.Markdown]:
        self.blocks = blocks
        notice = gr.Markdown()
        files = gr.File(
            label="报告文件（txt / md / docx / pdf / html）",
            file_count="multiple",
            elem_id="fz-files",
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
        event = button.click(self.upload, files, [results, status], api_name="upload")
        return button, event, notice
