"""Metadata benchmark: township, county, province and year read off real report openings.

The cases (tests/data/metadata_cases.jsonl) are title/opening forms read on township report pages
from every province, written for this benchmark: party committee and government together,
district government + 街道办事处, year first, body-only openings with the township in the file
name or page clues, 繁體, 述法/述职, 苏木 and 民族乡, names several counties share, names newer
than the 2023 gazetteer, and scaffolding traps. Each goes through ingest's real path
(`report_from_document`). Prints per-field accuracy where the case states the field, unknowns
kept unknown, review flags and invented townships (a township the text does not name).

    python bench/metadata.py            # summary
    python bench/metadata.py --misses   # and every case that got a field wrong
    python bench/metadata.py --sample 1500   # also: random gazetteer townships in 6 title forms

`--sample N` puts N townships drawn at random from the whole gazetteer (seeded) into six common
openings with their county, and counts those read back wrong: the rules on names nobody chose.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.model import LoadedDocument, ReportMeta
from ingest.pipeline import report_from_document

CASES = Path(__file__).resolve().parent.parent / "tests" / "data" / "metadata_cases.jsonl"
FIELDS = ("township", "county", "province", "year")


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def read_case(case: dict[str, Any]) -> ReportMeta:
    """The metadata ingest reads for one case, built as the web-page or file loader would."""
    source = Path("/reports") / case["file"]
    document = LoadedDocument(
        source=source,
        text=case["text"],
        format=source.suffix.lstrip(".") or "txt",
        title_hint=case.get("title_hint"),
        published_hint=case.get("published"),
        page_clues=list(case.get("page_clues") or []),
    )
    return report_from_document(document).meta


@dataclass
class Score:
    cases: int = 0
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    stated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    kept_unknown: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    unstated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    review_right: int = 0
    invented: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def accuracy(self, name: str) -> float:
        return self.right[name] / self.stated[name] if self.stated[name] else 1.0


def score(cases: list[dict[str, Any]]) -> Score:
    result = Score()
    for case in cases:
        meta = read_case(case)
        expect = case["expect"]
        result.cases += 1
        wrong = []
        for name in FIELDS:
            got, want = getattr(meta, name), expect[name]
            if want is None:
                result.unstated[name] += 1
                result.kept_unknown[name] += got is None
            else:
                result.stated[name] += 1
                result.right[name] += got == want
            if got != want:
                wrong.append(f"{name}: got {got!r}, want {want!r}")
        if meta.needs_review == expect["needs_review"]:
            result.review_right += 1
        else:
            wrong.append(f"needs_review: got {meta.needs_review}, want {expect['needs_review']}")
        if meta.township and meta.township != expect["township"]:
            result.invented.append(f"{case['id']} {meta.township!r} ({case['form']})")
        if wrong:
            result.misses.append(f"{case['id']} [{case['form']}] " + "; ".join(wrong))
    return result


SAMPLE_FORMS = (
    "{c}{t}人民政府关于{y}年度法治政府建设情况的报告\n{y}年，{t}坚持依法行政，扎实推进法治政府建设工作。",
    "中共{c}{t}委员会 {c}{t}人民政府关于{y}年法治政府建设情况的报告\n{y}年，{t}党委政府坚持依法行政。",
    "{y}年度{t}法治政府建设情况报告\n在{c}委的领导下，{t}坚持依法行政，扎实推进法治政府建设工作。",
    "{t}{y}年法治政府建设年度报告\n{y}年，{t}深入学习贯彻习近平法治思想，扎实推进法治政府建设。",
    "{c}人民政府{t}办事处关于{y}年度法治政府建设情况的报告\n{y}年，{t}坚持依法行政，扎实推进法治政府建设。",
    "{y}年，{c}{t}坚持以习近平法治思想为指导，扎实推进法治政府建设，现将有关情况报告如下：",
)
SAMPLE_END = "\n一、主要工作\n（一）强化组织领导。全年开展普法活动12场，化解矛盾纠纷46件，发放宣传资料3000份。\n"


def sample(n: int, seed: int = 11) -> tuple[int, int, list[str]]:
    """(right, unknown, wrong) over `n` random gazetteer townships in SAMPLE_FORMS."""
    from ingest.gazetteer import gazetteer

    g = gazetteer()
    rng = random.Random(seed)
    codes = sorted(code for code in g._names if len(code) == 9)
    right, unknown, wrong = 0, 0, []
    for _ in range(n):
        place = g.place(rng.choice(codes))
        year = rng.randrange(2019, 2026)
        form = rng.choice(SAMPLE_FORMS)
        text = form.format(c=place.county, t=place.name, y=year) + SAMPLE_END
        doc = LoadedDocument(source=Path("/reports/r.txt"), text=text, format="txt")
        meta = report_from_document(doc).meta
        # a form that does not name the county cannot settle a name several counties share
        named = [
            p for p in g.townships(place.name) if "{c}" not in form or p.county == place.county
        ]
        shared = len(named) > 1  # 市中区永安镇: two cities have a 市中区 with a 永安镇
        county = None if shared else place.county
        if (meta.township, meta.county, meta.year) == (place.name, county, year):
            right += 1
        elif meta.township is None and meta.needs_review:
            unknown += 1
        else:
            wrong.append(f"{place.county}{place.name} {year}: read {meta.township} {meta.county}")
    return right, unknown, wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every case with a miss")
    parser.add_argument("--sample", type=int, default=0, help="random gazetteer townships")
    args = parser.parse_args()
    cases = load_cases()
    result = score(cases)
    provinces = {c["expect"]["province"] for c in cases if c["expect"]["province"]}
    print(f"{result.cases} cases, {len(provinces)} provinces ({CASES.name})")
    print(f"{'field':<10}{'right where stated':>22}{'unknown kept unknown':>24}")
    for name in FIELDS:
        print(
            f"{name:<10}{result.right[name]:>10}/{result.stated[name]:<4}"
            f"{result.accuracy(name):>7.1%}"
            f"{result.kept_unknown[name]:>14}/{result.unstated[name]}"
        )
    print(f"needs review flag right: {result.review_right}/{result.cases}")
    print(f"invented or wrong townships: {len(result.invented)}")
    for line in result.invented:
        print("  " + line)
    if args.misses:
        for line in result.misses:
            print("  miss " + line)
    if args.sample:
        right, unknown, wrong = sample(args.sample)
        print(
            f"random gazetteer townships: {right}/{args.sample} right, {unknown} left unknown "
            f"(flagged), {len(wrong)} wrong"
        )
        for line in wrong:
            print("  wrong " + line)


if __name__ == "__main__":
    main()
