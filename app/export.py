"""Exports for researchers: an answer with its citations as Markdown, and its verdicts (every
report in scope, with its grade and quote) and a comparison as CSV/XLSX. Exports hold every list
whole, however long: the views shorten, the files do not.

Report text is untrusted: in Markdown, characters that would form links, HTML or emphasis are
backslash-escaped; in CSV/XLSX, cells that a spreadsheet would run as a formula are quoted.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from app.answers import GRADES, NOT_MENTIONED
from app.answers.models import MARKER_DIGITS
from app.compare import KINDS, CompareMatrix, CompareRow
from ingest.model import SECTION_LABELS, township_label

MODE_LABELS = {"extractive": "摘录式", "llm": "大模型"}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~!])")
_ESCAPED_MARKER = re.compile(rf"\\\[(\d{{1,{MARKER_DIGITS}}})\\\](?!\()")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def md_inert(text: str) -> str:
    """Markdown that shows `text` literally: no links, HTML, emphasis or code from it."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def section_label(section: str) -> str:
    return SECTION_LABELS.get(section, section)


def describe_filters(filters: dict[str, Any]) -> str:
    """'省份：河南省；年份：2020–2023；部分：存在问题' or '全部报告'."""
    parts = []
    for key, label in (("provinces", "省份"), ("counties", "县区"), ("townships", "乡镇")):
        if filters.get(key):
            parts.append(f"{label}：{'、'.join(filters[key])}")
    year_from, year_to = filters.get("year_from"), filters.get("year_to")
    if filters.get("years"):
        parts.append(f"年份：{'、'.join(str(y) for y in filters['years'])}")
    elif year_from or year_to:
        parts.append(f"年份：{year_from or '不限'}–{year_to or '不限'}")
    if filters.get("sections"):
        parts.append(f"部分：{'、'.join(section_label(s) for s in filters['sections'])}")
    return "；".join(parts) or "全部报告"


def citation_reference(c: dict[str, Any]) -> str:
    """One line a researcher can cite: 石桥镇（河南省宝丰县），2023年度报告，“存在问题”部分。"""
    place = "".join(p for p in (c.get("province"), c.get("county")) if p)
    township = township_label(c.get("township"), c.get("source") or "")
    year = f"{c['year']}年度" if c.get("year") else "年份不详的"
    heading = f"（{c['heading']}）" if c.get("heading") else ""
    return (
        f"{township}{f'（{place}）' if place else ''}，{year}法治政府建设报告，"
        f"“{section_label(c.get('section', ''))}”部分{heading}"
    )


def answer_markdown(answer: dict[str, Any], *, now: datetime | None = None) -> str:
    """The answer and its numbered citations, ready to paste into a paper's notes."""
    stamp = (now or datetime.now()).strftime("%Y-%m-%d %H:%M")
    lines = [
        f"# {md_inert(answer['question'])}",
        "",
        f"- 回答方式：{MODE_LABELS.get(answer.get('mode', ''), answer.get('mode', ''))}",
        f"- 检索范围：{md_inert(describe_filters(answer.get('filters') or {}))}",
        f"- 导出时间：{stamp}（fazhi 法治）",
    ]
    if answer.get("notice"):
        lines.append(f"- 提示：{md_inert(answer['notice'])}")
    lines += ["", "## 回答", "", _answer_body(answer["answer"]), ""]
    lines += _full_lists(answer)
    citations = answer.get("citations") or []
    if citations:
        lines += ["## 引文", ""]
    for c in citations:
        lines.append(f"[{c['n']}] {md_inert(citation_reference(c))}。")
        lines.append("")
        lines.append(f"> “{md_inert(_one_line(c.get('quote') or c['text']))}”")
        lines.append("")
        if c.get("quote") and c["quote"] != c["text"]:
            lines.append(f"  原文段落：{md_inert(_one_line(c['text']))}")
            lines.append("")
        source = Path(c.get("source") or "").name
        lines.append(
            f"  来源文件：{md_inert(source)}；报告编号 {c['report_id']}，字符 {c['start']}–{c['end']}"
        )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _full_lists(answer: dict[str, Any]) -> list[str]:
    """Every report in scope by grade: 明确提到 and 相关 with their quotes, 未提及 by place."""
    verdicts = answer.get("verdicts") or []
    if not verdicts:
        return []
    by_n = {c["n"]: c for c in answer.get("citations") or []}
    lines = ["## 完整名单", ""]
    for grade in GRADES:
        members = [v for v in verdicts if v["grade"] == grade]
        lines += [f"### {grade}（{len(members)} 个）", ""]
        if not members:
            lines.append("（无）")
        elif grade == NOT_MENTIONED:
            for place, names in _by_place(members):
                lines.append(f"- {md_inert(place)}：{md_inert('、'.join(names))}")
        else:
            lines += [_verdict_line(v, by_n.get(v.get("citation"))) for v in members]
        lines.append("")
    return lines


def _verdict_line(v: dict[str, Any], c: dict[str, Any] | None) -> str:
    place = "，".join(str(p) for p in (v.get("county"), v.get("province")) if p) or "地点未知"
    year = f"，{v['year']}年" if v.get("year") else ""
    quote = f"：“{md_inert(_one_line(c.get('quote') or c['text']))}” [{c['n']}]" if c else ""
    return f"- **{md_inert(v['township'])}**（{md_inert(place)}{year}）{quote}"


def _by_place(verdicts: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """Township names grouped by province and county, the largest groups first."""
    groups: dict[str, list[str]] = {}
    for v in verdicts:
        place = " ".join(p for p in (v.get("province"), v.get("county")) if p) or "地点未知"
        groups.setdefault(place, []).append(v["township"])
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def _answer_body(text: str) -> str:
    """The answer inert, but keeping its own bold names and plain [n] citation markers."""
    body = md_inert(text).replace("\\*\\*", "**")
    return _ESCAPED_MARKER.sub(r"[\1]", body)


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text).strip()


# -- an answer's verdicts -----------------------------------------------------------------------
VERDICT_HEADERS = [
    "等级",
    "乡镇",
    "县区",
    "省份",
    "年份",
    "部分",
    "引文",
    "引文编号",
    "得分",
    "报告编号",
    # appended, so scripts reading columns by position keep working
    "章节",
    "原文位置",
]


def verdict_table(answer: dict[str, Any]) -> list[list[Any]]:
    """Every report in scope of a corpus-wide answer: its grade, place and quote (if any)."""
    by_n = {c["n"]: c for c in answer.get("citations") or []}
    rows: list[list[Any]] = [VERDICT_HEADERS]
    for v in answer.get("verdicts") or []:
        c = by_n.get(v.get("citation")) or {}
        rows.append(
            [
                v["grade"],
                v["township"],
                v.get("county") or "",
                v.get("province") or "",
                v.get("year") or "",
                section_label(c["section"]) if c else "",
                _one_line(c.get("quote") or c.get("text") or ""),
                c.get("n", ""),
                v.get("score", ""),
                v["report_id"],
                c.get("heading", ""),
                # where the quote is in the report's cleaned text (`fazhi show`)
                f"[{c['quote_start']}:{c['quote_end']}]" if "quote_start" in c else "",
            ]
        )
    return rows


def write_answer_csv(answer: dict[str, Any], path: Path) -> Path:
    return _write_csv(verdict_table(answer), path)


def write_answer_xlsx(answer: dict[str, Any], path: Path) -> Path:
    """One sheet per grade holding all its reports, and 全部 with every report in scope."""
    table = verdict_table(answer)
    sheets = [("全部", table)]
    sheets += [(grade, [table[0], *(r for r in table[1:] if r[0] == grade)]) for grade in GRADES]
    return _write_xlsx(sheets, path)


# -- comparison tables -------------------------------------------------------------------------
DETAIL_HEADERS = [
    "乡镇",
    "县区",
    "省份",
    "年份",
    "主题",
    "列为存在问题",
    "问题引文",
    "有举措或创新",
    "举措引文",
    "报告编号",
    "问题等级",
    "举措等级",
    "问题相关引文",
    "举措相关引文",
]
TOTALS_LABELS = (
    ("problems", "合计：列为存在问题"),
    ("measures", "合计：有举措"),
    ("related", "合计：仅相关"),
)


def spreadsheet_safe(value: Any) -> Any:
    """Text a spreadsheet would evaluate (=, +, -, @ …) is kept as text with a leading quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def matrix_table(matrix: CompareMatrix) -> list[list[Any]]:
    """Wide table: one row per report, one column per topic, then the totals rows."""
    rows: list[list[Any]] = [["乡镇", "县区", "省份", "年份", *matrix.topics]]
    for row in matrix.rows:
        rows.append([*_row_head(row), *(row.cells[t].label for t in matrix.topics)])
    totals = matrix.totals()
    for key, label in TOTALS_LABELS:
        rows.append([label, "", "", "", *(getattr(t, key) for t in totals)])
    return rows


def detail_table(matrix: CompareMatrix) -> list[list[Any]]:
    """Long table: one row per report and topic, with the quotations."""
    rows: list[list[Any]] = [DETAIL_HEADERS]
    for row in matrix.rows:
        for topic in matrix.topics:
            cell = row.cells[topic]
            rows.append(
                [
                    *_row_head(row),
                    topic,
                    "是" if cell.problem else "否",
                    cell.problem.quote if cell.problem else "",
                    "是" if cell.measure else "否",
                    cell.measure.quote if cell.measure else "",
                    row.report_id,
                    *(cell.grade(kind) for kind in KINDS),
                    *(c.quote if (c := getattr(cell, f"{kind}_related")) else "" for kind in KINDS),
                ]
            )
    return rows


def _row_head(row: CompareRow) -> list[Any]:
    return [row.township, row.county or "", row.province or "", row.year or ""]


def write_csv(matrix: CompareMatrix, path: Path) -> Path:
    """The long table as UTF-8 CSV with a BOM, so Excel opens the Chinese correctly."""
    return _write_csv(detail_table(matrix), path)


def write_xlsx(matrix: CompareMatrix, path: Path) -> Path:
    """Two sheets: 对比矩阵 (wide, with the totals rows) and 明细 (long, with quotations)."""
    return _write_xlsx([("对比矩阵", matrix_table(matrix)), ("明细", detail_table(matrix))], path)


def _write_csv(table: list[list[Any]], path: Path) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        for row in table:
            writer.writerow([spreadsheet_safe(v) for v in row])
    return path


def _write_xlsx(sheets: list[tuple[str, list[list[Any]]]], path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    for index, (title, table) in enumerate(sheets):
        sheet = book.active if index == 0 else book.create_sheet()
        assert sheet is not None
        sheet.title = title
        for row in table:
            sheet.append([spreadsheet_safe(v) for v in row])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(60, max(8, width * 2))
        for row_cells in sheet.iter_rows(min_row=2):
            for cell in row_cells:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.freeze_panes = "B2"
    book.save(path)
    return path
