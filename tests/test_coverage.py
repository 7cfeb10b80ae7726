"""`fazhi coverage AREA`: which townships of an area have reports, from the gazetteer."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.coverage import AreaError, ReportRef, UnlistedReport, coverage, resolve_area
from tests.conftest import ingest_into
from tests.fixture_files import sample_paths

runner = CliRunner()


def test_a_county_lists_every_township_and_the_years_reported(sample_store):
    result = coverage(sample_store, "宝丰县")
    assert result.area.label == "河南省平顶山市宝丰县"
    assert len(result.townships) == 13
    [covered] = result.covered
    assert (covered.township, covered.years) == ("石桥镇", [2023])
    assert len(result.missing) == 12
    assert "周庄镇" in {t.township for t in result.missing}
    assert result.unlisted == [] and result.maybe == []


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("宝丰", "河南省平顶山市宝丰县"),
        ("石柱县", "重庆市石柱土家族自治县"),
        ("南京市鼓楼区", "江苏省南京市鼓楼区"),
        ("福州鼓楼区", "福建省福州市鼓楼区"),
        ("重庆", "重庆市"),
    ],
)
def test_areas_are_found_by_short_and_compound_names(name, label):
    assert resolve_area(name).label == label


def test_an_ambiguous_or_unknown_area_says_what_to_write():
    with pytest.raises(AreaError, match="names 4 places") as err:
        resolve_area("鼓楼区")
    assert "江苏省南京市鼓楼区" in str(err.value)
    with pytest.raises(AreaError, match="did you mean") as err:
        resolve_area("宝峰县")
    assert "宝丰县" in str(err.value)


def test_a_province_counts_its_reports_and_the_cli_keeps_the_long_list_for_json(
    sample_store_dir,
):
    result = runner.invoke(cli, ["coverage", "重庆", "--store", str(sample_store_dir)])
    assert result.exit_code == 0, result.output
    assert "个乡级行政区，3 个有报告" in result.output
    assert "没有报告（完整名单：--json）" in result.output
    assert "高笋塘街道" not in result.output  # not a wall of 1,000 names
    result = runner.invoke(cli, ["coverage", "重庆", "--json", "--store", str(sample_store_dir)])
    data = json.loads(result.stdout)
    assert data["townships_with_reports"] == 3
    assert data["townships_total"] == len(data["townships"]) > 1000
    covered = {t["township"]: t["years"] for t in data["townships"] if t["reports"]}
    assert covered == {"万灵镇": [2024], "塘坊镇": [2022], "王场镇": [2021]}


def test_reports_the_gazetteer_cannot_place_are_listed_apart(fresh_store, tmp_path):
    shiqiao = next(p for p in sample_paths() if "石桥镇" in p.read_text(encoding="utf-8")[:200])
    # a township of 宝丰县 that is not in the 2023 table (renamed or new since)
    renamed = shutil.copy(shiqiao, tmp_path / "a.txt")
    (tmp_path / "a.txt.meta.json").write_text(
        json.dumps({"township": "石桥新区街道", "county": "宝丰县", "province": "河南省"}),
        encoding="utf-8",
    )
    # the county unknown: 石桥镇 is in 宝丰县, and in many other counties too
    unplaced = tmp_path / "b.txt"
    unplaced.write_text(
        shiqiao.read_text(encoding="utf-8").replace("宝丰县", "").replace("平顶山市", "")
        + "\n补充说明。",
        encoding="utf-8",
    )
    (tmp_path / "b.txt.meta.json").write_text(
        json.dumps({"township": "石桥镇", "county": None, "city": None, "province": None}),
        encoding="utf-8",
    )
    ingest_into(fresh_store, renamed, unplaced)
    result = coverage(fresh_store, "宝丰县")
    assert result.covered == []
    [unlisted] = result.unlisted
    assert unlisted.township == "石桥新区街道"
    assert "not a township of 宝丰县" in unlisted.why
    [maybe] = result.maybe
    assert maybe.township == "石桥镇" and maybe.report.source.endswith("b.txt")


def test_a_city_without_counties_is_the_city():
    for name in ("东莞", "东莞市", "广东省东莞市"):
        place = resolve_area(name)
        assert (place.label, place.level) == ("广东省东莞市", "city")


def test_a_county_name_two_cities_of_one_province_share_is_told_apart_by_city():
    from app.coverage import _in_area
    from ingest.model import ReportMeta
    from vectorstore import StoredReport

    def report(city: str) -> StoredReport:
        meta = ReportMeta(township="x镇", county="鼓楼区", city=city, province="江苏省", year=2023)
        return StoredReport("r", "/r.txt", "txt", meta, [], 1, fingerprint="")

    nanjing = resolve_area("南京市鼓楼区")
    assert _in_area(report("南京市"), nanjing)
    assert not _in_area(report("徐州市"), nanjing)


def test_a_long_list_of_unplaced_reports_is_folded_under_its_count(fresh_store, tmp_path):
    """Hundreds of reports the gazetteer cannot place would push the table out of sight."""
    from app.answers.listing import ENTRIES_SHOWN
    from app.web.coverage_view import coverage_html

    result = coverage(fresh_store, "宝丰县")
    ref = ReportRef("r1", 2023, "/x/a.txt")
    few = [UnlistedReport(f"新区{i}街道", "宝丰县", ref, "not listed") for i in range(3)]
    result.unlisted = few
    assert "<details" not in coverage_html(result).split("未能对应到名录乡镇的报告")[1]
    result.unlisted = few * (ENTRIES_SHOWN // 3 + 1)
    html = coverage_html(result)
    assert (
        f"<summary>本区域内、未能对应到名录乡镇的报告（{len(result.unlisted)}）</summary>" in html
    )
    assert html.count("<li>") == len(result.unlisted)
