"""Views that read well over 100+ townships (issue #19): corpus-wide answers in the chat, their
full-list exports, the 对比 matrix's grades and totals, its charts, the 报告 tab's facets.

Long lists are made up here (townships over many counties); the five bundled reports, through
the real service, check that small views stay plain.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from app.answering import AnswerService, Citation
from app.answers import MENTIONED, NOT_MENTIONED, RELATED, Answer, Grade, Related, Verdict
from app.charts import MAX_COUNTIES, chart, chart_data, write_chart_csv
from app.compare import CompareCell, CompareMatrix, CompareRow, compare
from app.export import answer_markdown, matrix_table, write_answer_csv, write_answer_xlsx
from app.web.compare import matrix_html
from app.web.report_facets import facet_choices, matches, selection
from app.web.verdicts import corpus_answer_html
from ingest.model import ReportMeta
from tests.test_web import assert_inert, evil_citation
from vectorstore.store import StoredReport

PROVINCES = ("河南省", "重庆市", "广东省", "四川省")


def citation(n: int, township: str, county: str, province: str, section: str) -> Citation:
    text = f"{township}在执法能力方面还存在不足，执法人员专业素质有待提高。"
    return Citation(
        n=n,
        township=township,
        county=county,
        province=province,
        year=2023,
        section=section,
        heading="存在的问题",
        text=text,
        report_id=f"r{n:03d}",
        source=f"/x/{n}.txt",
        start=0,
        end=len(text),
        quote=text,
        quote_start=0,
        quote_end=len(text),
    )


def long_answer(mentioned: int = 30, related: int = 40, absent: int = 90) -> dict[str, Any]:
    """A corpus-wide answer over many townships in many counties, shaped as the service's."""
    verdicts, citations, related_items = [], [], []
    grades: list[Grade] = [MENTIONED] * mentioned + [RELATED] * related + [NOT_MENTIONED] * absent
    for i, grade in enumerate(grades):
        township = f"第{i:03d}镇"
        county, province = f"县{i % 17:02d}", PROVINCES[i % 4]
        n = None
        if grade != NOT_MENTIONED:
            n = len(citations) + 1
            citations.append(citation(n, township, county, province, "problems"))
        if grade == RELATED:
            related_items.append(Related(township, f"id{i}", n or 0))
        verdicts.append(
            Verdict(f"id{i}", township, county, province, 2023, grade, 1.0 - i / 1000, n)
        )
    stated = [v.township for v in verdicts if v.grade == MENTIONED]
    answer = Answer(
        question="哪些乡镇把执法能力不足列为存在的问题？",
        kind="corpus",
        mode="extractive",
        answer="（答案文字）",
        found=True,
        townships=stated,
        not_mentioned=[v.township for v in verdicts if v.grade == NOT_MENTIONED],
        citations=citations,
        filters={"sections": ["problems"]},
        timings={},
        related=related_items,
        verdicts=verdicts,
    )
    return answer.to_dict()


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


# -- the chat ----------------------------------------------------------------------------------
def test_a_long_answer_leads_with_counts_and_folds_related_and_not_mentioned() -> None:
    answer = long_answer()
    html = corpus_answer_html(answer, 0, {c["n"] for c in answer["citations"]})
    assert html is not None
    lead = re.match(r'<p class="fz-lead">(.*?)</p>', html)
    assert lead and text_of(lead.group(1)) == (
        "在范围内的 160 份报告中：30 个乡镇明确提到，40 个提到相关内容，90 个未提及。"
    )
    # the stated townships, grouped by county under their counts (a few groups open)
    groups = re.findall(r'<details class="fz-group"( open)?><summary>(.*?)</summary>', html)
    assert len(groups) > 3 and sum(1 for g in groups if g[0]) >= 3
    assert all(re.fullmatch(r".+（\d+）", g[1]) for g in groups)
    # 相关 and 未提及 are folded under their counts, with every name inside
    related = re.search(
        r'<details class="fz-fold fz-related">(.*?)</details>(?=<details class="fz-fold fz-absent")',
        html,
    )
    assert related and "另有 <b>40</b> 个乡镇" in related.group(1)
    absent = re.search(
        r'<details class="fz-fold fz-absent"><summary>(.*?)</summary>(.*)</details>$', html
    )
    assert absent and "未提及：<b>90</b> 个乡镇" in absent.group(1)
    assert all(name in absent.group(2) for name in answer["not_mentioned"])
    assert all(f"<strong>{v['township']}</strong>" in html for v in answer["verdicts"][:70])
    assert 'href="#fz-a0-c1"' in html  # [n] still links to its card


def test_a_list_of_thousands_links_every_citation_and_shows_twenty_a_group() -> None:
    """Markers past [999] link to their cards too; each group (and a list in one county) shows
    twenty townships and folds the rest under their count."""
    for counties in (17, 1):
        answer = long_answer(mentioned=1200, related=0, absent=0)
        for v in answer["verdicts"]:
            v["county"], v["province"] = f"县{int(v['township'][1:-1]) % counties:02d}", "河南省"
        html = corpus_answer_html(answer, 0, {c["n"] for c in answer["citations"]})
        assert html is not None
        assert 'href="#fz-a0-c1200"' in html and 'href="#fz-a0-c1000"' in html
        assert html.count("<li>") == 1200
        # one county: a plain list, its first rows before the fold
        groups = re.findall(r"（(\d+)）</summary><ul>(.*?)</ul>", html) or [
            ("1200", html.split('<details class="fz-more">')[0])
        ]
        assert len(groups) == counties
        for size, rows in groups:
            assert rows.count("<li>") == min(20, int(size))
        folded = re.findall(r'<details class="fz-more"><summary>其余 (\d+) 个</summary>', html)
        assert sum(map(int, folded)) == 1200 - sum(min(20, int(size)) for size, _ in groups)


def test_a_five_report_answer_reads_as_before_without_groups(service: AnswerService) -> None:
    answer = service.ask("哪些乡镇把执法能力不足列为存在的问题？").to_dict()
    html = corpus_answer_html(answer, 0, {c["n"] for c in answer["citations"]})
    assert html is not None and html.startswith('<p class="fz-lead">在范围内的 5 份报告中：')
    assert "fz-group" not in html  # nothing to group
    for township in answer["townships"]:
        assert f"<strong>{township}</strong>" in html
    if answer["not_mentioned"]:  # a few names stay in plain sight
        assert f"未提及（{len(answer['not_mentioned'])} 个）" in html
        assert "fz-absent" in html and '<details class="fz-fold fz-absent"' not in html
    # the one related township is named on its folded list's line
    assert "<summary>另有 <b>1</b> 个乡镇（塘坊镇）提到相关内容" in html


def test_answers_that_are_not_graded_lists_keep_their_own_text() -> None:
    answer = long_answer(3, 0, 4)
    answer["townships"] = answer["not_mentioned"]  # "哪些镇没有提到X": the answer is 未提及
    assert corpus_answer_html(answer, 0, set()) is None
    answer["verdicts"] = []  # a lookup
    assert corpus_answer_html(answer, 0, set()) is None


def test_nothing_stated_says_so_and_opens_the_related_list() -> None:
    answer = long_answer(0, 5, 20)
    answer["answer"] = "资料中未找到：范围内 25 份报告都没有明确提到“执法能力不足”。"
    html = corpus_answer_html(answer, 0, set())
    assert html is not None
    assert text_of(html).startswith(
        "资料中未找到：范围内 25 份报告都没有明确提到“执法能力不足”。 5 个提到相关内容，20 个未提及。"
    )
    assert '<details class="fz-fold fz-related" open>' in html


def test_report_text_in_the_lists_stays_inert() -> None:
    answer = long_answer(2, 2, 1)
    evil = evil_citation(3)
    answer["citations"][2] = vars(evil)
    html = corpus_answer_html(answer, 0, {1, 2, 3, 4}) or ""
    assert_inert(html)


# -- exports ---------------------------------------------------------------------------------
def test_exports_hold_every_list_whole(tmp_path: Path) -> None:
    answer = long_answer()
    markdown = answer_markdown(answer)
    full = markdown.split("## 完整名单", 1)[1].split("## 引文", 1)[0]
    for heading in ("### 明确提到（30 个）", "### 相关（40 个）", "### 未提及（90 个）"):
        assert heading in full
    for v in answer["verdicts"]:
        assert v["township"] in full
    related = full.split("### 相关", 1)[1].split("### 未提及", 1)[0]
    assert related.count("：“") == 40  # each related township with its quote

    with write_answer_csv(answer, tmp_path / "a.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 160
    assert [r["等级"] for r in rows].count(NOT_MENTIONED) == 90
    assert all(r["引文"] for r in rows if r["等级"] != NOT_MENTIONED)
    # a quote is traceable from the sheet alone: its heading and its place in the report
    assert all(r["章节"] and r["原文位置"].startswith("[") for r in rows if r["引文"])
    book = load_workbook(write_answer_xlsx(answer, tmp_path / "a.xlsx"))
    assert book.sheetnames == ["全部", MENTIONED, RELATED, NOT_MENTIONED]
    assert [book[s].max_row - 1 for s in book.sheetnames] == [160, 30, 40, 90]


# -- the matrix ------------------------------------------------------------------------------
def graded_matrix(n: int = 120, counties: int = 12) -> CompareMatrix:
    """Rows over `counties` counties and two years; grades cycle so every mix occurs."""
    rows = []
    cycle: list[tuple[Grade, Grade]] = [
        (MENTIONED, MENTIONED),
        (MENTIONED, NOT_MENTIONED),
        (NOT_MENTIONED, MENTIONED),
        (RELATED, NOT_MENTIONED),
        (NOT_MENTIONED, RELATED),
        (NOT_MENTIONED, NOT_MENTIONED),
    ]
    for i in range(n):
        cells = {}
        for j, topic in enumerate(("执法能力", "普法宣传")):
            problem, measure = cycle[(i + j) % len(cycle)]
            c = citation(i + 1, f"乡{i}", f"县{i % counties}", "河南省", "problems")
            cells[topic] = cell = CompareCell()
            cell.set_grade("problem", problem, c)
            cell.set_grade("measure", measure, c)
        rows.append(
            CompareRow(f"r{i}", f"乡{i}", f"县{i % counties}", "河南省", 2022 + i % 2, cells)
        )
    return CompareMatrix(["执法能力", "普法宣传"], rows)


def test_totals_count_each_township_once_per_bar() -> None:
    matrix = graded_matrix()
    (t, _) = matrix.totals()
    assert (t.reports, t.problems, t.measures, t.measures_only, t.related) == (120, 40, 40, 20, 40)
    assert t.not_mentioned == 20
    # an old-style cell (a citation, no grade) still reads as 明确提到
    assert (
        CompareCell(problem=matrix.rows[0].cells["执法能力"].problem).grade("problem") == MENTIONED
    )
    assert CompareCell().label == "未提及"
    assert matrix.rows[3].cells["执法能力"].label == "相关（存在问题）"


def test_matrix_html_has_a_totals_row_sort_keys_and_grades() -> None:
    matrix = graded_matrix()
    html = matrix_html(matrix)
    totals = re.search(r'<tr class="fz-totals">(.*?)</tr>', html)
    assert totals and "问题 40" in totals.group(1) and "相关 40" in totals.group(1)
    assert html.count('<tr data-county="河南省 县') == 120
    assert html.count("✔ 问题") == 80 + 1  # two topics × 40, and the legend
    assert 'class="fz-mark fz-related fz-related-problem"' in html
    assert re.search(r'<td data-k="8" data-p="1">', html)  # ✔ problem and ✔ measure: 2*3+2
    assert 'class="fz-sort" data-col="3"' in html and "fz-by-county" in html


def test_matrix_exports_carry_grades_and_totals(tmp_path: Path) -> None:
    matrix = graded_matrix(12, 3)
    table = matrix_table(matrix)
    assert table[-3:] == [
        ["合计：列为存在问题", "", "", "", 4, 4],
        ["合计：有举措", "", "", "", 4, 4],
        ["合计：仅相关", "", "", "", 4, 4],
    ]


# -- charts ----------------------------------------------------------------------------------
def test_chart_tables_match_the_matrix(tmp_path: Path) -> None:
    matrix = graded_matrix()
    charts = {c.name: c for c in chart_data(matrix)}
    assert set(charts) == {"grades", "areas", "years"}
    totals = {t.topic: t for t in matrix.totals()}
    for row in charts["grades"].rows:
        t = totals[row["主题"]]
        expected = {
            "列为存在问题": t.problems,
            "有举措（未列为问题）": t.measures_only,
            "仅相关": t.related,
        }
        assert row["乡镇数"] == expected[row["等级"]]
    areas = charts["areas"]
    assert areas.columns[0] == "县区" and len(areas.rows) == 12 * 2
    for topic, t in totals.items():
        assert sum(r["列为存在问题"] for r in areas.rows if r["主题"] == topic) == t.problems
        years = [r for r in charts["years"].rows if r["主题"] == topic]
        assert sum(r["乡镇数"] for r in years if r["方面"] == "列为存在问题") == t.problems
        assert sum(r["乡镇数"] for r in years if r["方面"] == "有举措") == t.measures
    for data in charts.values():  # the chart draws exactly its table
        spec = chart(data).to_dict()
        (values,) = spec["datasets"].values()
        assert [{k: v[k] for k in data.columns} for v in values] == data.rows
        with write_chart_csv(data, tmp_path / f"{data.name}.csv").open(encoding="utf-8-sig") as fh:
            assert len(list(csv.DictReader(fh))) == len(data.rows)


def test_many_counties_are_drawn_by_province_and_one_year_has_no_year_chart() -> None:
    matrix = graded_matrix(n=MAX_COUNTIES * 2, counties=MAX_COUNTIES + 1)
    for row in matrix.rows:
        row.year = 2023
    charts = {c.name: c for c in chart_data(matrix)}
    assert "years" not in charts
    assert charts["areas"].columns[0] == "省份" and "按省份汇总" in charts["areas"].note


def test_the_real_matrix_grades_match_the_support_verdicts(service: AnswerService) -> None:
    matrix = compare(service, ["执法能力"])
    support = {s.report_id: s.grade for s in service.support("执法能力", ["problems"])}
    for row in matrix.rows:
        cell = row.cells["执法能力"]
        assert cell.grade("problem") == support[row.report_id]
        assert (cell.problem is not None) == (support[row.report_id] == MENTIONED)
        if support[row.report_id] == RELATED:
            assert cell.problem_related is not None


# -- 报告 facets -------------------------------------------------------------------------------
def stored(
    township: str, county: str, province: str, year: int, kind: str = "annual_report"
) -> StoredReport:
    meta = ReportMeta(township=township, county=county, province=province, year=year, kind=kind)  # type: ignore[arg-type]
    return StoredReport(
        id=township,
        source=f"{township}.txt",
        format="txt",
        meta=meta,
        sections=[],
        passage_count=1,
        fingerprint="",
    )


def test_facet_counts_follow_the_other_facets() -> None:
    reports = [
        stored("甲镇", "宝丰县", "河南省", 2023),
        stored("乙镇", "宝丰县", "河南省", 2022),
        stored("丙镇", "巫溪县", "重庆市", 2023, "duty_report"),
    ]
    choices = facet_choices(reports, selection([[], [], [], []]))
    assert choices["province"] == [("河南省（2）", "河南省"), ("重庆市（1）", "重庆市")]
    assert choices["year"] == [("2023（2）", "2023"), ("2022（1）", "2022")]
    assert choices["kind"] == [("年度报告（2）", "年度报告"), ("述法报告（1）", "述法报告")]
    chosen = selection([["河南省"], [], [], []])
    narrowed = facet_choices(reports, chosen)
    assert narrowed["province"] == choices["province"]  # a facet does not narrow itself
    assert narrowed["year"] == [("2023（1）", "2023"), ("2022（1）", "2022")]
    assert [r.meta.township for r in reports if matches(r, chosen)] == ["甲镇", "乙镇"]


@pytest.mark.parametrize("grade", [MENTIONED, RELATED])
def test_grade_marks_are_buttons_that_open_the_passage(grade: Grade) -> None:
    c = citation(1, "甲镇", "宝丰县", "河南省", "problems")
    cell = (
        CompareCell(problem=c, problem_grade=grade)
        if grade == MENTIONED
        else CompareCell(problem_grade=grade, problem_related=c)
    )
    html = matrix_html(
        CompareMatrix(
            ["执法能力"], [CompareRow("r", "甲镇", "宝丰县", "河南省", 2023, {"执法能力": cell})]
        )
    )
    assert re.search(r'<button type="button" class="fz-mark [^"]*" data-fz-open="r001\|', html)


def test_an_llm_answer_shows_its_summary_once_between_the_counts_and_the_lists() -> None:
    answer = long_answer(2, 3, 20)
    stated = [v for v in answer["verdicts"] if v["grade"] == MENTIONED]
    enumeration = "\n".join(
        [
            "在范围内的 25 份报告中：2 个乡镇明确提到，3 个提到相关内容，20 个未提及。",
            "",
            *(
                f"- **{v['township']}**（{v['county']}，2023年，存在问题）：“原文” [{v['citation']}]"
                for v in stated
            ),
        ]
    )
    answer |= {"mode": "llm", "answer": f"两个乡镇都承认执法能力不足[1][2]。\n\n{enumeration}"}
    html = corpus_answer_html(answer, 0, {1, 2, 3, 4, 5}) or ""
    assert html.index("fz-lead") < html.index("两个乡镇都承认") < html.index(stated[0]["township"])
    assert html.count("两个乡镇都承认") == 1 and html.count("在范围内的 25 份报告中") == 1
    assert html.count(f"<strong>{stated[0]['township']}</strong>") == 1
    assert html.count('class="fz-cite"') == 2 + 2 + 3  # the summary's, the stated, the related
