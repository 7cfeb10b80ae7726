"""Metadata from every clue, never invented: the benchmark's targets and the rules behind them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.metadata import FIELDS, load_cases, read_case, score
from ingest import build_report
from ingest.model import LoadedDocument
from ingest.pipeline import report_from_document

BODY = "\n一、主要工作\n（一）强化组织领导。全年开展普法活动12场，化解矛盾纠纷46件，发放宣传资料3000份。\n"


def meta_of(text: str, source: str = "report.txt", **document: object):
    doc = LoadedDocument(source=Path("/reports") / source, text=text + BODY, format="txt")
    for key, value in document.items():
        setattr(doc, key, value)
    return report_from_document(doc).meta


@pytest.fixture(scope="module")
def scored():
    cases = load_cases()
    return cases, score(cases)


def test_the_benchmark_covers_the_forms_of_real_reports_from_every_province(scored):
    cases, _ = scored
    provinces = {c["expect"]["province"] for c in cases if c["expect"]["province"]}
    assert len(cases) >= 150 and len(provinces) >= 15
    forms = {c["form"] for c in cases}
    for form in ("party+government", "district+office", "year first", "body subject",
                 "file name", "breadcrumb", "繁體", "述法 by party secretary", "苏木/民族乡",
                 "ambiguous: 新田镇 without county", "not in gazetteer: 北城街街道"):  # fmt: skip
        assert form in forms, form


def test_every_field_is_right_where_the_text_states_it(scored):
    _, result = scored
    for name in FIELDS:
        assert result.accuracy(name) >= 0.98, (name, result.misses)
        # where the text does not say, the field stays unknown (no guess)
        assert result.kept_unknown[name] == result.unstated[name], (name, result.misses)


def test_no_township_is_invented_and_review_flags_are_right(scored):
    _, result = scored
    assert result.invented == []
    assert result.review_right >= 0.98 * result.cases, result.misses


@pytest.mark.parametrize(
    ("title", "township"),
    [
        (
            "中共重庆市万州区新田镇委员会 重庆市万州区新田镇人民政府关于2025年法治政府建设情况的报告",
            "新田镇",
        ),
        ("中共黎侯镇委员会 黎侯镇人民政府关于2025年度法治政府建设情况的报告", "黎侯镇"),
        ("鲤城区人民政府金龙街道办事处关于2022年度法治政府建设情况的报告", "金龙街道"),
        ("2021年度桃浦镇法治政府建设的情况报告", "桃浦镇"),
    ],
)
def test_scaffolding_never_becomes_part_of_a_name(title, township):
    meta = meta_of(title)
    assert meta.township == township
    assert (meta.sources["township"], meta.certainty["township"]) == ("title", "sure")


def test_body_scaffolding_gives_no_township_but_a_flag():
    for text in ("现将我街道2023年法治政府建设情况报告如下：", "将习近平法治思想纳入镇党委学习内容。",
                 "党委书记作为全乡法治建设第一责任人，认真履行职责。"):  # fmt: skip
        meta = meta_of(text)
        assert meta.township is None and meta.needs_review, text
        assert any(w.startswith("township not found") for w in meta.warnings)


def test_a_shared_name_leaves_the_county_unknown_and_flagged():
    meta = meta_of("新田镇人民政府关于2023年度法治政府建设情况的报告")
    assert (meta.township, meta.county, meta.province) == ("新田镇", None, None)
    assert meta.certainty["county"] == "uncertain" and meta.needs_review
    assert any("8 counties" in w and "宣州区" in w for w in meta.warnings)
    named = meta_of("中共宣州区新田镇委员会 宣州区新田镇人民政府关于2021年度法治政府建设情况的报告")
    assert (named.county, named.city, named.province) == ("宣州区", "宣城市", "安徽省")
    assert not named.needs_review


def test_a_name_newer_than_the_gazetteer_is_kept_from_the_title_and_flagged():
    meta = meta_of("岳西县天峡镇人民政府关于2025年法治政府建设情况的报告")
    assert (meta.township, meta.county, meta.province) == ("天峡镇", "岳西县", "安徽省")
    assert meta.certainty["township"] == "uncertain" and meta.needs_review
    # in a body, a name the gazetteer does not know is never taken
    assert meta_of("2025年，云栖新镇坚持依法行政。").township is None


def test_page_clues_name_a_report_saved_without_its_title():
    text = "今年以来，我镇认真落实法治政府建设各项任务，现将2022年度有关情况报告如下："
    breadcrumb = meta_of(text, "cd.shtml", page_clues=["首页>部门公开信息>大吉山镇>年度报告"])
    assert (breadcrumb.township, breadcrumb.county, breadcrumb.year) == ("大吉山镇", "全南县", 2022)
    assert breadcrumb.sources["township"] == "page"
    titled = meta_of(text, "a.html", title_hint="龙溪镇2024年法治政府建设年度报告_武冈市人民政府")
    assert (titled.township, titled.county, titled.year) == ("龙溪镇", "武冈市", 2024)
    assert titled.title == "龙溪镇2024年法治政府建设年度报告"


def test_file_and_folder_names_are_the_last_clues():
    meta = meta_of("一、2023年主要工作及成效", "宝丰县/石桥镇2023.docx")
    assert (meta.township, meta.county, meta.province, meta.year) == (
        "石桥镇",
        "宝丰县",
        "河南省",
        2023,
    )
    assert (meta.sources["township"], meta.certainty["township"]) == ("file name", "likely")
    assert not meta.needs_review
    # a title beats a misfiled folder
    misfiled = meta_of("紫蓬镇人民政府关于2022年度法治政府建设情况的报告", "岳西县/紫蓬镇.docx")
    assert (misfiled.township, misfiled.county) == ("紫蓬镇", "肥西县")


def test_year_from_body_then_publication_date():
    assert (
        meta_of("大河乡人民政府\n关于法治政府建设的情况报告\n2025年，大河乡坚持依法行政。").year
        == 2025
    )
    early = meta_of("镇北堡镇法治政府建设工作情况报告", published_hint="2024-02-18")
    assert (early.year, early.sources["year"], early.needs_review) == (2023, "published", False)
    late = meta_of("吉迈镇法治政府建设工作情况报告", published_hint="2024-06-05")
    assert (late.year, late.certainty["year"], late.needs_review) == (2024, "uncertain", True)


def test_traditional_characters_match_but_the_text_stays_as_written(tmp_path):
    text = (
        "湘潭縣雲湖橋鎮2025年度法治政府建設情況報告\n2025年，在縣委、縣政府的堅強領導下，雲湖橋鎮堅持依法行政。"
        + BODY
    )
    path = tmp_path / "yunhuqiao.txt"
    path.write_text(text, encoding="utf-8")
    report = build_report(path)
    assert (report.meta.township, report.meta.county, report.meta.province) == (
        "云湖桥镇",
        "湘潭县",
        "湖南省",
    )
    assert report.meta.title == "湘潭縣雲湖橋鎮2025年度法治政府建設情況報告"
    assert "雲湖橋鎮堅持依法行政" in report.text
    for passage in report.passages:
        assert report.text[passage.start : passage.end] == passage.text


def test_a_sidecar_township_takes_its_county_from_the_gazetteer(tmp_path):
    path = tmp_path / "irregular.txt"
    path.write_text(
        "工作总结\n\n" + "今年依法行政，开展普法宣传活动，化解矛盾纠纷。" * 5, encoding="utf-8"
    )
    (tmp_path / "irregular.txt.meta.json").write_text(
        '{"township": "龙颈镇", "year": 2025}', "utf-8"
    )
    meta = build_report(path).meta
    assert (meta.township, meta.county, meta.province) == ("龙颈镇", "清新区", "广东省")
    assert meta.sources["township"] == "sidecar" and meta.sources["county"] == "gazetteer"
    assert not meta.needs_review and meta.warnings == []


def test_every_benchmark_case_records_where_its_township_came_from():
    for case in load_cases()[:40]:
        meta = read_case(case)
        if meta.township:
            assert meta.sources["township"] in (
                "title",
                "page",
                "body",
                "signature",
                "file name",
                "folder",
            )
            assert meta.certainty["township"] in ("sure", "likely", "uncertain")


def test_a_manifest_county_takes_its_city_and_province_from_the_gazetteer(tmp_path):
    path = tmp_path / "r1.txt"
    path.write_text(
        "石桥镇工作总结\n\n" + "今年依法行政，开展普法宣传活动，化解矛盾纠纷。" * 5, "utf-8"
    )
    (tmp_path / "manifest.csv").write_text("file,county,year\nr1.txt,宝丰县,2023\n", "utf-8")
    meta = build_report(path).meta
    assert (meta.township, meta.county, meta.city, meta.province) == (
        "石桥镇",
        "宝丰县",
        "平顶山市",
        "河南省",
    )
    assert meta.sources["county"] == "manifest" and not meta.needs_review
