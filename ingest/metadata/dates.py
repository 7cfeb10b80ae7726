"""The year a report is about, and the date it was published.

The year comes from the title, else the body's reporting year ("2025年，龙颈镇坚持…",
"一、2025年主要工作"), else the file name (石桥镇2023.docx), else the publication date: a report
published in January–March is about the year before.
"""

from __future__ import annotations

import re

from ingest.model import Certainty, FieldSource

_CN_DIGITS = str.maketrans("〇零○一二三四五六七八九", "00012345678" + "9")
_CN_YEAR = re.compile(r"[二][〇零○][〇零○一二三四五六七八九]{2}(?=年)")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年")
# the body states its reporting year where it opens or heads a part about the year's work
_BODY_YEAR = re.compile(
    r"(?:^|\n)\s*(?:[一二三四五六七八九十]+、\s*)?((?:19|20)\d{2})\s*年"
    r"(?:度|以来|来|[，,、]|[^。\n]{0,8}(?:工作|情况|成效|举措|开展))"
    r"|现将[^。\n]{0,12}?((?:19|20)\d{2})\s*年"
    # anywhere in the opening, a year said of the whole report: 2022年度…, 2024年全镇…
    r"|(?<![\d—\-－~至到])((?:19|20)\d{2})\s*年(?:度|以来|来，|[，,]|全[镇乡街区])"
)
_FILE_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_ISO_DATE = re.compile(
    r"(?:日期|发布时间|时间)\s*[:：]\s*((?:19|20)\d{2})[-/.年](\d{1,2})[-/.月](\d{1,2})"
)
_CN_DATE = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")

YearReading = tuple[int, FieldSource, Certainty]


def arabic_years(text: str) -> str:
    """二〇二三年 → 2023年 (same length, so positions still match)."""
    return _CN_YEAR.sub(lambda m: m.group(0).translate(_CN_DIGITS), text)


def year_in_title(title: str | None) -> int | None:
    match = _YEAR.search(arabic_years(title or ""))
    return int(match.group(1)) if match else None


def year_in_body(body: str) -> int | None:
    match = _BODY_YEAR.search(arabic_years(body[:600]))
    if not match:
        return None
    return int(next(group for group in match.groups() if group))


def year_in_file_name(name: str) -> int | None:
    years = _FILE_YEAR.findall(name)
    return int(years[0]) if len(set(years)) == 1 else None


def year_from_published(published: str | None) -> YearReading | None:
    """January–March: the report on the year before (likely); later: a guess to review."""
    if not published:
        return None
    year, month = int(published[:4]), int(published[5:7])
    if month <= 3:
        return year - 1, "published", "likely"
    return year, "published", "uncertain"


def publication_date(raw_text: str, hint: str | None) -> str | None:
    """The page's 发布日期 or the signature date at the end, as YYYY-MM-DD."""
    if hint:
        return hint
    match = _ISO_DATE.search(raw_text[:600])
    if not match:
        tail = raw_text.strip()[-120:]
        dates = _CN_DATE.findall(tail)
        match_groups = dates[-1] if dates else None
    else:
        match_groups = match.groups()
    if not match_groups:
        return None
    y, m, d = (int(x) for x in match_groups)
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{m:02d}-{d:02d}"
