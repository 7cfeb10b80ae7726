"""From a retrieved passage to what an answer shows of it: the citation, the report's name, the quote."""

from __future__ import annotations

from pathlib import Path

from app.answers.models import Citation
from app.retrieval import Hit
from app.sentences import section_title
from ingest.model import township_label
from ingest.sections import subheading_at
from vectorstore import StoredReport


def cite(n: int, hit: Hit) -> Citation:
    """Citation `n` of a passage, quoting its key sentence (the whole passage if none is marked),
    under the heading the quote is under."""
    meta = hit.passage.meta
    start, end = int(meta["start"]), int(meta["end"])
    qs, qe = hit.sentence or (start, end)
    text = hit.passage.text
    heading = str(meta.get("heading", ""))
    # a passage may run on past a (一)-level heading: the quote is under the last one before it
    sub = subheading_at(text, qs - start)
    if sub and not heading.endswith(sub):
        heading = " > ".join(h for h in (section_title(meta), sub) if h)
    return Citation(
        n=n,
        township=meta.get("township") or None,
        county=meta.get("county") or None,
        province=meta.get("province") or None,
        year=int(meta.get("year") or 0) or None,
        section=str(meta.get("section")),
        heading=heading,
        text=text,
        report_id=str(meta["report_id"]),
        source=str(meta.get("source", "")),
        start=start,
        end=end,
        quote=text[qs - start : qe - start],
        quote_start=qs,
        quote_end=qe,
    )


def report_labels(reports: list[StoredReport]) -> dict[str, str]:
    """How answers name each report: its township, or the file name when the township is
    unknown. Where several reports in scope share a township's name, what tells them apart
    follows it: the county (城关镇（宝丰县）: a name hundreds of counties have), then the year
    (王场镇（2022年）), then the file, then the report's id."""
    by_name: dict[str, list[StoredReport]] = {}
    labels = {}
    for r in reports:
        if r.meta.township:
            by_name.setdefault(r.meta.township, []).append(r)
        else:
            labels[r.id] = township_label(None, r.source)
    for township, same in by_name.items():
        if len(same) == 1:
            labels[same[0].id] = township
            continue
        parts: list[list[str]] = [[] for _ in same]
        for tell in (
            lambda r: r.meta.county or "县区未知",
            lambda r: year_label(r.meta.year),
            lambda r: Path(r.source).name,
            lambda r: r.id[:8],  # one file name in two folders
        ):
            if len({tuple(p) for p in parts}) == len(same):
                break
            told = [tell(r) for r in same]
            if len(set(told)) > 1:
                for p, part in zip(parts, told, strict=True):
                    p.append(part)
        for r, p in zip(same, parts, strict=True):
            labels[r.id] = f"{township}（{'，'.join(p)}）" if p else township
    return labels


def year_label(year: int | None) -> str:
    """A report's year as answers write it: 2021年, or 年份未知."""
    return f"{year}年" if year else "年份未知"


def inline(quote: str) -> str:
    """A quotation on one line for the answer text (the citation keeps the exact text)."""
    if quote.isprintable():  # no line break of any kind (most quotes)
        return quote.strip()
    return " ".join(line.strip() for line in quote.splitlines() if line.strip())


def place(c: Citation) -> str:
    """Where a citation's report is from: county and township (or the file name)."""
    return f"{c.county or ''}{township_label(c.township, c.source)}"
