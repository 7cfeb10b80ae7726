"""Cleaning, metadata, sections and passages on the real sample reports and realistic variants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest import build_report, clean_text
from ingest.errors import SidecarError
from ingest.metadata import extract_metadata
from ingest.passages import ChunkSettings
from tests.fixture_files import make_docx, make_gov_html, make_pdf, sample_paths, sample_text

EXPECTED = {
    "000": ("王场镇", "石柱土家族自治县", None, "重庆市", 2021),
    "001": ("塘坊镇", "巫溪县", None, "重庆市", 2022),
    "002": ("石桥镇", "宝丰县", "平顶山市", "河南省", 2023),
    "003": ("西联镇", "武江区", "韶关市", "广东省", 2019),
    "004": ("万灵镇", "荣昌区", None, "重庆市", 2024),
}


@pytest.fixture(scope="module")
def sample_reports():
    return {path.name[:3]: build_report(path) for path in sample_paths()}


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_sample_metadata_is_right(sample_reports, key):
    meta = sample_reports[key].meta
    assert (meta.township, meta.county, meta.city, meta.province, meta.year) == EXPECTED[key]
    assert meta.warnings == []
    assert not meta.needs_review and meta.sources["township"] == "title"
    assert meta.title and "报告" in meta.title


def test_publication_date_is_read_not_confused_with_year_reported(sample_reports):
    assert sample_reports["001"].meta.published == "2023-02-08"  # 日期:2023-02-08 on the web page
    assert sample_reports["002"].meta.published == "2024-02-22"  # signature date
    assert sample_reports["002"].meta.year == 2023


def test_every_sample_has_problems_and_plans_and_2022_has_innovations(sample_reports):
    for report in sample_reports.values():
        assert {"problems", "plans"} <= set(report.section_types), report.meta.township
    assert "innovations" in sample_reports["001"].section_types
    assert "duty" in sample_reports["002"].section_types


def test_cleaning_removes_site_and_word_furniture(sample_reports):
    for report in sample_reports.values():
        assert "您当前的位置" not in report.text
        assert "扫一扫在手机打开当前页" not in report.text
        assert "[bookmark" not in report.text
        assert "\n\n\n" not in report.text
    # the bare page number at the end of the 石桥镇 report is gone, the signature date stays
    assert not sample_reports["002"].text.rstrip().endswith("\n1")
    assert "2024年2月22日" in sample_reports["002"].text


def test_cleaning_steps_on_typical_furniture():
    raw = (
        "您当前的位置：首页>政务公开>法治政府建设\n索引号：11500238/2023-00012\n发文字号：无\n"
        "关于2023年法治政府建设情况的报告\n\n\n\n一是 加强学习。[bookmark: _GoBack]全年学法12次。\n"
        "- 2 -\n第 3 页 共 9 页\n扫一扫在手机打开当前页\n"
    )
    cleaned = clean_text(raw)
    assert cleaned == "关于2023年法治政府建设情况的报告\n\n一是加强学习。全年学法12次。\n"


def test_passages_round_trip_and_never_cross_sections(sample_reports):
    settings = ChunkSettings()
    for report in sample_reports.values():
        assert report.passages
        for passage in report.passages:
            assert report.text[passage.start : passage.end] == passage.text
            section = next(s for s in report.sections if s.start <= passage.start < s.end)
            assert passage.end <= section.end
            assert passage.section == section.type
            assert len(passage.text) <= settings.max_chars + settings.min_chars
            # passages end at a sentence end or a line end, never mid-sentence
            ends_line = passage.end == len(report.text) or report.text[passage.end] == "\n"
            assert passage.text[-1] in "。；;！？!?”）)：:" or ends_line, passage.text[-30:]


def test_passages_carry_heading_paths(sample_reports):
    report = sample_reports["002"]
    passage = next(p for p in report.passages if "159名法律明白人" in p.text)
    assert passage.heading_path[0].startswith("二、2023年度推进法治政府建设的主要举措和成效")
    assert passage.heading_path[1].startswith("（二）")
    problems = [p for p in report.passages if p.section == "problems"]
    assert any("执法态度生硬" in p.text for p in problems)


def test_ids_are_derived_from_content(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text(sample_text(2), encoding="utf-8")
    b = tmp_path / "copy" / "b.txt"
    b.parent.mkdir()
    b.write_text(sample_text(2), encoding="utf-8")
    first, second = build_report(a), build_report(b)
    assert first.id == second.id
    assert [p.id for p in first.passages] == [p.id for p in second.passages]
    a.write_text(sample_text(2).replace("159名", "160名"), encoding="utf-8")
    assert build_report(a).id != first.id


@pytest.mark.parametrize("maker", ["docx", "pdf", "html"])
def test_other_formats_give_the_same_metadata_and_sections(tmp_path, maker):
    text = sample_text(2)
    path = {
        "docx": lambda: make_docx(text, tmp_path / "r.docx"),
        "pdf": lambda: make_pdf(text, tmp_path / "r.pdf"),
        "html": lambda: make_gov_html(
            text,
            tmp_path / "r.html",
            "宝丰县石桥镇人民政府关于2023年法治政府建设情况的报告",
            "2024-02-22",
        ),
    }[maker]()
    report = build_report(path)
    meta = report.meta
    assert (meta.township, meta.county, meta.province, meta.year) == (
        "石桥镇",
        "宝丰县",
        "河南省",
        2023,
    )
    assert {"duty", "measures", "problems", "plans"} <= set(report.section_types)
    assert any("159名法律明白人" in p.text for p in report.passages)


def test_province_comes_from_the_gazetteer_when_the_text_never_names_it():
    text = "宝丰县石桥镇人民政府\n关于2023年法治政府建设情况的报告\n一、工作情况\n全年学法12次。\n"
    meta = extract_metadata(clean_text(text))
    assert (meta.county, meta.city, meta.province) == ("宝丰县", "平顶山市", "河南省")


def test_ambiguous_district_uses_the_city_the_report_names():
    text = "鼓楼区某某街道办事处\n关于2022年法治政府建设情况的报告\n在福州市委、市政府的领导下，街道依法行政。\n"
    meta = extract_metadata(clean_text(text))
    assert (meta.county, meta.city, meta.province) == ("鼓楼区", "福州市", "福建省")
    assert meta.township == "某某街道"


def test_ambiguous_district_without_context_is_left_unknown_with_a_warning():
    text = "鼓楼区某某街道办事处\n关于2022年法治政府建设情况的报告\n街道依法行政。\n"
    meta = extract_metadata(clean_text(text))
    assert meta.county == "鼓楼区"
    assert meta.province is None
    assert any("鼓楼区" in w and "福州市" in w and "meta.json" in w for w in meta.warnings)


def test_township_with_ethnic_name():
    text = "金秀瑶族自治县罗子山瑶族乡人民政府\n关于2022年法治政府建设情况的报告\n一、工作情况\n学法。\n"
    meta = extract_metadata(clean_text(text))
    assert meta.township == "罗子山瑶族乡"
    assert meta.province == "广西壮族自治区"


def test_unknown_township_and_year_warn_how_to_fix(tmp_path):
    path = tmp_path / "irregular.txt"
    path.write_text(
        "工作总结\n\n" + "今年依法行政，开展普法宣传活动，化解矛盾纠纷。" * 5, encoding="utf-8"
    )
    report = build_report(path)
    assert report.meta.township is None and report.meta.year is None
    assert any("township" in w and "irregular.txt.meta.json" in w for w in report.meta.warnings)
    assert any("year" in w for w in report.meta.warnings)


def test_sidecar_overrides_metadata(tmp_path):
    path = tmp_path / "irregular.txt"
    path.write_text(
        "工作总结\n\n" + "今年依法行政，开展普法宣传活动，化解矛盾纠纷。" * 5, encoding="utf-8"
    )
    (tmp_path / "irregular.txt.meta.json").write_text(
        json.dumps({"township": "石桥镇", "county": "宝丰县", "province": "河南省", "year": 2023}),
        encoding="utf-8",
    )
    meta = build_report(path).meta
    assert (meta.township, meta.year, meta.province) == ("石桥镇", 2023, "河南省")
    assert meta.warnings == []


def test_manifest_csv_overrides_metadata(tmp_path):
    path = tmp_path / "r1.txt"
    path.write_text(sample_text(0), encoding="utf-8")
    (tmp_path / "manifest.csv").write_text(
        "file,year,title\nr1.txt,2020,改过的标题\n", encoding="utf-8"
    )
    meta = build_report(path).meta
    assert (meta.township, meta.year, meta.title) == ("王场镇", 2020, "改过的标题")


def test_bad_sidecar_is_a_clear_error(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text(sample_text(0), encoding="utf-8")
    sidecar = Path(str(path) + ".meta.json")
    sidecar.write_text('{"township": "王场镇", "town": "typo"}', encoding="utf-8")
    with pytest.raises(SidecarError) as info:
        build_report(path)
    assert str(sidecar) in str(info.value) and "town" in str(info.value)


def test_a_heading_naming_problems_and_plans_is_typed_problems():
    from ingest.sections import section_type

    assert section_type("三、存在的问题和下步工作打算") == "problems"
    assert section_type("三、存在问题及改进措施") == "problems"
    assert section_type("四、下一步法治政府建设工作的改进措施") == "plans"


def _write(folder: Path, texts: dict[str, str]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _assert_every_report_stored_whole(store) -> dict[str, object]:
    """Every stored report has all its passages; returns the reports by file name."""
    from vectorstore import Scope

    reports = {Path(r.source).name: r for r in store.list_reports()}
    for report in reports.values():
        stored = len(store.passages(Scope(report_ids=[report.id])))
        assert stored == report.passage_count > 0, report.source
    return reports


def test_a_batch_replacing_a_text_another_file_now_holds_keeps_both(fresh_store, tmp_path):
    """a.txt changes from text X to Y while c.txt, new, holds X: both end up stored whole."""
    from tests.conftest import ingest_into

    folder = _write(tmp_path / "reports", {"a.txt": sample_text(1)})
    ingest_into(fresh_store, folder)
    summary = ingest_into(
        fresh_store, _write(folder, {"a.txt": sample_text(2), "c.txt": sample_text(1)})
    )
    status = {r.path.name: r.status for r in summary.results}
    assert status == {"a.txt": "replaced", "c.txt": "added"}
    assert set(_assert_every_report_stored_whole(fresh_store)) == {"a.txt", "c.txt"}


def test_the_same_text_with_other_metadata_in_one_batch_is_stored_once(fresh_store, tmp_path):
    from tests.conftest import ingest_into

    folder = _write(
        tmp_path / "reports",
        {"a.txt": sample_text(1), "b.txt": sample_text(1), "b.txt.meta.json": '{"year": 2099}'},
    )
    summary = ingest_into(fresh_store, folder)
    assert not summary.failed, summary.results
    assert len(_assert_every_report_stored_whole(fresh_store)) == 1


def test_a_batch_larger_than_one_embedding_window_is_stored_whole(fresh_store, tmp_path):
    from tests.conftest import ingest_into
    from vectorstore.embeddings import EMBED_WINDOW

    folder = tmp_path / "reports"
    folder.mkdir()
    for i in range(5):
        for copy in range(2):  # distinct texts, so every file is a report of its own
            text = sample_text(i) + f"\n（副本{copy}）\n"
            (folder / f"{i}-{copy}.txt").write_text(text, encoding="utf-8")
    summary = ingest_into(fresh_store, folder)
    assert summary.count("added") == 10 and summary.passages > EMBED_WINDOW
    assert fresh_store.count_passages() == summary.passages
    assert len(_assert_every_report_stored_whole(fresh_store)) == 10


def test_a_copy_listed_before_the_file_that_drops_its_text_is_kept(fresh_store, tmp_path):
    """0c.txt holds text X, which a.txt (listed after it) held before and now replaces."""
    from tests.conftest import ingest_into

    folder = _write(tmp_path / "reports", {"a.txt": sample_text(1)})
    ingest_into(fresh_store, folder)
    # two copies of the old text: stored once, as the first one's
    folder = _write(
        folder, {"a.txt": sample_text(2), "0c.txt": sample_text(1), "0d.txt": sample_text(1)}
    )
    summary = ingest_into(fresh_store, folder)
    status = {r.path.name: r.status for r in summary.results}
    assert status == {"0c.txt": "added", "0d.txt": "unchanged", "a.txt": "replaced"}
    assert "0c.txt" in next(r.reason for r in summary.results if r.path.name == "0d.txt")
    assert set(_assert_every_report_stored_whole(fresh_store)) == {"a.txt", "0c.txt"}


def test_the_reports_index_is_saved_often_also_in_stores_made_before(fresh_store, tmp_path):
    """Whole report texts wait in Chroma's log until the reports index is next saved, and every
    write grows with that log (BENCHMARKS.md): the store saves it every few reports, and a store
    made by an older fazhi is switched over when opened, keeping what it holds."""
    from app.services import open_store
    from app.settings import Settings
    from tests.conftest import ingest_into
    from vectorstore.store import REPORTS, REPORTS_SYNC_THRESHOLD

    def sync_threshold(store) -> int:
        collection = store.client.get_collection(REPORTS)
        return collection.configuration["hnsw"]["sync_threshold"]

    assert sync_threshold(fresh_store) == REPORTS_SYNC_THRESHOLD
    ingest_into(fresh_store, _write(tmp_path / "reports", {"a.txt": sample_text(1)}))
    fresh_store.client.get_collection(REPORTS).modify(
        configuration={"hnsw": {"sync_threshold": 1000, "batch_size": 100}}
    )
    reopened = open_store(
        Settings(_env_file=None, store=tmp_path / "store"), fresh_store.embeddings
    )
    assert sync_threshold(reopened) == REPORTS_SYNC_THRESHOLD
    assert set(_assert_every_report_stored_whole(reopened)) == {"a.txt"}
