"""`fazhi ingest / reports / remove` end to end: real files, real Chroma in a temp folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.conftest import SAMPLE_TOWNSHIPS
from tests.fixture_files import (
    make_binary_junk,
    make_corrupt_docx,
    make_docx,
    make_docx_bomb,
    make_empty,
    make_pdf_bomb,
    make_scanned_pdf,
    sample_paths,
    sample_text,
)

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args))
    # --json output is parsed from stdout alone, as a script would; messages go to stderr
    return result.exit_code, result.stdout if "--json" in args else result.output


def reports_json(store: Path) -> list[dict]:
    code, output = run("reports", "--json", "--store", str(store))
    assert code == 0, output
    return json.loads(output)


def test_reports_lists_all_five_samples_with_metadata_and_sections(sample_store_dir):
    rows = {row["township"]: row for row in reports_json(sample_store_dir)}
    assert set(rows) == set(SAMPLE_TOWNSHIPS)
    assert rows["石桥镇"]["county"] == "宝丰县"
    assert rows["石桥镇"]["province"] == "河南省"
    assert rows["西联镇"]["province"] == "广东省"
    assert rows["王场镇"]["year"] == 2021
    for row in rows.values():
        assert {"township", "county", "province", "year", "source", "sections"} <= row.keys()
        assert {"problems", "plans"} <= set(row["sections"])
    assert "innovations" in rows["塘坊镇"]["sections"]


def test_reports_table_is_readable(sample_store_dir):
    code, output = run("reports", "--store", str(sample_store_dir))
    assert code == 0
    for township in SAMPLE_TOWNSHIPS:
        assert township in output


def test_reingest_unchanged_is_a_noop_and_changed_file_replaces(tmp_path):
    store = tmp_path / "store"
    report = tmp_path / "in" / "shiqiao.txt"
    report.parent.mkdir()
    report.write_text(sample_text(2), encoding="utf-8")

    code, output = run("ingest", str(report), "--store", str(store), "--json")
    assert code == 0, output
    first = json.loads(output)
    assert first["added"] == 1 and first["passages"] > 5

    code, output = run("ingest", str(report), "--store", str(store), "--json")
    assert json.loads(output)["unchanged"] == 1
    assert len(reports_json(store)) == 1

    report.write_text(
        sample_text(2).replace("159名法律明白人", "180名法律明白人"), encoding="utf-8"
    )
    code, output = run("ingest", str(report), "--store", str(store), "--json")
    assert json.loads(output)["replaced"] == 1
    rows = reports_json(store)
    assert len(rows) == 1, "the old version must be gone, not kept beside the new one"
    assert rows[0]["passages"] == first["files"][0]["passages"]

    from app.services import open_store
    from app.settings import Settings

    texts = [p.text for p in open_store(Settings(store=store)).passages()]
    assert any("180名法律明白人" in t for t in texts)
    assert not any("159名法律明白人" in t for t in texts)
    assert len(texts) == rows[0]["passages"]


def test_remove_deletes_a_report_completely(tmp_path):
    store = tmp_path / "store"
    folder = tmp_path / "in"
    folder.mkdir()
    for i in (1, 4):
        shutil.copy(sample_paths()[i], folder)
    assert run("ingest", str(folder), "--store", str(store))[0] == 0
    rows = {r["township"]: r for r in reports_json(store)}
    code, output = run("remove", rows["塘坊镇"]["id"][:8], "--store", str(store))
    assert code == 0 and "塘坊镇" in output
    assert [r["township"] for r in reports_json(store)] == ["万灵镇"]
    from app.services import open_store
    from app.settings import Settings

    left = {p.meta["township"] for p in open_store(Settings(store=store)).passages()}
    assert left == {"万灵镇"}
    code, output = run("remove", "doesnotexist", "--store", str(store))
    assert code == 1 and "no report with id 'doesnotexist'" in output
    # the start of an id names its report from four characters on, and says so below that
    short = rows["万灵镇"]["id"][:3]
    code, output = run("show", short, "--store", str(store))
    assert code == 1 and "give at least 4 characters of the id" in output
    assert run("show", rows["万灵镇"]["id"][:4], "--store", str(store))[0] == 0


def test_bad_files_fail_one_by_one_and_the_rest_is_stored(tmp_path):
    store = tmp_path / "store"
    good = tmp_path / "batch1" / "good.txt"
    good.parent.mkdir()
    good.write_text(sample_text(0), encoding="utf-8")
    assert run("ingest", str(good), "--store", str(store))[0] == 0

    batch = tmp_path / "batch2"
    batch.mkdir()
    make_empty(batch / "empty.txt")
    make_binary_junk(batch / "junk.txt")
    make_corrupt_docx(batch / "broken.docx")
    make_scanned_pdf(batch / "scan.pdf")
    (batch / "table.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    make_docx(sample_text(3), batch / "xilian.docx")
    big = batch / "big.txt"
    big.write_text(sample_text(4) * 8, encoding="utf-8")
    shutil.copy(good, batch / "good-again.txt")

    code, output = run(
        "ingest", str(batch), str(good), "--store", str(store), "--max-bytes", "60000"
    )
    assert code == 1, "a failed file makes the exit status non-zero"
    lines = output.splitlines()

    def line_for(name: str) -> str:
        hits = [line for line in lines if name in line]
        assert hits, f"no line names {name}:\n{output}"
        return hits[0]

    assert "empty" in line_for("empty.txt")
    assert "failed" in line_for("junk.txt")
    assert "docx" in line_for("broken.docx")
    assert "OCR" in line_for("scan.pdf") or "text layer" in line_for("scan.pdf")
    assert "unsupported" in line_for("table.xls")
    assert "limit" in line_for("big.txt") or "max" in line_for("big.txt")
    rows = reports_json(store)
    assert sorted(r["township"] for r in rows) == ["王场镇", "西联镇"], (
        "stored once each, none lost"
    )


def test_unknown_township_is_stored_with_a_warning_and_shown_as_unknown(tmp_path):
    store = tmp_path / "store"
    path = tmp_path / "notes.txt"
    path.write_text(
        "年度工作总结\n\n" + "依法行政，开展普法宣传，化解矛盾纠纷。" * 8, encoding="utf-8"
    )
    code, output = run("ingest", str(path), "--store", str(store))
    assert code == 0
    assert "township not found" in output and "notes.txt.meta.json" in output
    rows = reports_json(store)
    assert rows[0]["township"] is None and rows[0]["year"] is None
    code, table = run("reports", "--store", str(store))
    assert "未知" in table


def test_store_refuses_another_embedding_model(sample_store_dir, monkeypatch):
    monkeypatch.setenv("FAZHI_EMBEDDING_MODEL", "/nonexistent/bge-small-zh-v1.5")
    code, output = run("reports", "--store", str(sample_store_dir))
    assert code == 1
    assert "other settings" in output and "embedding_model" in output and "--rebuild" in output


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--year", "2021", "--years", "2020-2022"], "give either --year or --years"),
        (["--years", "2021到"], "--years takes a range like 2021-2023"),
        (["--section", "problem"], "unknown section type 'problem'"),
        (["--province", "浙江"], "unknown province '浙江'"),
    ],
)
def test_ask_rejects_bad_filters_clearly(sample_store_dir, flags, message):
    code, output = run("ask", "法律顾问", "--store", str(sample_store_dir), *flags)
    assert code == 1
    assert f"Error: {message}" in output


def test_show_prints_the_text_citations_point_into(sample_store_dir):
    result = runner.invoke(
        cli, ["ask", "石桥镇有多少名法律明白人？", "--json", "--store", str(sample_store_dir)]
    )
    citation = json.loads(result.stdout)["citations"][0]
    code, output = run(
        "show", citation["report_id"][:8], "--json", "--store", str(sample_store_dir)
    )
    assert code == 0
    report = json.loads(output)
    assert report["text"][citation["start"] : citation["end"]] == citation["text"]
    assert any(s["type"] == "problems" for s in report["section_spans"])


def test_a_missing_path_fails_and_a_copy_says_what_it_duplicates(tmp_path):
    store = tmp_path / "store"
    good = tmp_path / "a.txt"
    good.write_text(sample_text(1), encoding="utf-8")
    assert run("ingest", str(good), "--store", str(store))[0] == 0
    copy = tmp_path / "b.txt"
    copy.write_text(sample_text(1), encoding="utf-8")
    code, output = run("ingest", str(copy), str(tmp_path / "typo"), "--store", str(store), "--json")
    assert code == 1, "a path that does not exist is an error"
    files = {Path(f["path"]).name: f for f in json.loads(output)["files"]}
    assert files["typo"]["status"] == "failed" and "no such file" in files["typo"]["reason"]
    assert files["b.txt"]["status"] == "unchanged"
    assert str(good.resolve()) in files["b.txt"]["reason"]


def test_two_reports_of_one_township_and_year_are_flagged_for_review(tmp_path):
    """The same report from two sites (one figure edited) is stored twice: ingest warns, and
    both need review until one is removed."""
    store = tmp_path / "store"
    text = sample_text(1)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "report.txt").write_text(text, encoding="utf-8")
    assert run("ingest", str(tmp_path / "a"), "--store", str(store))[0] == 0
    other = tmp_path / "b.txt"
    other.write_text(text.replace("。", "；", 1), encoding="utf-8")
    code, output = run("ingest", str(other), "--store", str(store), "--json")
    assert code == 0, output
    assert json.loads(output)["needs_review"] == 1
    [result] = json.loads(output)["files"]
    assert result["status"] == "added"
    assert result["same_township_year_files"] == [str((tmp_path / "a" / "report.txt").resolve())]
    [first] = [r for r in reports_json(store) if r["id"] != result["report_id"]]
    assert result["same_township_year"] == [first["id"]]
    code, output = run("reports", "--needs-review", "--json", "--store", str(store))
    rows = json.loads(output)
    assert len(rows) == 2 and all("same township and year" in r["review_reason"] for r in rows)
    assert {r["same_township_year"][0] for r in rows} == {r["id"] for r in rows}
    assert run("remove", rows[0]["id"], "--store", str(store))[0] == 0
    assert json.loads(run("reports", "--needs-review", "--json", "--store", str(store))[1]) == []


def test_two_copies_in_one_batch_flag_each_other(tmp_path, monkeypatch):
    """Both files of one batch are the same township's same year: each names the other, and
    again when the folder is ingested again."""
    import vectorstore.store as store_module

    monkeypatch.setattr(store_module, "NAMES_PER_QUERY", 1)  # one query per township
    folder = tmp_path / "in"
    folder.mkdir()
    text = sample_text(2)
    (folder / "county.txt").write_text(text, encoding="utf-8")
    (folder / "township.txt").write_text(text.replace("。", "；", 1), encoding="utf-8")
    (folder / "other.txt").write_text(sample_text(4), encoding="utf-8")
    code, output = run("ingest", str(folder), "--store", str(tmp_path / "store"), "--json")
    assert code == 0, output
    summary = json.loads(output)
    files = {Path(f["path"]).name: f for f in summary["files"]}
    assert [Path(p).name for p in files["county.txt"]["same_township_year_files"]] == [
        "township.txt"
    ]
    assert [Path(p).name for p in files["township.txt"]["same_township_year_files"]] == [
        "county.txt"
    ]
    assert files["other.txt"]["same_township_year"] == []
    assert summary["needs_review"] == 2
    code, output = run("ingest", str(folder), "--store", str(tmp_path / "store"), "--json")
    again = json.loads(output)
    assert {f["status"] for f in again["files"]} == {"unchanged"}
    assert again["needs_review"] == 2


@pytest.mark.parametrize(
    "command", [["reports"], ["ask", "哪些镇提到普法？"], ["show", "abcd"], ["coverage", "宝丰县"]]
)
def test_a_mistyped_store_is_an_error_and_not_made(tmp_path, command):
    typo = tmp_path / "stor"
    code, output = run(*command, "--store", str(typo))
    assert code == 1 and f"no store at {typo}" in output
    assert not typo.exists()


def test_ask_rejects_an_empty_question(sample_store_dir):
    code, output = run("ask", "  ", "--store", str(sample_store_dir))
    assert code == 1 and "the question is empty" in output


def test_reading_the_whole_store_pages_through_chroma(sample_store, monkeypatch):
    import vectorstore.store as store_module

    everything = sample_store.passages(with_embeddings=True)
    monkeypatch.setattr(store_module, "GET_PAGE", 7)  # force many pages on the small store
    paged = store_module._get_all(sample_store._passages, None, ["documents"], page=7)
    assert sorted(paged["ids"]) == sorted(p.id for p in everything)
    assert len(paged["documents"]) == len(everything) == sample_store.count_passages()


def test_models_build_verifies_the_offline_model(embeddings):
    result = CliRunner().invoke(cli, ["models", "build"])
    assert result.exit_code == 0, result.output
    assert "verified against its sha256 manifest" in result.stdout


def test_models_build_names_a_model_that_cannot_load(tmp_path, monkeypatch):
    monkeypatch.setenv("FAZHI_EMBEDDING_MODEL", str(tmp_path / "no-such-model"))
    result = CliRunner().invoke(cli, ["models", "build"])
    assert result.exit_code == 1
    assert "Error: cannot load sentence-transformers" in result.output
    assert "no-such-model" in result.output


def test_a_copy_in_the_same_batch_is_stored_once(tmp_path):
    store = tmp_path / "store"
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(sample_text(1), encoding="utf-8")
    (tmp_path / "c.txt").write_text(sample_text(2), encoding="utf-8")
    code, output = run("ingest", str(tmp_path), "--store", str(store), "--json")
    assert code == 0, output
    files = {Path(f["path"]).name: f for f in json.loads(output)["files"]}
    assert [files[n]["status"] for n in ("a.txt", "b.txt", "c.txt")] == [
        "added",
        "unchanged",
        "added",
    ]
    assert str((tmp_path / "a.txt").resolve()) in files["b.txt"]["reason"]
    code, output = run("reports", "--store", str(store), "--json")
    assert sorted(r["township"] for r in json.loads(output)) == ["塘坊镇", "石桥镇"]


# Runs a command and prints its exit status, output and peak memory: the wrapper's only child
# is the command, so RUSAGE_CHILDREN is that process's own peak (in KiB on Linux).
_PEAK_RSS = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
                  "peak_mib": peak / 1024}))
"""


def test_zip_and_pdf_bombs_fail_alone_and_the_ingest_stays_small(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "shiqiao.txt").write_text(sample_text(2), encoding="utf-8")
    make_docx_bomb(folder / "bomb.docx", 300_000_000)
    make_docx_bomb(folder / "liar.docx", 300_000_000, declared=20_000)
    make_pdf_bomb(folder / "bomb.pdf", 300_000_000)
    fazhi = Path(sys.executable).with_name("fazhi")
    store = tmp_path / "store"
    command = [str(fazhi), "ingest", str(folder), "--store", str(store), "--json"]
    measured = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, *command],
        capture_output=True,
        text=True,
        check=True,
    )
    ingest_run = json.loads(measured.stdout)
    assert ingest_run["code"] == 1, ingest_run["stderr"]
    files = {Path(f["path"]).name: f for f in json.loads(ingest_run["stdout"])["files"]}
    assert files["shiqiao.txt"]["status"] == "added"
    assert files["bomb.docx"]["status"] == "failed"
    assert "word/document.xml expands to 286.1 MB (limit 200.0 MB" in files["bomb.docx"]["reason"]
    assert files["liar.docx"]["status"] == "failed"
    assert "word/document.xml expands beyond 200.0 MB" in files["liar.docx"]["reason"]
    assert files["bomb.pdf"]["status"] == "failed"
    assert "expands beyond 200.0 MB" in files["bomb.pdf"]["reason"]
    assert [r["township"] for r in reports_json(store)] == ["石桥镇"]
    assert ingest_run["peak_mib"] < 1536, f"ingest peaked at {ingest_run['peak_mib']:.0f} MiB"


def test_symlink_loops_fail_one_by_one_and_the_batch_is_stored(tmp_path):
    store = tmp_path / "store"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "shiqiao.txt").write_text(sample_text(2), encoding="utf-8")
    (folder / "a.txt").symlink_to("b.txt")
    (folder / "b.txt").symlink_to("a.txt")
    (folder / "old").mkdir()
    (folder / "old" / "again").symlink_to("../../in", target_is_directory=True)
    (folder / "moved.docx").symlink_to("/nonexistent/moved.docx")

    result = runner.invoke(cli, ["ingest", str(folder), "--store", str(store)])
    assert result.exit_code == 1, "a link that cannot be followed is a failure"
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    failed = [line for line in result.output.splitlines() if line.startswith("failed")]
    assert len(failed) == 4, result.output
    for name in ("a.txt", "b.txt", "again"):
        assert any(name in line and "symlink loop" in line for line in failed), result.output
    assert any("moved.docx" in line and "broken symlink" in line for line in failed)
    assert [r["township"] for r in reports_json(store)] == ["石桥镇"]


def test_plain_output_says_which_file_a_copy_duplicates(tmp_path):
    store = tmp_path / "store"
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.txt", "b.txt"):
        (folder / name).write_text(sample_text(1), encoding="utf-8")
    code, output = run("ingest", str(folder), "--store", str(store))
    assert code == 0, output
    lines = [line for line in output.splitlines() if "b.txt" in line]
    assert len(lines) == 1, output
    assert lines[0].startswith("unchanged")
    assert "same text as" in lines[0] and str((folder / "a.txt").resolve()) in lines[0]

    copy = tmp_path / "later" / "c.txt"
    copy.parent.mkdir()
    copy.write_text(sample_text(1), encoding="utf-8")
    code, output = run("ingest", str(copy), "--store", str(store))
    assert code == 0
    assert f"unchanged {copy}: same text as" in output


def test_a_file_changed_into_a_copy_of_another_leaves_no_old_version(tmp_path):
    store = tmp_path / "store"
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "b.txt").write_text(sample_text(1), encoding="utf-8")  # 塘坊镇
    (folder / "c.txt").write_text(sample_text(1), encoding="utf-8")  # a copy of b.txt
    code, output = run("ingest", str(folder), "--store", str(store))
    assert code == 0, output
    # b.txt now holds what a new a.txt (read first) holds: b's old text lives on in c.txt only
    (folder / "a.txt").write_text(sample_text(2), encoding="utf-8")  # 石桥镇
    (folder / "b.txt").write_text(sample_text(2), encoding="utf-8")
    code, output = run("ingest", str(folder), "--store", str(store), "--json")
    assert code == 0, output
    rows = reports_json(store)
    assert sorted((r["township"], Path(r["source"]).name) for r in rows) == [
        ("塘坊镇", "c.txt"),
        ("石桥镇", "a.txt"),
    ]
