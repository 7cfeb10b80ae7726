"""From a retrieved passage to what an answer shows of it: the citation, the report's name, the quote."""

from __future__ import annotations

from collections import Counter

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
    """How answers name each report: its township, with the year when a township has several
    reports in scope, or the file name when the township is unknown."""
    townships = [r.meta.township for r in reports]
    counts = Counter(townships)
    labels = {}
    for r, township in zip(reports, townships, strict=True):
        if not township:
            labels[r.id] = township_label(None, r.source)
        elif counts[township] > 1:
            labels[r.id] = f"{township}（{r.meta.year or '年份未知'}年）"
        else:
            labels[r.id] = township
    return labels


def inline(quote: str) -> str:
    """A quotation on one line for the answer text (the citation keeps the exact text)."""
    if quote.isprintable():  # no line break of any kind (most quotes)
        return quote.strip()
    return " ".join(line.strip() for line in quote.splitlines() if line.strip())


def place(c: Citation) -> str:
    """Where a citation's report is from: county and township (or the file name)."""
    return f"{c.county or ''}{township_label(c.township, c.source)}"
