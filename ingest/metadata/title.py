"""The report's title: from the lines above the body, else the web page's <title>."""

from __future__ import annotations

import re

from ingest.metadata.traditional import simplified
from ingest.model import ReportKind

_HEADING_START = re.compile(r"^([一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)])")
_TITLE_WORDS = ("报告", "述职", "述法", "自查")
# a page <title> often ends with the site's name: "…的报告_宝丰县人民政府", "… - 某某网"
_SITE_SUFFIX = re.compile(r"\s*(?:[_|｜]|\s-\s|——)\s*")


def header_lines(text: str, limit: int = 6) -> list[str]:
    """The lines above the body: sender, title, addressee (short lines, no sentence end)."""
    lines: list[str] = []
    for line in text.split("\n"):
        if not line:
            continue
        if _HEADING_START.match(line) or len(line) > 70 or len(lines) >= limit:
            break
        if line.endswith("。") or (line.endswith(("：", ":")) and len(line) > 20):
            break
        lines.append(line)
    return lines


def find_title(lines: list[str], hint: str | None = None) -> str | None:
    """The header line naming the report (with the sender line before a bare 关于… line)."""
    for i, line in enumerate(lines):
        if any(word in simplified(line) for word in _TITLE_WORDS):
            if (
                simplified(line).startswith("关于")
                and i > 0
                and not lines[i - 1].startswith("关于")
            ):
                return lines[i - 1] + line
            return line
    return page_title(hint)


def page_title(hint: str | None) -> str | None:
    """A web page's <title> without the site name after it."""
    if not hint:
        return None
    parts = [p for p in _SITE_SUFFIX.split(hint.strip()) if p]
    return next(
        (p for p in parts if any(w in p for w in _TITLE_WORDS)), parts[0] if parts else None
    )


def report_kind(title: str | None) -> ReportKind:
    title = simplified(title or "")
    if title and ("述职" in title or "述法" in title):
        return "duty_report"
    if title and "自查" in title:
        return "self_inspection"
    return "annual_report"
