"""A corpus-wide answer in the chat, drawn from its verdicts: counts first, then who states it
(grouped by place when the list is long and spread out), then 相关 and 未提及 each folded under
its count, never a wall of names. The exports hold the same lists whole (`app.export`).
"""

from __future__ import annotations

import re
from typing import Any

from app.answers import MENTIONED, NOT_MENTIONED, RELATED
from app.answers.listing import ENTRIES_SHOWN, GROUP_OVER, NAMES_SHOWN, counts_lead
from app.export import section_label
from app.web.markup import answer_html, answer_inline, esc

_BULLET = re.compile(r"^- \*\*(.+?)\*\*（(.*)$")
_ENUMERATION = re.compile(r"\n\n(?=在范围内的 \d+ 份报告中|资料中未找到)")
UNKNOWN_PLACE = "地点未知"
OPEN_ALL = 30  # a grouped list up to this long shows every group open
OPEN_FIRST = 3  # ...a longer one its largest groups; the others fold under their counts
RELATED_NAMED = 5  # 相关 townships named on their folded list's line, when this few


def corpus_answer_html(answer: dict[str, Any], turn: int, valid: set[int]) -> str | None:
    """The answer's HTML body, or None when it is not a graded corpus-wide answer (a lookup, or
    a "没有提到X" answer, whose list is the 未提及 reports: its own text reads right)."""
    verdicts = answer.get("verdicts") or []
    stated = [v for v in verdicts if v["grade"] == MENTIONED]
    if not verdicts or set(answer.get("townships") or []) != {v["township"] for v in stated}:
        return None
    related = [v for v in verdicts if v["grade"] == RELATED]
    absent = [v for v in verdicts if v["grade"] == NOT_MENTIONED]
    practice = answer.get("kind") == "practice"
    prose, text = _llm_split(answer)
    if stated:
        lead = counts_lead(len(verdicts), len(stated), len(related), practice=practice)
    else:  # the answer's own "资料中未找到：…" line, then what there is
        first = text.strip().split("\n", 1)[0]
        lead = f"{first} {len(related)} 个提到相关内容，{len(absent)} 个未提及。"
    blocks = [f'<p class="fz-lead">{answer_inline(lead, turn, valid)}</p>']
    if prose:  # the LLM's summary, then the lists it summarises
        blocks.append(f'<div class="fz-llm">{answer_html(prose, turn, valid)}</div>')
    lines = _text_lines(text)
    by_n = {c["n"]: c for c in answer.get("citations") or []}
    if stated:
        blocks.append(_entries(stated, lines, by_n, turn, valid))
    if related:
        what = "有相关举措，但没有具名的做法" if practice else "提到相关内容，但未明确说到这一点"
        # a few are named while folded: who they are is what the asker checks first
        named = "、".join(v["township"] for v in related)
        names = f"（{esc(named)}）" if len(related) <= RELATED_NAMED else ""
        blocks.append(
            f'<details class="fz-fold fz-related"{"" if stated else " open"}>'
            f"<summary>另有 <b>{len(related)}</b> 个乡镇{names}{what}（请核对引文）</summary>"
            f"{_entries(related, lines, by_n, turn, valid)}</details>"
        )
    blocks.append(_absent(absent))
    return "".join(blocks)


def _llm_split(answer: dict[str, Any]) -> tuple[str, str]:
    """(the LLM's summary, the extractive answer text it was given): in LLM mode the answer is
    the summary followed by the extractive enumeration (`app.llm`)."""
    text = answer.get("answer") or ""
    if answer.get("mode") != "llm":
        return "", text
    match = _ENUMERATION.search(text)
    if match is None:
        return text, ""
    return text[: match.start()].strip(), text[match.start() :].strip()


def _text_lines(text: str) -> dict[str, str]:
    """Each township's line in the answer text (what follows its bold name), by name."""
    lines = {}
    for raw in text.split("\n"):
        match = _BULLET.match(raw.strip())
        if match:
            lines.setdefault(match.group(1), match.group(2))
    return lines


def _entry(
    v: dict[str, Any],
    lines: dict[str, str],
    by_n: dict[int, dict[str, Any]],
    turn: int,
    valid: set[int],
    *,
    with_place: bool,
) -> str:
    rest = lines.get(v["township"])
    if rest is not None and v.get("county") and rest.startswith(f"{v['county']}，"):
        rest = rest[len(v["county"]) + 1 :]  # the place is shown once, below or as the group
    if rest is None:
        c = by_n.get(v.get("citation")) or {}
        year = f"{v['year']}年" if v.get("year") else "年份未知"
        where = f"，{section_label(c['section'])}" if c else ""
        quote = f"：“{c.get('quote') or c.get('text')}” [{c['n']}]" if c else ""
        rest = f"{year}{where}）{quote}"
    place = f"{v.get('county') or '县区未知'}，" if with_place else ""
    line = f"**{v['township']}**（{place}{rest}"
    return f"<li>{answer_inline(line, turn, valid)}</li>"


def _entries(
    verdicts: list[dict[str, Any]],
    lines: dict[str, str],
    by_n: dict[int, dict[str, Any]],
    turn: int,
    valid: set[int],
) -> str:
    groups, by_county = _groups(verdicts)

    def items(members: list[dict[str, Any]], with_place: bool) -> str:
        """The members' lines, those after the first ENTRIES_SHOWN folded under their count."""
        lines_of = [_entry(v, lines, by_n, turn, valid, with_place=with_place) for v in members]
        shown = f"<ul>{''.join(lines_of[:ENTRIES_SHOWN])}</ul>"
        if len(lines_of) <= ENTRIES_SHOWN:
            return shown
        return (
            f'{shown}<details class="fz-more"><summary>其余 {len(lines_of) - ENTRIES_SHOWN} 个'
            f"</summary><ul>{''.join(lines_of[ENTRIES_SHOWN:])}</ul></details>"
        )

    if not groups:
        return items(verdicts, True)
    out = []
    shown = len(groups) if len(verdicts) <= OPEN_ALL else OPEN_FIRST
    for i, (place, members) in enumerate(groups):
        out.append(
            f'<details class="fz-group"{" open" if i < shown else ""}>'
            f"<summary>{esc(place)}（{len(members)}）</summary>"
            f"{items(members, not by_county)}</details>"
        )
    return "".join(out)


Groups = list[tuple[str, list[dict[str, Any]]]]


def _groups(verdicts: list[dict[str, Any]]) -> tuple[Groups, bool]:
    """By county, or by province when counties hold about one township each (and whether by
    county); none when the list is short or all in one county: nothing to group."""
    counties = {(v.get("province"), v.get("county")) for v in verdicts}
    if len(verdicts) <= GROUP_OVER or len(counties) < 2:
        return [], True
    by_county = len(counties) <= len(verdicts) / 2
    groups: dict[str, list[dict[str, Any]]] = {}
    for v in verdicts:
        parts = (v.get("province"), v.get("county")) if by_county else (v.get("province"),)
        place = " ".join(p for p in parts if p) or UNKNOWN_PLACE
        groups.setdefault(place, []).append(v)
    if len(groups) > len(verdicts) / 2:  # mostly one township a place: a plain list reads better
        return [], True
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])), by_county


def _absent(verdicts: list[dict[str, Any]]) -> str:
    if not verdicts:
        return ""
    names = [v["township"] for v in verdicts]
    if len(names) <= NAMES_SHOWN:
        return f'<p class="fz-absent">未提及（{len(names)} 个）：{esc("、".join(names))}。</p>'
    groups = _groups(verdicts)[0] or [("", verdicts)]
    body = "".join(
        f"<p>{f'<b>{esc(place)}</b>（{len(members)}）：' if place else ''}"
        f"{esc('、'.join(v['township'] for v in members))}</p>"
        for place, members in groups
    )
    return (
        f'<details class="fz-fold fz-absent"><summary>未提及：<b>{len(names)}</b> 个乡镇'
        f"（点击展开名单；导出文件中有完整名单）</summary>{body}</details>"
    )
