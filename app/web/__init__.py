"""The fazhi web app (Gradio): 问答, 报告, 对比, 上传, plus the `ask` API endpoint.

The UI only calls services (`AnswerService`, `ingest_paths`, store reads) and renders their
results; report text is untrusted and shown inert (`markup`). One module per tab around the
shell; CSS and JavaScript are files in `static/`.

    from app.web import build_app, launch_options
    app = build_app(settings)
    app.launch(**launch_options(settings))
"""

from __future__ import annotations

from app.web.chat import EXAMPLES, answer_message, source_card
from app.web.compare import matrix_html
from app.web.markup import esc, inert, report_html
from app.web.shell import build_app, ensure_corpus, launch, launch_options, parse_auth
from app.web.upload import safe_filename, stage_uploads

__all__ = [
    "EXAMPLES",
    "answer_message",
    "build_app",
    "ensure_corpus",
    "esc",
    "inert",
    "launch",
    "launch_options",
    "matrix_html",
    "parse_auth",
    "report_html",
    "safe_filename",
    "source_card",
    "stage_uploads",
]
