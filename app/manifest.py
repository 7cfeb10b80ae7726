"""Every stored report's metadata as a `manifest.csv` that ingest reads back.

Columns are the manifest reader's keys (ingest/metadata/overrides.py): `file` (the file's name,
which ingest matches against the files in the manifest's own folder), then township, county,
city, province, year, published, title, kind. A field fazhi is unsure of ("uncertain") is left
blank, so that exporting and re-ingesting never turns a guess into a user's statement; fill it
in (or fix it with `fazhi meta`) and the report no longer needs review.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import TextIO

from ingest.metadata.overrides import EDITABLE_FIELDS
from vectorstore import StoredReport

__all__ = ["MANIFEST_COLUMNS", "shared_file_names", "write_manifest"]

MANIFEST_COLUMNS = ("file", *EDITABLE_FIELDS)


def manifest_row(report: StoredReport) -> dict[str, str]:
    meta = report.meta
    row = {"file": Path(report.source).name}
    for key in EDITABLE_FIELDS:
        value = getattr(meta, key)
        unsure = meta.certainty.get(key) == "uncertain"
        row[key] = "" if value is None or unsure else str(value)
    return row


def write_manifest(reports: list[StoredReport], out: TextIO) -> int:
    """Write one row per report, sorted by file name; returns how many rows."""
    rows = sorted((manifest_row(r) for r in reports), key=lambda row: row["file"])
    writer = csv.DictWriter(out, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return len(rows)


def shared_file_names(reports: list[StoredReport]) -> list[str]:
    """File names held by reports from different folders: one manifest cannot tell them apart
    (ingest uses the first row of a name)."""
    counts = Counter(Path(r.source).name for r in reports)
    return sorted(name for name, n in counts.items() if n > 1)
