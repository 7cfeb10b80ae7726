"""How a corpus-wide answer reads: counts first, then who states it, who is related, who is not.

Long lists are grouped by province and county (Markdown headings); 未提及 is a count with the
names only when they are few. `--json` and the exports keep every list whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from vectorstore import StoredReport

GROUP_OVER = 10  # a list longer than this, spanning several counties, is grouped by county
ENTRIES_SHOWN = 20  # a list quotes this many townships, the rest are counted (the JSON holds all)
NAMES_SHOWN = 12  # 未提及 names written out when there are at most this many
OVERVIEW_REPORTS = 10  # a section overview or a list of dates shows at most this many reports...
OVERVIEW_PASSAGES = 3  # ...and an overview this many passages of each
WITHOUT_SHOWN = 50  # reports named in the text of "哪些镇没有写存在的问题" (the JSON has all)


@dataclass
class Entry:
    """One township's line in a list: where it is, what it says, and its citation markers."""

    township: str
    county: str | None
    province: str | None
    line: str  # the rest of the line after the township's name


def counts_lead(total: int, mentioned: int, related: int, *, practice: bool) -> str:
    said = "有可借鉴的具体做法" if practice else "明确提到"
    return (
        f"在范围内的 {total} 份报告中：{mentioned} 个乡镇{said}，"
        f"{related} 个提到相关内容，{total - mentioned - related} 个未提及。"
    )


def entry_lines(entries: list[Entry]) -> list[str]:
    """Bulleted lines, under province/county headings when the list is long and spread out."""
    counties = {(e.province or "", e.county or "") for e in entries}
    if len(entries) <= GROUP_OVER or len(counties) < 2:
        return [_bullet(e, with_county=True) for e in entries]
    lines: list[str] = []
    groups: dict[tuple[str, str], list[Entry]] = {}
    for e in entries:
        groups.setdefault((e.province or "", e.county or ""), []).append(e)
    for (province, county), members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        place = " ".join(p for p in (province, county) if p) or "省份、县区未知"
        lines += ["", f"**{place}**（{len(members)}）", ""]
        lines += [_bullet(e, with_county=False) for e in members]
    return lines


def related_block(entries: list[Entry], *, practice: bool) -> list[str]:
    if not entries:
        return []
    what = "有相关举措，但没有具名的做法" if practice else "提到相关内容，但未明确说到这一点"
    lines = ["", f"另有 {len(entries)} 个乡镇{what}（请核对引文）：", ""]
    return lines + first_entry_lines(entries, "related")


def first_entry_lines(entries: list[Entry], field: str) -> list[str]:
    """`entry_lines` of the first ENTRIES_SHOWN entries, and where the rest are (the JSON's
    `field`, the exports)."""
    lines = entry_lines(entries[:ENTRIES_SHOWN])
    if len(entries) > ENTRIES_SHOWN:
        rest = len(entries) - ENTRIES_SHOWN
        lines += ["", f"（其余 {rest} 个见 JSON 的 {field} 字段或导出文件。）"]
    return lines


def not_mentioned_line(names: list[str]) -> list[str]:
    if not names:
        return []
    if len(names) <= NAMES_SHOWN:
        return ["", f"未提及（{len(names)} 个）：{'、'.join(names)}。"]
    return [
        "",
        f"未提及：{len(names)} 个乡镇（完整名单见 JSON 的 not_mentioned 字段或导出文件）。",
    ]


def overflow(reports: list[StoredReport]) -> str:
    """The line saying an overview lists only the first OVERVIEW_REPORTS reports, if it does."""
    if len(reports) <= OVERVIEW_REPORTS:
        return ""
    return f"\n\n（共 {len(reports)} 份报告，只列出前 {OVERVIEW_REPORTS} 份；请用筛选缩小范围。）"


def report_bullet(township: str, county: str | None, details: list[str], tail: str = "") -> str:
    """One report's line in an overview, a list of reports or of dates:
    "- **乡镇**（县区，details…）tail"."""
    return f"- **{township}**（{'，'.join([county or '县区未知', *details])}）{tail}"


def _bullet(e: Entry, *, with_county: bool) -> str:
    # an entry's line closes its own bracket, after its quote's details (`corpus`, `practice`)
    where = f"{e.county or '县区未知'}，" if with_county else ""
    return f"- **{e.township}**（{where}{e.line}"
