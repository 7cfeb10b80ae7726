"""Reports needing review, end to end: `fazhi ingest` counts them, `fazhi reports --needs-review`
lists exactly those, and answers name them by their file, never by a guessed township."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.answering import report_labels
from app.cli import cli
from bench.metadata import load_cases
from ingest.clean import clean_text
from ingest.model import ReportMeta
from tests.fixture_files import make_docx
from vectorstore.store import StoredReport

runner = CliRunner()


def _corpus(folder: Path) -> set[str]:
    """110+ report files from the benchmark's cases, as .txt, .md and .docx under their own
    names and folders; returns the paths of those that need review."""
    needs_review: set[str] = set()
    seen: set[str] = set()
    cases = [c for c in load_cases() if not (c["title_hint"] or c["page_clues"] or c["published"])]
    for i, case in enumerate(cases):
        text = clean_text(case["text"])  # two files with one text are one report
        if text in seen:
            continue
        seen.add(text)
        name = Path(case["file"])
        # web pages and plain text become .txt, .md or .docx in turn; .docx names stay .docx
        suffix = name.suffix if name.suffix == ".docx" else (".txt", ".md", ".docx")[i % 3]
        name = name.with_suffix(suffix)
        if name.name == "report.txt":
            name = name.with_name(f"report-{case['id']}{suffix}")
        path = folder / case["id"] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".docx":
            make_docx(case["text"], path)
        else:
            path.write_text(case["text"], encoding="utf-8")
        if case["expect"]["needs_review"]:
            needs_review.add(str(path.resolve()))
    return needs_review


def test_ingest_counts_and_reports_lists_exactly_the_reports_needing_review(tmp_path):
    folder = tmp_path / "reports"
    expected = _corpus(folder)
    files = list(folder.rglob("*.*"))
    assert len(files) >= 100 and len(expected) >= 20
    store = str(tmp_path / "store")

    result = runner.invoke(cli, ["ingest", str(folder), "--store", store, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["added"] == len(files)

    result = runner.invoke(cli, ["reports", "--needs-review", "--json", "--store", store])
    rows = json.loads(result.stdout)
    # ingest counts what `reports --needs-review` lists: these and the twins below
    assert summary["needs_review"] == len(rows) > len(expected)
    # the corpus holds one report in several files (docx and txt of 石桥镇 2023): each such
    # report needs review too, until one is removed
    twins = [row for row in rows if row["review_reason"].startswith("same township and year")]
    assert {row["source"] for row in rows if row not in twins} == expected
    for row in rows:
        assert row["needs_review"]
        assert row in twins or not row["township"] or row["warnings"]
    assert all(row["same_township_year"] for row in twins)

    table = runner.invoke(cli, ["reports", "--needs-review", "--store", store]).output
    assert f"{len(rows)} report(s) need review" in table and "未识别" in table

    # a second ingest of the same folder changes nothing and says the same, also to a person
    again = runner.invoke(cli, ["ingest", str(folder), "--store", store, "--json"])
    assert json.loads(again.stdout)["unchanged"] == len(files)
    assert json.loads(again.stdout)["needs_review"] == len(rows)
    said = runner.invoke(cli, ["ingest", str(folder), "--store", store]).output
    assert f"{len(rows)} report(s) need review" in said


def test_an_unidentified_report_is_named_by_its_file():
    def stored(rid: str, township: str | None, source: str) -> StoredReport:
        meta = ReportMeta(township=township, year=2023)
        return StoredReport(rid, source, "txt", meta, [], 1, "")

    labels = report_labels(
        [stored("a", None, "/in/石桥2023.docx"), stored("b", "龙颈镇", "/in/b.txt")]
    )
    assert labels == {"a": "未识别乡镇（石桥2023.docx）", "b": "龙颈镇"}


def test_reingesting_an_unchanged_report_fills_in_where_its_fields_came_from(fresh_store, tmp_path):
    """A store made before fazhi recorded sources and certainty gets them on the next ingest,
    without re-embedding a report whose metadata values are unchanged."""
    from tests.conftest import ingest_into
    from tests.fixture_files import sample_text

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "shiqiao.txt").write_text(sample_text(2), encoding="utf-8")
    ingest_into(fresh_store, folder)
    (report,) = fresh_store.list_reports()
    assert report.meta.sources["township"] == "title"
    old = fresh_store._reports.get(ids=[report.id], include=["metadatas"])["metadatas"][0]
    fresh_store._reports.update(ids=[report.id], metadatas=[{**old, "sources": "{}"}])
    assert fresh_store.get_report(report.id).meta.sources == {}

    summary = ingest_into(fresh_store, folder)
    assert summary.count("unchanged") == 1 and summary.passages == 0
    assert fresh_store.get_report(report.id).meta.sources["township"] == "title"
    assert fresh_store.list_reports()[0].meta.sources["county"] in ("title", "gazetteer")


def test_why_a_report_needs_review_is_said_once_for_every_view():
    from ingest.model import ReportMeta

    meta = ReportMeta(township=None, year=2023, warnings=["township not found; fix it with …"])
    assert meta.needs_review and meta.review_reason == "township not found"
    assert ReportMeta(township="石桥镇", year=2023).review_reason == ""
    uncertain = ReportMeta(township="石桥镇", year=2023, certainty={"year": "uncertain"})
    assert uncertain.review_reason == "township or year unknown or uncertain"
