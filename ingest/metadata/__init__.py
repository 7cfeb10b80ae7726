"""Per-report metadata: township, county, city, province, year, publication date, title, kind.

Read from every clue a report carries, strongest first: its title, the web page around it
(<title>, breadcrumb, meta tags), its body, its signature, its file and folder names, its
publication date. Each field records where it came from and how sure that is
(`ReportMeta.sources`, `ReportMeta.certainty`); what cannot be settled is left unknown and the
report needs review. A sidecar `<file>.meta.json` or a `manifest.csv` row overrides any field.

- title.py: the title and the kind of report
- places.py: township, county, city, province (checked in ingest/gazetteer.py)
- dates.py: the year reported on and the publication date
- traditional.py: 繁體 reports matched in simplified characters
- overrides.py: sidecars and manifest rows
"""

from __future__ import annotations

from pathlib import Path

from ingest.metadata.dates import (
    arabic_years,
    publication_date,
    year_from_published,
    year_in_body,
    year_in_file_name,
    year_in_title,
)
from ingest.metadata.overrides import MetadataOverride, apply_override, read_override
from ingest.metadata.places import FIX_HINT, Clue, is_site_name, read_places
from ingest.metadata.title import find_title, header_lines, page_title, report_kind
from ingest.metadata.traditional import simplified
from ingest.model import ReportMeta

__all__ = [
    "MetadataOverride",
    "apply_override",
    "extract_metadata",
    "find_title",
    "header_lines",
    "read_override",
]

_SIGNATURE_LINES = 4
_SIGNATURE_CHARS = 30  # a signature line: 石桥镇人民政府, a date


def extract_metadata(
    text: str,
    *,
    raw_text: str | None = None,
    title_hint: str | None = None,
    published_hint: str | None = None,
    source_name: str = "report",
    source: Path | None = None,
    page_clues: list[str] | None = None,
) -> ReportMeta:
    """Read metadata off a cleaned report text; warnings say what could not be determined.

    `source` is the file (its name and folder are clues), `title_hint` the page's <title>,
    `page_clues` its breadcrumb and meta tags."""
    meta = ReportMeta()
    name = source.name if source is not None else source_name
    lines = header_lines(text)
    title = find_title(lines)
    meta.title = title or page_title(title_hint)
    meta.kind = report_kind(meta.title)
    if meta.title:
        meta.sources["title"] = "title" if title else "page"

    header = "".join(lines)
    title_clues = [Clue("title", simplified(header))] if header else []
    # the page's <title> and the other clues the page holds
    # a site's name (meta SiteName 巫溪县人民政府) is weaker, like a folder name: it narrows a shared
    # township but never overrides the county a title states
    clues = [simplified(clue) for clue in page_clues or [] if clue]
    sites = [clue for clue in clues if is_site_name(clue)]
    page = [simplified(page_title(title_hint) or ""), *(c for c in clues if c not in sites)]
    title_clues += [Clue("page", clue) for clue in page if clue]
    signature = "\n".join(
        line
        for line in text.strip().split("\n")[-_SIGNATURE_LINES:]
        if len(line.strip()) <= _SIGNATURE_CHARS and not any(p in line for p in "。，,；")
    )
    title_clues.append(Clue("signature", simplified(signature)))
    other_clues = [Clue("page", site) for site in sites]
    site = (title_hint or "").replace(page_title(title_hint) or "", "")
    if site.strip(" _-|｜—"):  # the site's name after the <title> (…_武冈市人民政府)
        other_clues.append(Clue("page", simplified(site)))
    if source is not None:
        other_clues.append(Clue("file name", simplified(Path(source).stem)))
        other_clues += [Clue("folder", simplified(part)) for part in _folders(source)]
    else:
        other_clues.append(Clue("file name", simplified(Path(source_name).stem)))
    body_start = _offset_after_lines(text, len(lines))
    body = simplified(text[body_start : body_start + 3000])
    read_places(meta, title_clues, other_clues, body, name)

    meta.published = publication_date(raw_text or text, published_hint)
    _read_year(meta, header, page, body, other_clues)
    if meta.year is None:
        meta.warnings.append("year reported on not found; " + FIX_HINT.format(name=name))
    return meta


def _read_year(
    meta: ReportMeta, header: str, page: list[str], body: str, files: list[Clue]
) -> None:
    readings = [
        (year_in_title(meta.title if meta.sources.get("title") == "title" else header), "title"),
        *((year_in_title(clue), "page") for clue in page if _names_report(clue)),
    ]
    for year, where in readings:
        if year:
            meta.year, meta.sources["year"], meta.certainty["year"] = year, where, "sure"
            return
    year = year_in_body(body)
    if year:
        meta.year, meta.sources["year"], meta.certainty["year"] = year, "body", "likely"
        return
    for clue in files:
        year = year_in_file_name(arabic_years(clue.text))
        if year:
            meta.year, meta.sources["year"], meta.certainty["year"] = year, clue.source, "likely"
            return
    reading = year_from_published(meta.published)
    if reading:
        meta.year, meta.sources["year"], meta.certainty["year"] = reading
        if reading[2] == "uncertain":
            meta.warnings.append(
                f"year reported on guessed from the publication date {meta.published}; check it"
            )


def _offset_after_lines(text: str, count: int) -> int:
    """Where the body starts: after the first `count` non-empty lines."""
    offset = 0
    for line in text.split("\n"):
        if count == 0:
            break
        offset += len(line) + 1
        count -= bool(line)
    return min(offset, len(text))


def _names_report(clue: str) -> bool:
    return any(word in clue for word in ("报告", "法治", "述法", "述职"))


def _folders(source: Path, depth: int = 2) -> list[str]:
    """The names of the folders just above the file (a user's 宝丰县/石桥镇 layout)."""
    return [part for part in Path(source).parent.parts[-depth:] if part not in ("/", "")]
