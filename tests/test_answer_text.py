"""The answer text's parts: lists (app.answers.listing) and citations (app.answers.citations)."""

from __future__ import annotations

from app.answers.citations import cite, inline, place, report_labels
from app.answers.listing import (
    ENTRIES_SHOWN,
    GROUP_OVER,
    NAMES_SHOWN,
    OVERVIEW_REPORTS,
    Entry,
    counts_lead,
    entry_lines,
    not_mentioned_line,
    overflow,
    related_block,
)
from app.retrieval import Hit
from ingest.model import UNIDENTIFIED, ReportMeta
from vectorstore import StoredPassage, StoredReport


def entries(n: int, counties: tuple[str, ...]) -> list[Entry]:
    return [
        Entry(f"镇{i}", counties[i % len(counties)], "河南省", f"2023年，存在问题）：“…” [{i}]")
        for i in range(1, n + 1)
    ]


def test_a_short_list_is_bullets_naming_each_county():
    lines = entry_lines(entries(GROUP_OVER, ("宝丰县", "郏县")))
    assert len(lines) == GROUP_OVER
    assert lines[0] == "- **镇1**（郏县，2023年，存在问题）：“…” [1]"


def test_a_long_list_over_several_counties_is_grouped_largest_county_first():
    lines = entry_lines(entries(GROUP_OVER + 2, ("宝丰县", "郏县", "郏县")))
    headings = [line for line in lines if line.startswith("**")]
    assert headings == ["**河南省 郏县**（8）", "**河南省 宝丰县**（4）"]
    assert "- **镇2**（2023年，存在问题）：“…” [2]" in lines  # the heading names the county


def test_a_long_list_in_one_county_is_not_grouped():
    lines = entry_lines(entries(GROUP_OVER + 5, ("宝丰县",)))
    assert not any(line.startswith("**") for line in lines)


def test_related_townships_beyond_those_shown_are_left_to_the_json():
    assert related_block([], practice=False) == []
    lines = related_block(entries(ENTRIES_SHOWN + 3, ("宝丰县",)), practice=False)
    assert f"另有 {ENTRIES_SHOWN + 3} 个乡镇提到相关内容" in lines[1]
    assert sum(line.startswith("- ") for line in lines) == ENTRIES_SHOWN
    assert lines[-1] == "（其余 3 个见 JSON 的 related 字段或导出文件。）"


def test_not_mentioned_names_are_written_out_only_when_few():
    few = [f"镇{i}" for i in range(NAMES_SHOWN)]
    assert not_mentioned_line(few)[1].startswith(f"未提及（{NAMES_SHOWN} 个）：镇0、镇1")
    many = [*few, "又一镇"]
    assert not_mentioned_line(many)[1].startswith(f"未提及：{NAMES_SHOWN + 1} 个乡镇")
    assert not_mentioned_line([]) == []


def test_the_counts_lead_adds_up_to_the_reports_in_scope():
    assert counts_lead(10, 3, 2, practice=False) == (
        "在范围内的 10 份报告中：3 个乡镇明确提到，2 个提到相关内容，5 个未提及。"
    )
    assert "有可借鉴的具体做法" in counts_lead(10, 3, 2, practice=True)


def report(rid: str, township: str | None, year: int | None = None) -> StoredReport:
    meta = ReportMeta(township=township, year=year)
    return StoredReport(rid, f"/data/{rid}.txt", "txt", meta, [], 1, rid)


def test_an_overview_says_when_it_lists_only_the_first_reports():
    assert overflow([report(str(i), "镇") for i in range(OVERVIEW_REPORTS)]) == ""
    line = overflow([report(str(i), "镇") for i in range(OVERVIEW_REPORTS + 1)])
    assert f"共 {OVERVIEW_REPORTS + 1} 份报告，只列出前 {OVERVIEW_REPORTS} 份" in line


def test_reports_are_named_by_township_with_the_year_when_one_township_has_several():
    reports = [report("a", "王场镇", 2022), report("b", "王场镇"), report("c", "石桥镇", 2023)]
    labels = report_labels([*reports, report("d", None)])
    assert labels == {
        "a": "王场镇（2022年）",
        "b": "王场镇（年份未知）",
        "c": "石桥镇",
        "d": f"{UNIDENTIFIED}（d.txt）",
    }


def test_reports_of_one_name_are_told_apart_by_county_then_year_then_file():
    def of(rid: str, county: str, year: int) -> StoredReport:
        meta = ReportMeta(township="城关镇", county=county, year=year)
        return StoredReport(rid, f"/data/{rid}.txt", "txt", meta, [], 1, rid)

    # 城关镇 is a name of hundreds of counties' townships
    labels = report_labels([of("a", "宝丰县", 2023), of("b", "巫溪县", 2023)])
    assert labels == {"a": "城关镇（宝丰县）", "b": "城关镇（巫溪县）"}
    labels = report_labels(
        [of("a", "宝丰县", 2022), of("b", "宝丰县", 2023), of("c", "巫溪县", 2023)]
    )
    assert labels == {
        "a": "城关镇（宝丰县，2022年）",
        "b": "城关镇（宝丰县，2023年）",
        "c": "城关镇（巫溪县，2023年）",
    }
    # two files of one report: nothing but the file tells them apart
    labels = report_labels([of("a", "宝丰县", 2023), of("b", "宝丰县", 2023)])
    assert labels == {"a": "城关镇（a.txt）", "b": "城关镇（b.txt）"}
    # ...or, one file name in two folders, the report's id
    same = [of("a1234567x", "宝丰县", 2023), of("b7654321x", "宝丰县", 2023)]
    for r in same:
        r.source = "/site/报告.docx"
    assert set(report_labels(same).values()) == {"城关镇（a1234567）", "城关镇（b7654321）"}


def test_a_citation_quotes_its_key_sentence_at_report_offsets():
    text = "一、存在问题\n执法能力有待提高。普法形式单一。"
    meta = {"report_id": "r1", "start": 100, "end": 100 + len(text), "section": "problems"}
    meta |= {"township": "西联镇", "county": "万宁市", "year": "2023", "source": "/x/r1.txt"}
    at = text.index("普法")
    hit = Hit(StoredPassage("p", text, meta), 0.0, 0.0, 0.0, sentence=(100 + at, 100 + len(text)))
    c = cite(3, hit)
    assert (c.n, c.quote, c.year, c.township) == (3, "普法形式单一。", 2023, "西联镇")
    assert text[c.quote_start - c.start : c.quote_end - c.start] == c.quote
    whole = cite(1, Hit(StoredPassage("p", text, meta), 0.0, 0.0, 0.0))
    assert whole.quote == text and (whole.quote_start, whole.quote_end) == (100, 100 + len(text))
    assert inline(whole.quote) == "一、存在问题 执法能力有待提高。普法形式单一。"
    assert place(c) == "万宁市西联镇"
