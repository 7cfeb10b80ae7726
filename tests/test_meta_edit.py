"""Fixing metadata where you see it: `fazhi meta` checks an edit against the gazetteer, applies
it to the report and every passage at once (answers, filters, the matrix, `fazhi reports`), and
the edit survives ingesting the same folder again; `fazhi reports --manifest` round-trips."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.answering import AnswerService, Filters
from app.cli import cli
from app.compare import compare
from app.services import open_store
from app.settings import Settings
from tests.fixture_files import sample_text
from vectorstore import Scope

runner = CliRunner()

# a report saved without its title: metadata cannot name its township
UNTITLED = """2025年，镇党委、镇政府坚持以习近平法治思想为指导，深入推进法治政府建设。
一、2025年主要工作及成效
（一）加强普法宣传。全年开展普法宣传讲座十二场，覆盖群众三千余人次，发放宣传资料五千余份。
（二）推进依法决策。重大行政决策全部经过合法性审查，聘请法律顾问参与镇重大事项。
二、存在的问题
普法宣传的形式还不够丰富，基层干部运用法治思维解决问题的能力有待提升。
三、下一步打算
继续加强普法宣传教育，创新宣传形式，提升依法行政水平。
"""


def cli_json(*args: str) -> object:
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "untitled.txt").write_text(UNTITLED, encoding="utf-8")
    (folder / "shiqiao.txt").write_text(sample_text(2), encoding="utf-8")
    return folder


def ingested(corpus: Path, tmp_path: Path) -> tuple[str, str]:
    """Ingest `corpus` into a store of the test's own; (store, the untitled report's id)."""
    store = str(tmp_path / "store")
    assert cli_json("ingest", str(corpus), "--store", store)["added"] == 2
    (untitled,) = cli_json("reports", "--needs-review", "--store", store)
    assert Path(untitled["source"]).name == "untitled.txt" and untitled["township"] is None
    return store, untitled["id"]


def test_an_edit_shows_everywhere_and_survives_ingesting_the_folder_again(
    corpus, tmp_path, embeddings
):
    store, rid = ingested(corpus, tmp_path)
    settings = Settings(_env_file=None, store=Path(store))
    service = AnswerService(open_store(settings, embeddings))  # a running service, index built
    before = service.ask("龙颈镇开展了多少场普法宣传讲座？")
    assert all(c.township != "龙颈镇" for c in before.citations)
    passages = service.store.count_passages()

    edited = cli_json("meta", rid[:8], "--township", "龙颈镇", "--year", "2025", "--store", store)
    assert edited["fields"]["township"] == {
        "value": "龙颈镇",
        "source": "edited",
        "certainty": "sure",
    }
    # county, city and province from the gazetteer (龙颈镇 is one place)
    assert edited["fields"]["county"]["value"] == "清新区"
    assert edited["fields"]["province"]["value"] == "广东省"
    assert edited["needs_review"] is False and edited["passages"] >= 3

    def everywhere_edited() -> None:
        rows = {Path(r["source"]).name: r for r in cli_json("reports", "--store", store)}
        assert rows["untitled.txt"]["township"] == "龙颈镇"
        assert rows["untitled.txt"]["county"] == "清新区"
        assert not rows["untitled.txt"]["needs_review"]
        assert cli_json("reports", "--needs-review", "--store", store) == []
        # filters: every passage carries the edit
        in_county = service.store.passages(Scope(counties=["清新区"], year_from=2025))
        assert {p.meta["report_id"] for p in in_county} == {rid}
        assert {p.meta["township"] for p in in_county} == {"龙颈镇"}
        # answers, from the service that was running before the edit
        answer = service.ask("龙颈镇开展了多少场普法宣传讲座？")
        assert answer.citations and {c.township for c in answer.citations} == {"龙颈镇"}
        assert "十二场" in answer.answer
        filtered = service.ask("普法宣传讲座", Filters(counties=["清新区"]))
        assert {c.report_id for c in filtered.citations} == {rid}
        # the matrix
        matrix = compare(service, ["普法宣传"])
        row = next(r for r in matrix.rows if r.report_id == rid)
        assert (row.township, row.county, row.year) == ("龙颈镇", "清新区", 2025)
        assert row.cells["普法宣传"].measure is not None

    everywhere_edited()

    again = cli_json("ingest", str(corpus), "--store", store)
    assert (again["unchanged"], again["added"], again["replaced"]) == (2, 0, 0)
    assert again["needs_review"] == 0 and again["passages"] == 0  # nothing embedded again
    assert len(cli_json("reports", "--store", store)) == 2
    assert service.store.count_passages() == passages
    everywhere_edited()


def test_meta_without_fields_shows_each_fields_source_and_certainty(corpus, tmp_path):
    store, _ = ingested(corpus, tmp_path)
    shiqiao = next(
        r for r in cli_json("reports", "--store", store) if r["source"].endswith("shiqiao.txt")
    )
    shown = cli_json("meta", shiqiao["id"], "--store", store)
    assert shown["fields"]["township"] == {
        "value": "石桥镇",
        "source": "title",
        "certainty": "sure",
    }
    assert shown["fields"]["year"]["value"] == 2023 and shown["edited"] == []
    table = runner.invoke(cli, ["meta", shiqiao["id"][:6], "--store", store]).output
    assert "石桥镇" in table and "title" in table and "sure" in table


def test_an_edit_the_gazetteer_contradicts_is_refused_with_near_names(corpus, tmp_path):
    store, rid = ingested(corpus, tmp_path)
    cli_json("meta", rid, "--county", "宝丰县", "--store", store)

    typo = runner.invoke(cli, ["meta", rid, "--township", "石桥真", "--store", store])
    assert typo.exit_code == 1
    assert typo.output.startswith("Error: township '石桥真' is not in the gazetteer under 宝丰县")
    assert "did you mean 石桥镇" in typo.output and "--force" in typo.output

    elsewhere = runner.invoke(cli, ["meta", rid, "--township", "新田镇", "--store", store])
    assert elsewhere.exit_code == 1 and "万州区" in elsewhere.output  # where it is, instead

    shared = runner.invoke(cli, ["meta", rid, "--county", "鼓楼区", "--store", store])
    assert shared.exit_code == 1
    assert "exists in 4 places" in shared.output and "give --city or --province" in shared.output
    # nothing was written by a refused edit
    assert cli_json("meta", rid, "--store", store)["fields"]["township"]["value"] is None

    nanjing = cli_json("meta", rid, "--county", "鼓楼区", "--city", "南京", "--store", store)
    assert nanjing["fields"]["city"]["value"] == "南京市"
    assert nanjing["fields"]["province"]["value"] == "江苏省"

    # a township created after 2023 is accepted on --force, under the county stored
    forced = cli_json("meta", rid, "--township", "新建街道", "--force", "--store", store)
    assert forced["fields"]["township"]["value"] == "新建街道"
    assert forced["fields"]["county"]["value"] == "鼓楼区"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--year", "1890"], "year '1890' is not a year between"),
        (["--published", "2024/3/15"], "is not a date like 2024-03-15"),
        (["--kind", "memo"], "kind 'memo' is not one of annual_report"),
        ([], None),
    ],
)
def test_bad_values_are_refused_and_a_bad_id_names_the_fix(corpus, tmp_path, flags, message):
    store, rid = ingested(corpus, tmp_path)
    result = runner.invoke(cli, ["meta", rid, *flags, "--store", store])
    if message is None:  # no field: the metadata is shown, nothing changes
        assert result.exit_code == 0 and "needs review" in result.output
        shown = runner.invoke(cli, ["show", rid, "--store", store]).output
        assert f"fix it with `fazhi meta {rid[:8]} --township" in shown
        missing = runner.invoke(cli, ["meta", "ffffffff", "--year", "2024", "--store", store])
        assert missing.exit_code == 1 and "`fazhi reports` lists the ids" in missing.output
        return
    assert result.exit_code == 1 and message in result.output


def test_an_edit_is_kept_when_the_file_changes_and_after_a_rebuild(corpus, tmp_path):
    store, rid = ingested(corpus, tmp_path)
    cli_json("meta", rid, "--township", "龙颈镇", "--store", store)
    (corpus / "untitled.txt").write_text(
        UNTITLED + "四、其他\n本年度无其他事项需要说明。\n", "utf-8"
    )
    changed = cli_json("ingest", str(corpus), "--store", store)
    assert changed["replaced"] == 1
    rebuilt = cli_json("ingest", str(corpus), "--store", store, "--rebuild")
    assert rebuilt["added"] == 2 and rebuilt["needs_review"] == 0
    rows = {Path(r["source"]).name: r for r in cli_json("reports", "--store", store)}
    assert rows["untitled.txt"]["id"] != rid  # a new text, the same file: still edited
    assert rows["untitled.txt"]["township"] == "龙颈镇"
    assert rows["untitled.txt"]["sources"]["township"] == "edited"


def test_the_manifest_export_is_read_back_by_ingest(corpus, tmp_path):
    store, rid = ingested(corpus, tmp_path)
    cli_json(
        "meta",
        rid,
        "--township",
        "龙颈镇",
        "--title",
        "龙颈镇2025年法治政府建设情况报告",
        "--store",
        store,
    )
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    for path in corpus.iterdir():
        shutil.copy(path, moved / path.name)
    result = runner.invoke(
        cli, ["reports", "--manifest", str(moved / "manifest.csv"), "--store", store]
    )
    assert result.exit_code == 0, result.output
    with (moved / "manifest.csv").open(encoding="utf-8") as fh:
        rows = {row["file"]: row for row in csv.DictReader(fh)}
    assert list(next(iter(rows.values()))) == [
        "file",
        "township",
        "county",
        "city",
        "province",
        "year",
        "published",
        "title",
        "kind",
    ]
    assert rows["untitled.txt"]["township"] == "龙颈镇" and rows["untitled.txt"]["year"] == "2025"

    printed = runner.invoke(cli, ["reports", "--manifest", "-", "--store", store])
    assert printed.stdout == (moved / "manifest.csv").read_text(encoding="utf-8")

    new_store = str(tmp_path / "new-store")
    assert cli_json("ingest", str(moved), "--store", new_store)["added"] == 2

    def metadata(store: str) -> dict[str, tuple]:
        keys = ("township", "county", "city", "province", "year", "published", "title", "kind")
        return {
            Path(r["source"]).name: tuple(r[k] for k in keys)
            for r in cli_json("reports", "--store", store)
        }

    assert metadata(new_store) == metadata(store)
    assert rows["shiqiao.txt"]["township"] == "石桥镇"


def test_only_the_admin_may_edit_in_the_web_app_when_one_is_set(corpus, tmp_path, embeddings):
    from types import SimpleNamespace

    from app.web.context import WebContext
    from app.web.reports import ReportsTab

    store, rid = ingested(corpus, tmp_path)
    settings = Settings(_env_file=None, store=Path(store), auth="alice:a,bob:b", admin_user="alice")
    tab = ReportsTab(WebContext(settings, AnswerService(open_store(settings, embeddings))))
    form = ["龙颈镇", "", "", "", "2025", "", "", "annual_report", False, False]
    form += [[], [], [], []]  # no facet chosen: provinces, counties, years, kinds

    bob = SimpleNamespace(username="bob")
    notice, button = tab.form.notice(bob)
    assert "只有管理员（alice）" in notice.value and button.interactive is False
    status, *_ = tab.save(rid, *form, request=bob)
    assert "只有管理员（alice）可以修改" in status
    assert cli_json("meta", rid, "--store", store)["fields"]["township"]["value"] is None

    alice = SimpleNamespace(username="alice")
    assert tab.form.notice(alice)[1].interactive is True
    status, rows, summary, *_ = tab.save(rid, *form, request=alice)
    assert "已更新：龙颈镇（清新区，广东省） 2025年" in status
    assert "元数据均已确认" in summary and any(row[0] == "龙颈镇" for row in rows)
    assert cli_json("meta", rid, "--store", store)["fields"]["township"]["source"] == "edited"


def test_an_edit_wins_over_a_sidecar_on_the_next_ingest(corpus, tmp_path):
    store, rid = ingested(corpus, tmp_path)
    cli_json("meta", rid, "--township", "龙颈镇", "--store", store)
    sidecar = corpus / "untitled.txt.meta.json"
    sidecar.write_text(json.dumps({"township": "石桥镇", "year": 2024}), encoding="utf-8")
    again = cli_json("ingest", str(corpus), "--store", store)
    assert again["replaced"] == 1  # the sidecar's year is new; the township stays edited
    shown = cli_json("meta", rid, "--store", store)["fields"]
    assert shown["township"] == {"value": "龙颈镇", "source": "edited", "certainty": "sure"}
    assert shown["year"] == {"value": 2024, "source": "sidecar", "certainty": "sure"}
    assert shown["county"]["value"] == "清新区"


def test_an_edit_is_not_applied_to_another_townships_report_under_the_same_file_name(
    corpus, tmp_path
):
    # web uploads reuse names: next time 法治政府建设情况报告.docx may be another township's
    store, _ = ingested(corpus, tmp_path)
    rows = {Path(r["source"]).name: r for r in cli_json("reports", "--store", store)}
    cli_json("meta", rows["shiqiao.txt"]["id"], "--year", "2022", "--store", store)
    (corpus / "shiqiao.txt").write_text(sample_text(1), encoding="utf-8")  # 塘坊镇, 2022
    cli_json("ingest", str(corpus), "--store", store)
    (corpus / "shiqiao.txt").write_text(sample_text(4), encoding="utf-8")  # 万灵镇, 2024
    cli_json("ingest", str(corpus), "--store", store)
    rows = {Path(r["source"]).name: r for r in cli_json("reports", "--store", store)}
    now = rows["shiqiao.txt"]
    assert (now["township"], now["year"]) == ("万灵镇", 2024)
    assert now["sources"]["year"] != "edited"
    assert any("an edit made for an earlier text of this file" in w for w in now["warnings"])
