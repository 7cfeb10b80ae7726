"""Heading structure and section types.

Top-level headings (一、 / 二、) open sections; each is typed by what its heading says. Lower
headings ((一) / 1. / 一是…) are kept as heading paths on passages.
"""

from __future__ import annotations

import re

from ingest.model import Section, SectionType

LEVEL1 = re.compile(r"^[一二三四五六七八九十]{1,3}\s*[、，,．.]\s*\S")
LEVEL2 = re.compile(r"^[（(]\s*[一二三四五六七八九十]{1,3}\s*[）)]")
LEVEL3 = re.compile(r"^(\d{1,2}\s*[.、．]|[（(]\d{1,2}[）)])\s*\S")

# Checked in order: the first rule whose pattern occurs in the heading wins.
SECTION_RULES: tuple[tuple[SectionType, re.Pattern[str]], ...] = (
    # "存在的问题和下步工作打算": a heading naming problems is about problems first
    ("problems", re.compile(r"存在的?问题|存在的?不足|问题和不足|不足和原因|问题及")),
    (
        "plans",
        re.compile(
            r"下一步|下步|下阶段|明年|今后|工作打算|工作计划|主要安排|工作安排|工作思路|改进措施|努力方向"
        ),
    ),
    ("problems", re.compile(r"问题|不足|短板|差距|薄弱|困难")),
    ("innovations", re.compile(r"创新|经验|特色|亮点|典型")),
    ("duty", re.compile(r"第一责任|履行.{0,12}职责|履职|述职")),
    ("plans", re.compile(r"打算|计划|安排|展望|思路")),
    ("measures", re.compile(r"举措|成效|成果|情况|工作|开展|落实|推进|措施|做法|建设")),
)

_SIGNATURE = re.compile(
    r"^([\u4e00-\u9fff]{2,30}(人民政府|党委|办事处|委员会|政府)|(19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)$"
)


def section_type(heading: str) -> SectionType:
    for kind, pattern in SECTION_RULES:
        if pattern.search(heading):
            return kind
    return "other"


def subheading_at(text: str, at: int) -> str | None:
    """The nearest (一)-level heading of `text` on or before the line holding `at` (run-on
    headings cut by `heading_text`), or None. Only lines opening with a bracket are read: a
    citation asks this of every passage it quotes."""
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    while True:
        k = max(text.rfind("\n（", 0, end), text.rfind("\n(", 0, end))
        start = k + 1 if k >= 0 else 0
        if text.startswith(("（", "("), start):  # LEVEL2 opens with one
            stop = text.find("\n", start, end)
            line = text[start : stop if stop >= 0 else end]
            if LEVEL2.match(line) and not LEVEL1.match(line):
                return heading_text(line)
        if k < 0:
            return None
        end = k


def heading_text(line: str, limit: int = 40) -> str:
    """The heading part of a line: headings often run on into the first sentence."""
    for stop in ("。", "：", ":"):
        idx = line.find(stop)
        if 0 < idx <= limit:
            return line[:idx]
    return line[:limit]


def _lines(text: str) -> list[tuple[int, str]]:
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, line))
        pos += len(line) + 1
    return out


def signature_start(text: str) -> int:
    """Where the closing signature (sender, date) starts, or len(text) if there is none."""
    end = len(text.rstrip())
    start = end
    for pos, line in reversed(_lines(text)):
        if not line:
            continue
        if _SIGNATURE.match(line):
            start = pos
            continue
        break
    return start


def split_sections(text: str) -> list[Section]:
    """Sections covering the text in order; the preamble and signature are type `other`."""
    body_end = signature_start(text)
    sections: list[Section] = []
    current = Section(type="other", heading="", start=0, end=0)
    for pos, line in _lines(text):
        if pos >= body_end:
            break
        if LEVEL1.match(line):
            current.end = pos
            if current.end > current.start:
                sections.append(current)
            heading = heading_text(line)
            current = Section(type=section_type(heading), heading=heading, start=pos, end=0)
    current.end = body_end
    if current.end > current.start:
        sections.append(current)
    if body_end < len(text.rstrip()):
        sections.append(Section(type="other", heading="落款", start=body_end, end=len(text)))
    return sections
