"""Answering over the five sample reports: each question kind, filters, no-answer, citations."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from app.answering import AnswerService, Filters
from app.answers.counts import asks_count
from app.answers.evidence import question_topic
from app.answers.models import MENTIONED
from app.cli import cli
from app.question import parse_question
from app.retrieval import (
    INTENT_WORDS,
    SHORTFALL,
    TOKEN_CACHE,
    HybridRetriever,
    Topic,
    _parts_cover,
)
from app.services import open_store
from app.settings import Settings
from app.text import PassageTokens, Tokenizer, term_forms
from tests.conftest import SAMPLE_TOWNSHIPS, ingest_into
from tests.fixture_files import sample_text
from vectorstore import Scope

EXAMPLE = "哪些乡镇把执法能力不足列为存在的问题？"


def assert_citations_round_trip(service: AnswerService, answer) -> None:
    for c in answer.citations:
        report = service.store.get_report(c.report_id)
        assert report.text[c.start : c.end] == c.text
        assert report.text[c.quote_start : c.quote_end] == c.quote
        assert c.start <= c.quote_start < c.quote_end <= c.end
        assert f"[{c.n}]" in answer.answer


def test_corpus_wide_question_lists_townships_with_problem_citations(service):
    answer = service.ask(EXAMPLE)
    assert answer.kind == "corpus" and answer.found
    assert {"王场镇", "石桥镇", "万灵镇"} <= set(answer.townships)
    # 塘坊镇's problem is general staff ability, not enforcement: on the topic, not the claim
    assert "塘坊镇" not in answer.townships
    assert [r.township for r in answer.related] == ["塘坊镇"]
    related = answer.citations[answer.related[0].citation - 1]
    assert related.township == "塘坊镇" and "依法行政能力" in related.quote
    assert "另有 1 个乡镇提到相关内容" in answer.answer
    grades = {v.township: v.grade for v in answer.verdicts}
    assert grades == {**{t: "明确提到" for t in answer.townships}, "塘坊镇": "相关"}
    assert answer.answer.startswith(
        "在范围内的 5 份报告中：4 个乡镇明确提到，1 个提到相关内容，0 个未提及"
    )
    for c in answer.citations:
        assert c.section == "problems"
    by_township = {c.township: c for c in answer.citations}
    assert "执法能力和执法水平有待于提升" in by_township["王场镇"].quote
    # 西联镇's problems section opens by praising the year ("执法水平有所提高"); the quote is
    # one of the shortfalls it then lists
    assert "西联镇" in answer.townships
    assert "有所提高" not in by_township["西联镇"].quote
    assert SHORTFALL.search(by_township["西联镇"].quote)
    # ...the one on enforcement: "行政执法不严、效能不高" spells out 执法效能, a synonym of
    # 执法能力, not "依法行政、执政为民理念淡薄" before it
    assert "效能不高" in by_township["西联镇"].quote
    assert_citations_round_trip(service, answer)


def test_a_quote_is_the_sentence_not_the_heading_before_it(service):
    # 万灵镇: "（五）整合网格力量，升级基层治理水平。一是完善网格化管理。" then the sentence
    # that names the 网格员; both cover the topic's words alike, the meaning decides
    answer = service.ask("哪些乡镇的法治工作里提到了网格员？")
    by_township = {c.township: c for c in answer.citations}
    assert "网格员" in by_township["万灵镇"].quote
    assert not by_township["万灵镇"].quote.startswith("（五）")
    assert_citations_round_trip(service, answer)


def test_a_quote_is_never_the_heading_of_its_section(service):
    """ "三、2023年度推进法治政府建设存在的不足和原因" names the section the citation shows (and says
    不足 like a stated shortfall): a problems question quotes what the report admits."""
    answer = service.ask("塘坊镇和万灵镇都承认创新做得不够，还有别的镇这么说吗？")
    assert len(answer.citations) == 5
    for citation in answer.citations:
        section_heading = citation.heading.split(">")[0].strip()
        assert citation.quote.strip() != section_heading, citation.township
    by_township = {c.township: c for c in answer.citations}
    assert "不够" in by_township["石桥镇"].quote
    assert_citations_round_trip(service, answer)


def test_the_leadership_s_members_are_its_leadership(service):
    """Reports say 班子成员 for the 领导班子's members: a question about the 领导班子 finds it."""
    answer = service.ask("哪些镇的领导班子学法形成了制度？")
    assert "石桥镇" in answer.townships
    (quote,) = [c.quote for c in answer.citations if c.township == "石桥镇"][:1]
    assert "班子成员学法经常化、制度化" in quote
    # a sentence about the leadership's duties, without its study, does not state it
    assert "王场镇" not in answer.townships


def test_a_question_worded_unlike_every_report_finds_the_paraphrase_first_among_related(service):
    # no report says 一人多岗 or 顾不上; 王场镇 writes "执法队人员还兼政府其他业务，没有充分的时间":
    # close in meaning, but not close enough to state it for sure, so it leads the 相关 list
    answer = service.ask("哪些镇的执法人员一人多岗，顾不上执法？")
    assert answer.townships == [] and not answer.found
    first = answer.citations[answer.related[0].citation - 1]
    assert answer.related[0].township == "王场镇" and "还兼政府其他业务" in first.quote
    assert_citations_round_trip(service, answer)


def test_a_rate_asked_as_a_percentage_is_the_sentence_with_the_percent(service):
    # 王场镇 writes "办结率96%"; 石桥镇's "覆盖率达100%" is a rate of something else
    answer = service.ask("哪些镇给出了信访件的办结率（百分比）？")
    assert answer.townships == ["王场镇"]
    assert "石桥镇" not in answer.townships


def test_a_quoted_name_no_report_uses_is_stated_by_no_passage_close_in_meaning(service):
    # no report names "三官一律"; 万灵镇's lawyer passage is close in meaning (a lawyer serves
    # the township) but states no such mechanism: on the topic, not 明确提到
    answer = service.ask("哪些镇在推行“三官一律”进村（法官、检察官、警官、律师进村服务）？")
    assert answer.townships == [] and not answer.found
    assert "万灵镇" in {r.township for r in answer.related}
    # ...nor by words: 三官 and 进村 are met only by report words near them (三是, 个村)
    answer = service.ask("“三官一律”进村，哪些镇在做？")
    assert answer.townships == [] and "石桥镇" in {r.township for r in answer.related}
    assert "没有明确提到“‘三官一律’进村”" in answer.answer  # its quotes nest inside the answer's


def test_a_passage_close_in_meaning_states_a_claim_only_with_most_of_its_words(service):
    # 西联镇's passage on its own legal adviser's work is close to "每个村都配有法律顾问" in
    # meaning but shares little of its wording: on the topic, not stating every village has one
    answer = service.ask("哪些镇已经做到每个村（社区）都配有法律顾问？")
    assert "西联镇" not in answer.townships
    assert "西联镇" in {r.township for r in answer.related}
    assert {"万灵镇", "王场镇"} <= set(answer.townships)


def test_plans_a_question_includes_are_not_all_it_asks_about():
    from app.question import parse_question

    facets = {"township": list(SAMPLE_TOWNSHIPS)}
    parsed = parse_question("哪些镇发传单普法（含计划中的）？", facets)
    assert set(parsed.sections) == {"measures", "innovations", "plans"}
    assert "计划" not in parsed.core  # the note says what counts; it is not the topic
    parsed = parse_question("哪些镇面向学校普法（已经做的或打算做的都算）？", facets)
    assert "plans" in parsed.sections and "measures" in parsed.sections
    # the year's own arrangements are measures, not next year's plans
    assert "plans" not in parse_question("哪些镇交代了当年干部学法的安排？", facets).sections
    assert parse_question("哪些镇的今后工作安排提到执法监督？", facets).sections == ["plans"]
    # what the report's year did ("报告年度内…搞了"): measures, not next year's plans
    parsed = parse_question("报告年度内有哪几个镇借宪法日这类节点搞了集中普法？", facets)
    assert parsed.sections == ["measures", "innovations"]
    assert parse_question("哪些镇下一年度内要建成法治示范村？", facets).sections == ["plans"]
    # what was done ("参加过"): a plan to encourage it ("鼓励…参加执法考试") is not
    parsed = parse_question("哪些镇组织干部参加过法律知识考试？", facets)
    assert parsed.sections == ["measures", "innovations"]
    assert "plans" not in parse_question("哪些镇聘过律师当法律顾问？", facets).sections
    # 通过, 超过 and 经过 say nothing of when
    assert parse_question("哪些镇通过微信群普法？", facets).sections == []
    # plans left out in an aside ("光写打算的不算", "计划搞的别算"): what was done is asked
    for question in (
        "哪些镇已经建了调解室？（光写打算的不算）",
        "哪些镇建了调解室，计划搞的别算？",
        "哪个镇建起了预警机制？（不是说计划要建）",
        "哪些镇建了调解室，不包括计划中的？",
    ):
        parsed = parse_question(question, facets)
        assert parsed.sections == ["measures", "innovations"], question
        assert not any(w in parsed.core for w in ("打算", "计划", "不算", "别算", "（")), (
            parsed.core
        )
    # ...while asking whether something is planned, or 计划 in another sense, leaves nothing out
    parsed = parse_question("哪些镇是不是准备建调解室？", facets)
    assert parsed.sections == ["plans"] and "调解室" in parsed.core
    assert "考核" in parse_question("哪些镇提到计划生育工作不计入考核？", facets).core
    # 过程, 过去: no 过 of something done
    assert parse_question("哪些镇在推行过程中遇到了阻力？", facets).sections == []
    # a placeholder for a name is no word: the examples stay alternatives of one group
    assert parse_question("哪些镇建了XX工作室、××茶室？", facets).core == "建了工作室、茶室"
    # a request to cite is no topic: every answer cites
    assert parse_question("哪些镇开展过执法案卷评查？要有出处", facets).core == "开展过执法案卷评查"
    assert "出处" not in parse_question("哪些镇提到了法律顾问？请附原文出处。", facets).core


def test_lookup_quotes_the_sentence_with_the_fact(service):
    answer = service.ask("石桥镇有多少名法律明白人？")
    assert answer.kind == "lookup" and answer.found
    assert answer.citations[0].township == "石桥镇"
    assert "159名法律明白人" in answer.citations[0].quote
    assert "159名法律明白人" in answer.answer
    assert_citations_round_trip(service, answer)


def test_a_count_of_something_else_does_not_answer_a_count_question(service):
    # 石桥镇 counts the 案件 its 司法所 mediated, never administrative reconsideration cases
    assert not service.ask("石桥镇司法所办理了多少起行政复议案件？").found
    answer = service.ask("万灵镇办理了多少起行政复议案件？")
    assert answer.found and "行政复议案件1起" in answer.citations[0].quote
    answer = service.ask("石桥镇司法所调解了多少起案件？")
    assert answer.found and "调解案件40余起" in answer.citations[0].quote
    # what is counted may come before the ask
    assert not service.ask("石桥镇行政复议案件有多少起？").found
    assert service.ask("万灵镇行政复议案件有多少起？").found


def test_a_count_lookup_quotes_the_sentence_counting_what_is_asked(service):
    # the passage's best-covering sentence names the 执法大队 and gives its office's 500㎡;
    # the count of 执法队员 is in the next one
    answer = service.ask("石桥镇综合行政执法大队有多少名执法队员？持证情况怎么样？")
    assert answer.found and "16名执法队员均持证上岗" in answer.citations[0].quote
    assert "500㎡" not in answer.citations[0].quote
    # ...also when the question words the rest otherwise (执法证 for 持证): the sentence naming
    # the 执法大队 says what the count is of
    answer = service.ask("石桥镇综合行政执法大队有多少名执法队员？是否都有执法证？")
    assert answer.found and "16名执法队员" in answer.citations[0].quote
    # "出去执法": the direction says nothing of what is counted
    answer = service.ask("万灵镇今年一共出去执法了多少次？办了几起执法案件？")
    assert answer.found and "开展执法45次" in answer.citations[0].quote


def test_a_major_decision_is_one_whether_written_with_or_without_xingzheng(service):
    # 塘坊镇 writes 重大决策 for the statutes' 重大行政决策
    answer = service.ask("塘坊镇做重大行政决策要走哪几道必经程序？")
    assert answer.found and "5项必经程序" in answer.citations[0].quote
    # ...but the centre's 重大决策部署, which every report carries out, is not one
    facets = service.store.facet_values()
    topic = question_topic(
        service.retriever, parse_question("哪些镇落实了重大行政决策制度？", facets)
    )
    decision = topic.groups.index(("重大行政决策",))
    held = topic.found_in("全面贯彻落实上级关于法治建设的重大决策部署")
    assert not set(topic.needles[decision]) & held


def test_a_setting_alone_does_not_state_the_claim_made_in_it(service):
    # "在重大行政决策上": 王场镇 consults its lawyers on major decisions, but holds no 听证
    answer = service.ask("在重大行政决策上，哪些乡镇明确说落实了听证制度？")
    assert answer.townships == ["西联镇"]
    assert "王场镇" not in {v.township for v in answer.verdicts if v.grade == "明确提到"}
    # "在X上下功夫" is working on X: the setting is the whole topic
    answer = service.ask("哪些镇下一步准备在规范性文件的合法性审查或监管上下功夫？")
    assert {"塘坊镇", "石桥镇", "西联镇"} <= set(answer.townships)
    # a lookup asks it of the named report the same way
    assert not service.ask("王场镇在重大行政决策上落实了听证制度吗？").found


def test_the_heaviest_words_outside_a_setting_head_its_claim():
    topic = Topic(
        [("重大行政决策",), ("落实",), ("听证",), ("制度",)],
        [0.57, 0.09, 0.24, 0.09],
        [{"重大行政决策": 1.0}, {"落实": 1.0}, {"听证": 1.0}, {"制度": 1.0}],
        [[], [], [], []],
        setting=frozenset({0}),
    )
    assert topic.claim_heads == {2}
    assert HybridRetriever._score(frozenset({"重大行政决策", "落实", "制度"}), topic, False) == 0
    assert HybridRetriever._score(frozenset({"重大行政决策", "听证"}), topic, False) > 0.8
    # ranking still sees the setting's words
    assert HybridRetriever._score(frozenset({"重大行政决策", "落实", "制度"}), topic, True) > 0.7
    assert Topic(topic.groups, topic.weights, topic.needles, topic.parts).claim_heads == set()
    # a report word only near the head in meaning (会议 for 听证) does not say it
    topic.needles[2]["会议"] = 0.6
    topic.near = [frozenset(), frozenset(), frozenset({"会议"}), frozenset()]
    assert HybridRetriever._score(frozenset({"重大行政决策", "会议"}), topic, False) == 0


def test_a_synonym_spelled_out_ranks_a_sentence_but_states_nothing(service):
    facets = service.store.facet_values()
    topic = question_topic(
        service.retriever, parse_question("哪些镇把普法宣传不到位列为问题？", facets)
    )
    coverage = service.retriever.coverage
    # 法治 and 宣传 apart (a synonym's parts, 法治宣传) are on the topic, not a statement of it
    apart = "在法治政府制度建设、制度执行和制度宣传等方面的工作创新需进一步强化"
    assert coverage(apart, topic) > coverage("在制度执行和制度宣传等方面需进一步强化", topic)
    assert coverage(apart, topic, partial=False) == 0
    assert coverage("法治宣传不到位", topic, partial=False) == 1


def test_which_steps_a_township_asks_for_are_found_in_its_words(service):
    # "哪几道" is how the question asks, "法定程序" the reports' "必经程序"
    answer = service.ask("塘坊镇做重大决策要走哪几道法定程序？")
    assert answer.found and "5项必经程序" in answer.citations[0].quote
    assert answer.townships == ["塘坊镇"]


def test_when_a_report_was_published_comes_from_its_page_header(service):
    # the header line "日期:2023-02-08" is cleaned out of the text; ingest kept it as metadata
    answer = service.ask("塘坊镇那份2022年度报告是哪天发布的？")
    assert answer.found and answer.townships == ["塘坊镇"]
    assert "2023-02-08" in answer.answer
    assert_citations_round_trip(service, answer)
    answer = service.ask("各镇报告的发布日期分别是什么？")
    assert "2024-02-22" in answer.answer and "万灵镇" in answer.answer
    assert "原文件未载明发布日期" in answer.answer  # 万灵镇's file gives no date
    # when a township publishes its lists is a question about its work, not about the report
    answer = service.ask("塘坊镇何时公布权责清单？")
    assert not answer.answer.startswith("发布日期取自")


def test_peer_practice_names_the_practices(service):
    answer = service.ask("别的镇在矛盾纠纷化解上有什么做法？")
    assert answer.kind == "practice" and answer.found
    assert len(answer.townships) >= 4
    for name in ("贵和", "老娘舅茶室", "小院+微解纷"):
        assert name in answer.answer
    # 石桥镇's passage also names its opera tour and 塘坊镇's its forums: not dispute practices
    for name in ("送戏下乡", "镇村工作论坛"):
        assert name not in answer.answer
    assert_citations_round_trip(service, answer)


def test_a_practice_entry_cites_a_passage_naming_its_practice(service):
    """王场镇's passage covering disputes best names no practice; the entry cites the one naming
    贵和 (its quote, the sentence on the topic), and quotes a naming sentence on the topic."""
    answer = service.ask("别的镇在矛盾纠纷化解上有什么做法？")
    first = {}
    for c in answer.citations:
        first.setdefault(c.township, c)
    assert "“贵和”" in first["王场镇"].text and "贵和" in answer.answer
    # the sentence naming it, under the passage's heading on the topic (not the committees'
    # re-election before it, which names nothing)
    assert "“贵和”调解工作制度" in first["王场镇"].quote
    assert "“大调解”" in first["西联镇"].quote  # its best passage quoted 矛盾纠纷排查调处 before
    assert_citations_round_trip(service, answer)


def test_a_citation_s_heading_is_the_one_its_quote_is_under(service):
    """A passage of 王场镇's （二） runs on into （三）; a quote from the latter part is cited
    under （三）."""
    answer = service.ask("王场镇在矛盾纠纷排查上是怎么做的？")
    [cited] = [c for c in answer.citations if "认真开展了矛盾纠纷的排查" in c.quote]
    assert cited.heading.endswith("（三）社会矛盾纠纷有效化解方面"), cited.heading
    assert cited.text.startswith("一是实行行政规范性文件")  # the passage begins under （二）


def test_named_places_and_years_in_the_question_become_filters(service):
    answer = service.ask("重庆的乡镇里，哪些在下一步打算中提到要化解矛盾纠纷？")
    assert answer.filters["provinces"] == ["重庆市"]
    assert set(answer.townships) <= {"王场镇", "塘坊镇", "万灵镇"}
    assert "石桥镇" not in answer.answer and "西联镇" not in answer.answer
    answer = service.ask("2022年度的报告里总结了哪些创新经验？")
    assert answer.filters["year_from"] == answer.filters["year_to"] == 2022
    assert answer.townships == ["塘坊镇"]


def test_years_listed_in_the_question_are_each_asked_and_only_they(service):
    """ "2019年和2021年": both years (not the first only, nor 2019-2021), and their words are
    scaffolding, not the topic; an explicit year filter wins over them."""
    question = "2019年和2021年的报告中，哪些镇介绍了人民调解方面的具体做法？"
    answer = service.ask(question)
    assert answer.filters["years"] == [2019, 2021]
    assert "year_from" not in answer.filters
    assert {v.township for v in answer.verdicts} == {"西联镇", "王场镇"}  # 2019 and 2021
    assert set(answer.townships) == {"西联镇", "王场镇"}
    assert {c.year for c in answer.citations} == {2019, 2021}
    assert parse_question("2019、2021年度哪些镇提到法律顾问？", {}).scope.years == [2019, 2021]
    several = parse_question("2019年、2020年及2022年的报告里哪些镇提到普法", {})
    assert several.scope.years == [2019, 2020, 2022] and several.core == "普法"
    each = parse_question("2019年的报告和2021年的报告里哪些镇提到普法？", {})
    assert (each.scope.years, each.core) == ([2019, 2021], "普法")
    for ranged in ("2019年到2021年哪些镇提到普法", "2019年和2021年之间哪些镇提到普法"):
        scope = parse_question(ranged, {}).scope
        assert (scope.years, scope.year_from, scope.year_to) == ([], 2019, 2021), ranged
    # a number running into a year is not one
    assert parse_question("12019、2021年哪些镇提到普法", {}).scope.years == []
    # "及更早", "及更晚": up to, from
    for said, years in (
        ("2021年及更早的报告中", (None, 2021)),
        ("2022年及更晚的", (2022, None)),
        ("比2021年更早的报告里", (None, 2020)),  # the year itself left out
        ("比2021年更晚的", (2022, None)),
    ):
        parsed = parse_question(f"{said}哪些镇提到普法？", {})
        assert (parsed.scope.year_from, parsed.scope.year_to) == years, said
        assert parsed.core == "普法", said
    # the store's own filter (Chroma's where clause) agrees with the in-memory one
    stored = service.store.passages(Scope(years=[2019, 2021]))
    assert stored and {p.meta["year"] for p in stored} == {2019, 2021}
    explicit = service.ask(question, Filters(year_from=2021, year_to=2021))
    assert {v.township for v in explicit.verdicts} == {"王场镇"}
    assert "years" not in explicit.filters


def test_recent_years_are_counted_back_from_the_newest_report(service):
    answer = service.ask("近三年哪些乡镇提到法律顾问？")  # the newest report is 万灵镇's 2024
    assert answer.found and {v.year for v in answer.verdicts} == {2022, 2023, 2024}
    assert "“近三年”按库中最新的 2024 年度报告往前算：2022—2024年" in (answer.notice or "")
    # a year filter replaces them: the notice says so, and no more of 近三年
    answer = service.ask("近三年哪些乡镇提到法律顾问？", Filters(year_from=2021, year_to=2021))
    assert answer.notice == "年份按筛选条件为2021年（问题中是2022—2024年）。"
    # and a question they leave nothing of says how they were read
    answer = service.ask("王场镇近三年有哪些问题？")  # 王场镇's report is 2021's
    assert not answer.found and "“近三年”按库中最新的" in (answer.notice or "")
    facets = {"year": [2019, 2021, 2022, 2023, 2024]}
    for question, years in [
        ("最近两年哪些镇提到普法？", (2023, 2024)),
        ("近5年哪些镇提到普法？", (2020, 2024)),
        ("这几年哪些镇提到普法？", (2022, 2024)),
        ("近一年哪些镇提到普法？", (2024, 2024)),
        ("近 3 年哪些镇提到普法？", (2022, 2024)),
        # the report's own year, and a manner of speaking, are no years to filter on
        ("哪些镇这一年集中学法学了几次？", (None, None)),
        ("近年来哪些镇提到普法？", (None, None)),
    ]:
        parsed = parse_question(question, facets)
        assert (parsed.scope.year_from, parsed.scope.year_to) == years, question
        assert "年" not in parsed.core or years == (None, None), parsed.core


def test_explicit_filters_win_and_every_citation_obeys_them(service):
    filters = service.resolve(Filters(provinces=["河南"], sections=["plans"]))
    assert filters.provinces == ["河南省"]
    assert service.resolve(Filters(counties=["石柱县"])).counties == ["石柱土家族自治县"]
    answer = service.ask(EXAMPLE, filters)
    assert {c.township for c in answer.citations} <= {"石桥镇"}
    assert all(c.section == "plans" for c in answer.citations)
    answer = service.ask("法律顾问", Filters(year_from=2023, year_to=2024))
    assert answer.citations and all(c.year in (2023, 2024) for c in answer.citations)


def test_a_filter_that_overrides_the_questions_own_words_says_so(service):
    answer = service.ask(
        "重庆有哪些乡镇提到法律顾问？", service.resolve(Filters(provinces=["河南"]))
    )
    assert answer.townships == ["石桥镇"]
    assert "省份按筛选条件为河南省（问题中是重庆市）" in (answer.notice or "")
    answer = service.ask("2019年哪些乡镇提到法律顾问？", Filters(year_from=2024, year_to=2024))
    assert "年份按筛选条件为2024年（问题中是2019年）" in (answer.notice or "")
    answer = service.ask(EXAMPLE, Filters(sections=["plans"]))
    assert "只查了“下一步打算”部分（问题问的是“存在问题”）" in (answer.notice or "")
    # a filter the question agrees with, or says nothing of, is not remarked on
    for question, filters in (
        ("河南有哪些乡镇提到法律顾问？", Filters(provinces=["河南省"])),
        ("哪些乡镇提到法律顾问？", Filters(provinces=["河南省"], year_from=2023, year_to=2023)),
    ):
        assert "筛选条件" not in (service.ask(question, filters).notice or ""), question


def test_unanswerable_questions_claim_nothing(service):
    for question in (
        "龙驹镇的法治政府建设报告里提到了哪些问题？",  # not in the corpus
        "哪些乡镇配备了公职律师，各有几名？",  # no report says so
        "塘坊镇培养了多少名法律明白人？",  # 法律明白人 appear elsewhere, not in 塘坊镇
        "万灵镇2023年办理了多少起行政复议案件？",  # no 2023 report for 万灵镇
        "万灵镇有多少名执法人员持有执法证？",  # its sentences on 执法人员 give no count
        "王场镇的法律顾问服务了多少次？",  # the only number near its 法律顾问 is "2021年"
        # 工作站 is in no report: 工作 (法律服务工作者) is not it, nor is any 工作室
        "有哪几个镇建起了公共法律服务工作站（室）？",
        # no report has 首违不罚: 违建 and 处罚 look like its halves, and one report word
        # stands for one of the question's words at most
        "哪些镇对轻微违法行为推行了“首违不罚”或免罚清单？",
    ):
        answer = service.ask(question)
        assert not answer.found, question
        assert answer.townships == [], question
        # what is on the topic may follow, as 相关 with its quote, never as an answer
        cited = {c.report_id for c in answer.citations}
        assert cited == {r.report_id for r in answer.related}, question
        assert answer.answer.startswith("资料中未找到"), question


def test_a_lookup_not_found_quotes_the_topic_not_the_asking(service):
    # 塘坊镇 writes of cadres' 学法, never of 普法
    answer = service.ask("塘坊镇下一步打算怎么加强普法？")
    assert not answer.found
    assert "没有找到与“加强普法”直接相关的内容" in answer.answer


def test_a_lookup_asking_about_the_plans_quotes_the_plans(service):
    # 王场镇's measures speak of 普法 too; the question asks what it plans
    answer = service.ask("石柱县下一步打算怎么加强普法？")
    assert answer.found and answer.townships == ["王场镇"]
    assert answer.citations[0].section == "plans"
    assert "普法宣传教育" in answer.citations[0].quote


def test_a_lookup_whose_asked_section_is_silent_says_so_and_quotes_the_rest(service):
    # 塘坊镇's 法律顾问 is among its measures, not its problems
    answer = service.ask("塘坊镇存在的问题里怎么说法律顾问的？")
    assert answer.found and answer.townships == ["塘坊镇"]
    assert answer.answer.startswith(
        "塘坊镇报告的“存在问题”部分没有找到与“法律顾问”直接相关的内容；以下引自报告的其他部分。"
    )
    assert answer.citations[0].section == "measures"
    assert "法律顾问" in answer.citations[0].quote


def test_a_lookup_naming_two_townships_answers_each_in_the_order_asked(service):
    answer = service.ask("石桥镇和万灵镇的法律明白人有多少？")
    assert answer.kind == "lookup" and answer.townships == ["石桥镇", "万灵镇"]
    first, second = answer.citations[:2]
    assert (first.township, second.township) == ("石桥镇", "万灵镇")
    assert "159名法律明白人" in first.quote and "法律明白人”20人" in second.quote
    assert answer.answer.index("[1]") < answer.answer.index("[2]")


def test_how_named_townships_plan_to_do_something_is_asked_of_their_plans(service):
    # "怎么做" of the townships named, about their plans: their plans, not practices to borrow
    answer = service.ask("王场镇和万灵镇下一步打算怎么做普法？")
    assert answer.kind == "lookup" and answer.townships == ["王场镇", "万灵镇"]
    assert [c.section for c in answer.citations[:2]] == ["plans", "plans"]
    assert "可借鉴" not in answer.answer


def test_a_question_naming_counties_asks_every_township_there(service):
    # one passage from one report cannot answer for two counties: each township is graded
    answer = service.ask("石柱县和宝丰县的法律顾问是怎么配的？")
    assert answer.kind == "corpus" and set(answer.townships) == {"王场镇", "石桥镇"}
    # ...as for a province's three townships; one township named is still a lookup
    assert service.ask("重庆的法律顾问是怎么配的？").kind == "corpus"
    assert service.ask("石柱县王场镇的法律顾问是怎么配的？").kind == "lookup"
    # read again as a question about them all: an absence asked is one
    answer = service.ask("石柱县和宝丰县的下一步打算里没有提到普法吗？")
    assert answer.kind == "corpus" and "没有提到“普法”" in answer.answer


def test_a_lookup_says_which_named_township_has_nothing_on_it(service):
    # 塘坊镇 has no 法律明白人 (gold n08); 石桥镇 counts 159
    answer = service.ask("塘坊镇和石桥镇各有多少名法律明白人？")
    assert answer.townships == ["石桥镇"]
    assert "塘坊镇的报告里没有找到与“法律明白人”直接相关的内容。" in answer.answer
    assert {c.township for c in answer.citations} == {"石桥镇"}


def test_which_reports_lack_a_section_lists_those_without_it(tmp_path, fresh_store):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "wangchang.txt").write_text(sample_text(0), encoding="utf-8")
    shiqiao = sample_text(2)  # its measures only: cut before 存在的不足 and 主要安排
    opening = shiqiao[: shiqiao.index("三、2023年度推进法治政府建设存在的不足和原因")]
    (folder / "shiqiao.txt").write_text(opening, encoding="utf-8")
    ingest_into(fresh_store, folder)
    service = AnswerService(fresh_store)
    answer = service.ask("哪些镇的报告没有写存在的问题？")
    assert answer.found and answer.townships == ["石桥镇"] and not answer.citations
    assert "2 份报告中，1 份没有找到单独的“存在问题”部分" in answer.answer
    assert "shiqiao.txt" in answer.answer and "王场镇" not in answer.answer
    both = service.ask("哪些镇的报告没有写存在的问题？", Filters(townships=["王场镇"]))
    assert not both.found and "1 份报告都有“存在问题”部分" in both.answer


def test_one_long_report_does_not_crowd_out_the_rest(service):
    answer = service.ask("法律顾问发挥了什么作用？")
    per_report: dict[str, int] = {}
    for c in answer.citations:
        per_report[c.report_id] = per_report.get(c.report_id, 0) + 1
    assert max(per_report.values()) <= 3


def test_ask_json_is_the_answer_object(sample_store_dir):
    result = CliRunner().invoke(cli, ["ask", EXAMPLE, "--json", "--store", str(sample_store_dir)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {
        "question",
        "mode",
        "answer",
        "found",
        "townships",
        "citations",
        "filters",
        "timings",
    } <= set(data)
    assert data["mode"] == "extractive"
    citation = data["citations"][0]
    for key in (
        "n",
        "township",
        "county",
        "province",
        "year",
        "section",
        "heading",
        "text",
        "report_id",
        "source",
        "start",
        "end",
    ):
        assert key in citation


def test_ask_prints_answer_and_citation_lines(sample_store_dir):
    result = CliRunner().invoke(
        cli, ["ask", "石桥镇有多少名法律明白人？", "--store", str(sample_store_dir)]
    )
    assert result.exit_code == 0
    assert "159名法律明白人" in result.output
    assert "[1] 石桥镇（宝丰县，河南省，2023年，举措成效）" in result.output


def test_ask_on_an_empty_store_says_what_to_do(tmp_path, embeddings):
    open_store(Settings(_env_file=None, store=tmp_path / "empty"), embeddings).list_reports()
    result = CliRunner().invoke(cli, ["ask", EXAMPLE, "--store", str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert "is empty; run `fazhi ingest PATH` first" in result.output


def test_a_section_question_without_a_topic_shows_that_section(service):
    answer = service.ask("西联镇存在什么问题？")
    assert answer.found and answer.townships == ["西联镇"]
    assert all(c.section == "problems" for c in answer.citations)
    assert "依法行政意识还不够强" in answer.answer
    assert_citations_round_trip(service, answer)
    answer = service.ask("各乡镇下一步有什么打算？")
    assert set(answer.townships) == set(SAMPLE_TOWNSHIPS)
    assert all(c.section == "plans" for c in answer.citations)


def test_several_reports_from_one_township_are_told_apart(fresh_store, tmp_path):
    from tests.conftest import ingest_into
    from tests.fixture_files import sample_text

    older = tmp_path / "shiqiao-2022.txt"
    older.write_text(sample_text(2).replace("2023", "2022"), encoding="utf-8")
    newer = tmp_path / "shiqiao-2023.txt"
    newer.write_text(sample_text(2), encoding="utf-8")
    ingest_into(fresh_store, older, newer)
    answer = AnswerService(fresh_store).ask("哪些乡镇把执法能力不足列为存在的问题？")
    named = answer.townships + answer.not_mentioned
    assert sorted(named) == ["石桥镇（2022年）", "石桥镇（2023年）"]
    assert len(set(answer.townships)) == len(answer.townships)


def test_alternatives_in_a_question_are_either_or(service):
    # 执法记录仪 is in 王场镇's and 塘坊镇's reports, 法律明白人 in 石桥镇's and 万灵镇's
    answer = service.ask("哪些乡镇提到执法记录仪或法律明白人？")
    assert set(answer.townships) == {"王场镇", "塘坊镇", "石桥镇", "万灵镇"}
    assert "西联镇" not in answer.townships
    for c in answer.citations:
        if c.township in answer.townships:
            assert "执法记录仪" in c.quote or "法律明白人" in c.quote
    assert_citations_round_trip(service, answer)


def test_a_question_is_cut_the_same_whatever_the_number_of_townships_in_the_store():
    """Place names become words of the tokenizer (one per report); they must not change how
    other text is cut, or a report graded among 5 reports is graded otherwise among 1,000."""
    from app.text import PassageTokens

    text = "别的镇在执法上怎么做到不一罚了之、多讲教育引导？"
    tokenizer = Tokenizer()
    before = tokenizer.cut(text)
    PassageTokens(tokenizer).add_words(f"第{i}号镇" for i in range(1000))
    assert tokenizer.cut(text) == before
    assert "不一罚" in before


def test_a_numbered_policy_term_is_one_word_and_said_only_whole():
    tokenizer = Tokenizer()
    # apart, 随机 is an adverb and 一 a number: the term was read as 公开 alone
    assert tokenizer.word_groups("哪些乡镇提到双随机一公开") == [("双随机一公开",)]
    assert tokenizer.word_groups("“双随机、一公开”") == [("双随机一公开",)]
    assert tokenizer.word_groups("行政执法三项制度") == [("行政执法",), ("三项制度",)]
    # a count is not a term: 两个镇, 一百名
    groups = tokenizer.word_groups("哪两个镇有一百名法律明白人")
    assert ("法律明白人",) in groups and not any("镇" in w for g in groups for w in g)
    assert term_forms("双随机一公开") == ("双随机一公开", "双随机、一公开")
    assert term_forms("三项制度") == ("三项制度",)


def test_a_sentence_with_every_word_of_the_topic_states_it(service):
    # 石桥镇's sentence names 网格员 among the people who sort out disputes: its passage is
    # about disputes, far from the question in meaning, but it does mention them
    answer = service.ask("哪些乡镇提到网格员？")
    assert set(answer.townships) == {"万灵镇", "西联镇", "石桥镇"}


def test_a_numbered_policy_term_lists_only_the_reports_that_name_it(service):
    # only 王场镇 names them; the others' 政务公开 and 行政执法 are not them
    for question in ("哪些乡镇提到双随机一公开？", "哪些乡镇落实了行政执法三项制度？"):
        assert service.ask(question).townships == ["王场镇"], question


def test_word_groups_read_or_and_example_lists_as_alternatives():
    tokenizer = Tokenizer()
    assert tokenizer.word_groups("干部或执法人员培训") == [("干部", "执法人员"), ("培训",)]
    assert tokenizer.word_groups("微信、抖音这类新媒体") == [("微信", "抖音", "新媒体")]
    # a problem word between alternatives does not separate them...
    assert tokenizer.word_groups("法律意识淡薄或普法宣传", drop=INTENT_WORDS) == [
        ("法律意识", "普法宣传")
    ]
    # ...but other words do: this 、 joins two clauses, not two words
    assert tokenizer.word_groups("力量薄弱、缺少懂法律的专业人员", drop=INTENT_WORDS) == [
        ("力量",),
        ("法律",),
        ("专业人员",),
    ]
    # a one-character verb with a measure word says no more than the verb ("建个有特色的阵地")
    assert tokenizer.word_groups("建个有特色的调解阵地") == [("特色",), ("调解",), ("阵地",)]
    # ...and so does a number with its measure word: how many, not what (一人多岗 → 一人 + 多岗)
    assert [tokenizer.is_content(w) for w in ("一人", "两次", "每项", "一线", "人士")] == [
        False,
        False,
        False,
        True,
        True,
    ]


def test_the_topic_leaves_out_where_the_asker_looks_and_the_ask_for_practices():
    from app.question import parse_question

    facets = {"township": list(SAMPLE_TOWNSHIPS)}
    parsed = parse_question("明年的打算里，哪些镇说要把规范性文件管好？", facets)
    assert parsed.sections == ["plans"] and parsed.core == "把规范性文件管好"
    parsed = parse_question("有哪几个镇在问题部分提到执法人员身兼数职？", facets)
    assert parsed.sections == ["problems"] and parsed.core == "执法人员身兼数职"
    parsed = parse_question("别的镇在调解纠纷上有什么可以借鉴的做法？", facets)
    assert parsed.kind == "practice" and parsed.core == "调解纠纷上"
    # "有哪些好的做法", "好经验": asking for practices, as "有什么做法" is
    for question in ("其他乡镇在普法宣传上有哪些好的做法？", "别的镇在普法宣传上有哪些好经验？"):
        assert parse_question(question, facets).kind == "practice", question
    assert parse_question("哪些镇提到了经验交流？", facets).kind == "corpus"
    # a clause's lead is a whole word, not the start of one (说明, 要求, 了解, 镇长, 乡贤)
    for question, core in [
        ("哪些镇说明了执法依据？", "说明了执法依据"),
        ("哪些镇要求村居建立调解室？", "要求村居建立调解室"),
        ("哪些乡贤参与了调解？", "乡贤参与了调解"),
        ("哪些镇镇长带头讲法？", "镇长带头讲法"),
    ]:
        assert parse_question(question, facets).core == core
    # "压根没提到", "只字未提": an absence, and not part of the topic
    for question in ("哪些镇的报告压根没提到法律明白人？", "哪些镇的报告只字未提法律明白人？"):
        parsed = parse_question(question, facets)
        assert parsed.claim == "negation" and parsed.core == "法律明白人", parsed.core
    for question, core in [
        ("哪些镇没有说明法律顾问的人数？", "法律顾问的人数"),
        ("哪些镇没有给出调解案件的数量？", "调解案件的数量"),
        ("哪些乡镇的报告里没有法律明白人？", "法律明白人"),
        # "提到了X，但…却没有再提X": the absence is asked after the 但
        ("哪些镇在已做工作里提到了法律顾问，但下一步打算中却没有再提法律顾问？", "法律顾问"),
        ("哪些镇做了普法，但没有提到普法进校园？", "普法进校园"),
        ("哪个镇的下一步打算完全没有安排面向群众的普法宣传？", "下一步打算 面向群众的普法宣传"),
        # ...or before it, when nothing is named after it
        ("哪些镇提到了法律顾问，但下一步打算中没有再提？", "法律顾问"),
        ("哪些镇提到了法律顾问，但打算里却没有再提这个？", "法律顾问"),
    ]:
        parsed = parse_question(question, facets)
        assert parsed.claim == "negation" and parsed.core == core, parsed.core
    # "没有把X列为问题" asks of the problems sections: its 没有 is the absence, no shortfall
    parsed = parse_question("哪些乡镇没有把执法能力不足列为存在的问题？", facets)
    assert parsed.claim == "negation" and parsed.sections == ["problems"]
    parsed = parse_question("哪些镇的下一步打算里没有提到普法？", facets)
    assert parsed.claim == "negation" and parsed.sections == ["plans"]
    # a later question asking for the rest of the list: the first one is what is asked
    parsed = parse_question(
        "明年打算加大普法力度的有哪些镇？有没有哪个镇的打算里没提普法？", facets
    )
    assert parsed.claim == "plain" and parsed.sections == ["plans"]
    assert "没提" not in parsed.core and "普法" in parsed.core
    parsed = parse_question("普法很重要。哪些镇的打算里没提普法？", facets)
    assert parsed.claim == "negation"  # the first sentence asks nothing
    # a later question about something else is not the rest of the first one's list
    for question in (
        "哪些镇提到普法？哪些镇没有提到法律顾问？",
        "哪些镇提到普法？没提的有哪些问题？",
    ):
        assert parse_question(question, facets).claim == "negation", question
    # "有没有镇把…" asks whether any does, "承认没有…" states a shortfall: no absence asked
    assert parse_question("有没有镇把执法能力不足列为问题？", facets).claim == "plain"
    assert parse_question("哪些镇在报告里承认没有专职人员？", facets).claim == "plain"
    for question in (
        "哪些镇承认合法性审核没有把关？",  # 把关 is a word, not 把 + X
        "哪些镇承认没有把普法纳入考核？",  # an admission of a shortfall
        "哪些镇的问题是没把握好尺度？",
        "哪些乡镇的报告中未来一年打算加强普法？",  # 未来, not 未
        "哪些镇的年度报告没有按时公开？",  # of the report, not of what it says
    ):
        assert parse_question(question, facets).claim == "plain", question
    # the corpus the asker counts ("五份报告里", "这几个乡镇中") is not the topic
    for question in (
        "五份报告里，哪些交代了干部学法的安排？",
        "这几份报告中，哪些镇写了干部学法？",
        "这五个乡镇里，哪些镇写了干部学法？",
        "这两个镇里，哪个写了干部学法？",
        "那几个乡当中，哪些写了干部学法？",
    ):
        assert parse_question(question, facets).core.startswith("干部学法"), question
    # "哪三个镇…" asks which townships, as 哪几个镇 does; its count is not the topic
    for question in ("哪三个镇写了干部学法？", "哪两家乡镇写了干部学法？"):
        parsed = parse_question(question, facets)
        assert parsed.kind == "corpus" and parsed.core == "干部学法", question
    # which of the townships named: each of them is graded
    parsed = parse_question("塘坊镇和万灵镇这两个镇里，哪个写了干部学法？", facets)
    assert parsed.kind == "corpus" and parsed.unnamed_subset is None
    assert parse_question("这两个镇里，哪个写了干部学法？", facets).unnamed_subset == "这两个镇"
    assert parse_question("哪些镇建了五个调解室？", facets).core == "建了五个调解室"
    # "比如…" introduces the asker's examples, it is not one of them
    parsed = parse_question("哪些镇承认执法人员素质不高，比如没受过专业训练？", facets)
    assert "比如" not in parsed.core and "专业训练" in parsed.core
    # a shortfall named in the asker's own words is still a problems question
    assert parse_question("哪些乡镇检讨说干部培训没跟上？", facets).sections == ["problems"]


def test_an_absence_asked_in_other_words_lists_the_reports_without_it(service):
    # 万灵镇 and 石桥镇 write of their 法律明白人; the others do not
    answer = service.ask("哪些乡镇的报告里没有法律明白人？")
    assert set(answer.townships) == {"王场镇", "塘坊镇", "西联镇"}
    # the four that list 执法能力 as a problem are left out; 塘坊镇's problems do not name it
    answer = service.ask("哪些乡镇没有把执法能力不足列为存在的问题？")
    assert answer.townships == ["塘坊镇"]
    assert "没有提到“执法能力不足”" in answer.answer
    # every report writes of 法律顾问 among its measures; only 万灵镇's and 西联镇's plans
    # name it again: the others' plans are silent on it, whatever their measures say
    answer = service.ask("哪些镇在已做工作里提到了法律顾问，但下一步打算中却没有再提法律顾问？")
    assert set(answer.townships) == {"王场镇", "塘坊镇", "石桥镇"}
    assert "没有提到“法律顾问”" in answer.answer


def test_a_subset_the_question_does_not_name_is_said_to_be_the_whole_scope(service):
    """ "这两个镇里…" naming no township: fazhi cannot know which two, says so, and asks every
    report; "这五份报告里" over five reports is the corpus itself, said nothing of."""
    answer = service.ask("这两个镇里，哪个写了干部学法？")
    assert "“这两个镇”没有写明是哪些" in (answer.notice or "")
    assert "全部 5 份报告" in answer.notice
    assert service.ask("这五份报告里，哪些交代了干部学法的安排？").notice is None


def test_one_list_of_shortfall_words_serves_the_question_and_the_report():
    """A word that makes a question a problems question leaves its topic, and the same word in a
    report's sentence states the shortfall (the three lists had drifted apart)."""
    from app.question import parse_question

    facets = {"township": list(SAMPLE_TOWNSHIPS)}
    tokenizer = Tokenizer()
    for word in ("偏弱", "较弱", "不力", "不规范"):
        parsed = parse_question(f"哪些镇承认执法力量{word}？", facets)
        assert parsed.sections == ["problems"], word
        assert tokenizer.word_groups(parsed.core, drop=INTENT_WORDS) == [("执法",), ("力量",)]
        assert SHORTFALL.search(f"执法力量仍然{word}"), word
    # a report's 困难群众 is not a shortfall it states, though an asker's 困难 asks for one
    assert parse_question("哪些镇说执法有困难？", facets).sections == ["problems"]
    assert not SHORTFALL.search("为困难群众提供法律援助")


def test_asking_how_other_townships_do_it_is_a_practice_question(service):
    from app.question import parse_question

    question = "普法人手不够，别的镇是怎么发动志愿者的？"
    parsed = parse_question(question, {"township": list(SAMPLE_TOWNSHIPS)})
    # the shortfall is the asker's; what other townships did is in their measures
    assert parsed.kind == "practice" and parsed.sections == ["measures", "innovations"]
    # however long the situation the asker describes before "怎么"
    long = "别的镇遇到土地纠纷多、拖得久的老难题，是怎么化解的？"
    assert parse_question(long, {"township": list(SAMPLE_TOWNSHIPS)}).kind == "practice"
    answer = service.ask(question)
    assert "石桥镇" in answer.townships
    assert "志愿者" in {c.township: c for c in answer.citations}["石桥镇"].quote


def test_asking_whether_other_townships_do_something_asks_every_report(service):
    """A question about what other townships do ("别的镇有没有…", "其他乡镇是否…") is answered
    from every report in scope, never from one passage's yes or no; "有没有提到" is such a
    question, not an absence; "效果怎么样" only asks."""
    from app.question import parse_question

    facets = {"township": list(SAMPLE_TOWNSHIPS)}
    for question, sections in (
        ("别的镇有没有打造调解工作室、茶室这类有名号的阵地来化解矛盾纠纷？", []),
        ("其他乡镇在调解上是否设立了工作室？", []),
        ("其它乡镇有无设立公共法律服务工作站？", []),
        ("其他乡镇是否存在执法人员不足的问题？", ["problems"]),  # theirs, not the asker's
    ):
        parsed = parse_question(question, facets)
        assert (parsed.kind, parsed.sections, parsed.claim) == ("corpus", sections, "plain")
    parsed = parse_question("别的镇有没有提到法律顾问？", facets)
    assert (parsed.kind, parsed.claim, parsed.core) == ("corpus", "plain", "法律顾问")
    assert parse_question("别的镇有没有好的做法？", facets).kind == "practice"
    # "哪些镇…" asking for practices to borrow, in the ways people put it; the asking is not
    # the topic
    for question, core in (
        ("想在村里建个有特色的调解阵地，哪些镇的做法可以借鉴？", "想在村里建个有特色的调解阵地"),
        ("培养法律明白人，哪些镇有做法？", "培养法律明白人"),
        ("哪些镇在网格化治理上有成熟的经验？", "网格化治理上"),
        ("有哪些乡镇值得学习的普法做法？", "普法做法"),
    ):
        parsed = parse_question(question, facets)
        assert (parsed.kind, parsed.core) == ("practice", core), question
    for question in (  # asking which townships say something, not for their practices
        "哪些镇介绍了人民调解方面的具体做法？",
        "哪些镇把学习借鉴外地经验写进了下一步打算？",
        "哪些乡镇有经验不足的问题？",
        "哪些镇提到干部经验不足需要加强学习？",
        "哪些乡镇存在执法人员经验欠缺、学习不够的问题？",
        "哪些镇在存在的问题里提到缺乏可借鉴的经验？",
        "哪些镇的办法是组织干部学法？",
    ):
        assert parse_question(question, facets).kind == "corpus", question
    parsed = parse_question("别的镇有没有开展行政执法案卷评查？效果怎么样？", facets)
    assert parsed.core == "开展行政执法案卷评查"
    assert parse_question("哪些镇提到了成效？", facets).core == "成效"
    answer = service.ask("别的镇有没有打造调解工作室、茶室这类有名号的阵地来化解矛盾纠纷？")
    graded = {v.township: v.grade for v in answer.verdicts or []}
    assert set(graded) == set(SAMPLE_TOWNSHIPS)
    # 石桥镇's “老娘舅茶室”, 王场镇's 贵和工作室: on the topic, listed or related, never 未提及
    assert graded["石桥镇"] != "未提及" and graded["王场镇"] != "未提及"


def test_whether_others_say_so_too_and_a_practice_is_what_was_done():
    """ "…还有别的镇这么说吗？" asks every report; a peer-practice question with no section in its
    wording asks what townships did (measures), not what they plan or lack."""
    from app.question import parse_question

    facets = {"township": list(SAMPLE_TOWNSHIPS)}
    parsed = parse_question("执法力量不足的问题，还有别的镇这么说吗？", facets)
    assert parsed.kind == "corpus" and "还有" not in parsed.core and "这么说" not in parsed.core
    assert (
        parse_question("别的镇这么说吗，执法力量够不够？", facets).kind == "lookup"
    )  # no 吗 at the end
    parsed = parse_question("其他乡镇是怎么让网格员参与到法治工作里来的？", facets)
    assert parsed.kind == "practice" and not {"plans", "problems"} & set(parsed.sections)
    # with the plans asked for in words, they stay
    parsed = parse_question("别的镇下一步打算怎么发挥网格员作用？", facets)
    assert parsed.sections == ["plans"]


def test_every_village_having_something_needs_a_sentence_that_says_every_village(service):
    """ "每个村都有法律顾问" claims full coverage: a sentence naming the township's own 法律顾问
    is related, not 明确提到; one saying 全覆盖, 覆盖率达100% or 各村均配备 states it."""
    from app.answers.full_coverage import states_full_coverage
    from app.question import parse_question
    from app.retrieval import SYNONYMS

    parsed = parse_question("哪些镇已经做到每个村（社区）都有法律顾问？", {})
    assert "全覆盖" in parsed.core and "每个" not in parsed.core
    assert states_full_coverage("28个村法律顾问覆盖率达100%")
    assert states_full_coverage("在各村（社区）均配备了1名法律顾问")
    assert not states_full_coverage("深入推进镇政府法律顾问制度的落实")
    # not yet, only aimed at, or part of the villages
    assert not states_full_coverage("村法律顾问尚未实现全覆盖")
    assert not states_full_coverage("下一步力争实现村法律顾问全覆盖")
    assert not states_full_coverage("村法律顾问覆盖率达到60%")
    # every way a report says it is a topic word too (the coverage word may be required)
    assert all(states_full_coverage(w) for w in SYNONYMS["覆盖"][1:])
    # the longest verb is taken: nothing of it is left in the topic
    for asked, verb in (
        ("每个村都配备了法律顾问的镇有哪些？", "备"),
        ("哪些镇各村均已聘请法律顾问？", "聘"),
    ):
        core = parse_question(asked, {}).core
        assert "全覆盖" in core and verb not in core
    answer = service.ask("哪些镇已经做到每个村（社区）都有法律顾问？")
    graded = {v.township: v.grade for v in answer.verdicts or []}
    assert {"王场镇", "石桥镇", "万灵镇"} <= set(answer.townships)
    # "深入推进镇政府法律顾问制度的落实": its own adviser, not every village's
    assert graded["塘坊镇"] == "相关"
    # "…联合法律顾问…进行法律普及宣传活动，集中宣传法律全覆盖…": 全覆盖 of something else
    assert graded["西联镇"] == "相关"
    assert_citations_round_trip(service, answer)


def test_a_compound_no_report_uses_is_matched_by_its_head_word_if_it_means_the_same(service):
    near = service.retriever.neighbours(["业务培训", "柔性执法"])
    assert "培训" in [w for w, _ in near["业务培训"]]  # a kind of 培训
    assert "执法" not in [w for w, _ in near["柔性执法"]]  # a particular way of 执法
    # 西联镇: "法制建设干部队伍教育培训力度还需继续加大" (no report says 业务培训)
    answer = service.ask("哪些乡镇在不足里提到干部的业务培训不够？")
    assert "西联镇" in answer.townships
    assert "教育培训" in {c.township: c for c in answer.citations}["西联镇"].quote
    assert_citations_round_trip(service, answer)


def test_adverbs_and_pronouns_are_not_topic_words():
    # 必须, 真正 (adverbs), 由 (preposition), 有人 (pronoun) weigh as much as rare content words
    # by IDF, so a sentence would need them to cover the topic
    tokenizer = Tokenizer()
    assert tokenizer.word_groups("重大事项必须由班子集体研究") == [
        ("重大",),
        ("事项",),
        ("班子",),
        ("集体",),
        ("研究",),
    ]
    assert tokenizer.word_groups("干部依法办事的观念还没真正立起来") == [
        ("干部",),
        ("依法办事",),
        ("观念",),
    ]
    assert ("有人",) not in tokenizer.word_groups("集体账目公开透明有人盯着")
    # a level of place (区县, as 乡镇) and a filler noun (地带, as 地方) are no topic
    groups = tokenizer.word_groups("跟相邻区县的乡镇联手处理交界地带的矛盾纠纷")
    assert ("区县",) not in groups and ("地带",) not in groups and ("交界",) in groups


def test_a_word_no_report_uses_is_matched_by_the_reports_own_words(service):
    # no report says 文艺演出; 石桥镇 writes 普法戏曲汇演, 万灵镇 情景剧表演
    answer = service.ask("哪些镇用文艺演出的形式普法？")
    assert set(answer.townships) == {"石桥镇", "万灵镇"}
    by_township = {c.township: c for c in answer.citations}
    assert "戏曲汇演" in by_township["石桥镇"].quote
    assert "情景剧表演" in by_township["万灵镇"].quote


def test_a_sentence_without_the_questions_key_word_does_not_support_it(service):
    # 王场镇 writes about 法治宣传 to 辖区学校, but nobody mentions a 法治辅导员
    answer = service.ask("哪些镇给辖区中小学配了法治辅导员？")
    assert not answer.found and answer.townships == []
    assert answer.answer.startswith("资料中未找到")
    # no report reviews 案卷 (评查); 万灵镇's 执法 passages are close in meaning, and say
    # nothing of it
    assert service.ask("有哪些镇开展过行政执法案卷评查？想看看是怎么组织的。").townships == []


def test_the_corpus_vocabulary_is_embedded_once_and_kept_in_the_store(fresh_store, tmp_path):
    calls: list[int] = []
    embed_words = fresh_store.embeddings.embed_words

    def counting(words):
        calls.append(len(words))
        return embed_words(words)

    fresh_store.embeddings.embed_words = counting  # type: ignore[method-assign]
    try:
        first = fresh_store.word_vectors(["执法", "普法"])
        again = fresh_store.word_vectors(["普法", "执法", "调解"])
    finally:
        del fresh_store.embeddings.embed_words
    assert calls == [2, 1]  # only 调解 was new the second time
    assert again.shape == (3, first.shape[1])
    assert np.allclose(again[0], first[1], atol=1e-6) and np.allclose(again[1], first[0], atol=1e-6)
    reopened = open_store(
        Settings(_env_file=None, store=tmp_path / "store"), fresh_store.embeddings
    )
    assert np.allclose(reopened.word_vectors(["调解"])[0], again[2], atol=1e-6)


def test_a_count_noun_ending_the_question_asks_for_a_count(service):
    # "具体办理数字": the count is asked (its cue), 数字 is not the topic; 西联镇 counts its
    # 信访 cases (2019), 王场镇 (2021) its 信访件
    question = "2021年及更早的报告中，哪些镇给出了全年信访件的具体办理数字？"
    answer = service.ask(question)
    assert "西联镇" in answer.townships
    assert {v.township for v in answer.verdicts} == {"西联镇", "王场镇"}
    topic = question_topic(service.retriever, parse_question(question, {}))
    assert "数字" not in topic.terms
    # 大数据, 数字乡村 are topics, not figures asked for
    for question in ("哪些镇提到了大数据？", "哪些镇建设了数字乡村？"):
        assert not asks_count(question), question


def test_years_dates_and_ordinals_are_not_counts():
    from app.answering import states_count

    for sentence in ("接待信访案件20件", "组织学习三次", "二十余名调解员", "建成7个贵和工作室"):
        assert states_count(sentence), sentence
    for sentence in (
        "2021年以来签订合同",
        "（2022—2025年）实施方案",
        "〔2021〕5号文件",
        "日期:2023-02-08",
        "12月4日宪法日",
        "第3季度",
        "五位一体",
    ):
        assert not states_count(sentence), sentence


def test_a_lead_is_a_short_numbered_sentence_with_no_pause_read_in_place():
    from app.answers.practice import _is_lead

    for lead in ("二是突出矛盾化解。", "（三）健全调解网络", "2.强化源头治理", "十一是抓实普法"):
        assert _is_lead(lead), lead
    for sentence in (
        "二是突出矛盾化解，排查纠纷。",
        "1、加强学习",
        "突出矛盾化解。",
        "二是" + "化" * 40,
    ):
        assert not _is_lead(sentence), sentence
    # in place: only text[a:b] is read, a comma just before or after it does not count
    text = "学法，二是突出矛盾化解。，其他"
    a = text.index("二")
    assert _is_lead(text, a, text.index("。") + 1)
    assert not _is_lead(text, 0, text.index("。") + 1)


def test_practice_names_are_the_quoted_names_without_their_punctuation():
    from app.answering import _practice_names

    text = "建成7个“贵和”工作室，做到“小事不出村，大事不出镇。”，推行“小院+微解纷”工作法"
    assert _practice_names(text) == ["贵和工作室", "小事不出村，大事不出镇", "小院+微解纷工作法"]


def test_quoted_words_that_are_not_a_townships_practice_are_not_listed_as_practices():
    from app.answering import _practice_names

    text = (
        "按照“三重一大”要求集体研究，在“安全生产月”“12.4宪法日”开展宣传，发挥网格员“前哨”作用，"
        "全面清理“奇葩证明”，加强村“两委”培训，打造“老娘舅茶室”，推行“一案双审”机制"
    )
    assert _practice_names(text) == ["老娘舅茶室", "一案双审机制"]
    text = "打造了群众满意的“老娘舅茶室”，推行“村民说事日”，在“6.26国际禁毒日”“普法宣传月”开展宣传"
    assert _practice_names(text) == ["老娘舅茶室", "村民说事日"]


def test_practice_names_of_a_topic_are_those_said_in_sentences_about_it():
    from app.answering import _practice_names

    text = (
        "二是突出矛盾化解。全面排查矛盾纠纷，做到“小事不出村，大事不出镇。”"
        "同时打造“老娘舅茶室”，调解矛盾。三是开展普法戏曲汇演，“送戏下乡”“送法下乡”。"
    )

    def on_disputes(sentence: str) -> bool:
        return "矛盾" in sentence or "纠纷" in sentence

    assert _practice_names(text, on_disputes) == ["小事不出村，大事不出镇", "老娘舅茶室"]
    # a short statement before is not a lead that makes the next sentence about disputes
    assert _practice_names("矛盾纠纷全部化解。开展“送戏下乡”活动。", on_disputes) == []
    assert _practice_names(text)[-2:] == ["送戏下乡", "送法下乡"]


def test_passage_tokens_are_reused_and_follow_the_place_names_added(tmp_path, caplog):
    cache = tmp_path / "tokens.json"
    passages = [("a", "龙驹坝乡和石桥镇联合开展矛盾纠纷调解"), ("b", "开展普法宣传进村入户活动")]

    def fresh(words):
        tokenizer = Tokenizer()
        tokenizer.add_words(words)
        return [tokenizer.words(text) for _, text in passages]

    def counted(store: PassageTokens) -> list[str]:
        seen: list[str] = []
        words = store.tokenizer.words
        store.tokenizer.words = lambda text: seen.append(text) or words(text)  # type: ignore[method-assign]
        return seen

    first = PassageTokens(Tokenizer(), cache)
    assert first.tokens(passages, ["石桥镇"]) == fresh(["石桥镇"])
    assert "龙驹坝乡" not in first.tokens(passages, ["石桥镇"])[0]  # not a word jieba knows
    tokenised = counted(first)
    assert first.tokens(passages, ["石桥镇", "龙驹坝乡"]) == fresh(["石桥镇", "龙驹坝乡"])
    assert tokenised == [passages[0][1]]  # only the passage naming the new township
    assert "龙驹坝乡" in first.tokens(passages, ["石桥镇", "龙驹坝乡"])[0]

    # another process: read from disk, nothing tokenised while the names are the same
    second = PassageTokens(Tokenizer(), cache)
    tokenised = counted(second)
    assert second.tokens(passages, ["石桥镇", "龙驹坝乡"]) == fresh(["石桥镇", "龙驹坝乡"])
    assert tokenised == []
    # 龙驹坝乡's report removed: its name is no longer a word, so the passage naming it changes
    third = PassageTokens(Tokenizer(), cache)
    assert third.tokens(passages, ["石桥镇"]) == fresh(["石桥镇"])

    cache.write_text("{not json", encoding="utf-8")
    with caplog.at_level("WARNING"):
        broken = PassageTokens(Tokenizer(), cache)
        assert broken.tokens(passages, ["石桥镇"]) == fresh(["石桥镇"])
    assert str(cache) in caplog.text and "rebuilding" in caplog.text
    assert PassageTokens(Tokenizer(), cache).tokens(passages, ["石桥镇"]) == fresh(["石桥镇"])


def test_a_new_service_on_a_stored_corpus_answers_the_same_from_its_token_cache(
    sample_store_dir, sample_store
):
    cache = sample_store_dir / TOKEN_CACHE
    AnswerService(sample_store).retriever.snapshot()
    assert cache.exists()
    reopened = AnswerService(open_store(Settings(_env_file=None, store=sample_store_dir)))
    tokenised: list[str] = []
    words = reopened.retriever.tokenizer.words
    reopened.retriever.tokenizer.words = lambda t: tokenised.append(t) or words(t)  # type: ignore[method-assign]
    answer = reopened.ask(EXAMPLE)
    assert all(len(t) < 40 for t in tokenised)  # the question's words, not the corpus's passages
    uncached = AnswerService(sample_store)
    uncached.retriever.passage_tokens = PassageTokens(uncached.retriever.tokenizer)  # no file
    uncached.retriever.snapshots = None  # built from the store, not read from its snapshot
    expected = uncached.ask(EXAMPLE)
    assert answer.townships == expected.townships and answer.answer == expected.answer


def test_an_explicit_section_filter_holds_for_lookups_too(service):
    filters = service.resolve(Filters(provinces=["重庆"], sections=["measures"]))
    answer = service.ask("法律顾问", filters)
    assert answer.kind == "lookup"
    assert answer.citations
    assert {c.section for c in answer.citations} == {"measures"}
    assert answer.filters["sections"] == ["measures"]


def test_a_compound_is_said_by_its_parts_only_when_they_spell_it_out():
    assert _parts_cover("法律明白人", ("法律", "明白", "白人", "明白人"))
    assert _parts_cover("纠纷化解", ("纠纷", "化解"))
    assert not _parts_cover("工作站", ("工作",))  # the 站 is what is asked about
    assert not _parts_cover("示范村", ("示范",))
    assert not _parts_cover("身兼数职", ("身兼",))
    assert not _parts_cover("全覆盖", ())


def test_the_compare_matrix_grades_compounds_as_corpus_wide_answers_do(service):
    # a bare topic parses as a lookup; the matrix grades every report, so 工作 is not 工作站
    cells = service.support("公共法律服务工作站", ["measures", "plans"])
    assert len(cells) == 5
    assert [c.township for c in cells if c.grade == MENTIONED] == []


# A report written for these tests in the form reports use: its practice is named in a
# (一)-level heading of its own line, then described; it has no 一、-level heading for its
# measures' second part.
_HEADED_PRACTICE = """宝丰县周庄镇2023年法治政府建设情况报告

一、主要举措和成效
（一）加强组织领导
镇党委书记担任法治政府建设领导小组组长，定期研究法治建设工作。
（二）创新“和事佬”矛盾纠纷化解机制
我镇在各村设立调解室，由村里的老党员、乡贤担任调解员，及时就地化解矛盾纠纷，全年化解纠纷30起。
二、存在的问题
执法人员法律素养有待提高。
三、下一步工作打算
继续加强执法人员培训。
"""


def test_a_practice_named_in_a_heading_is_quoted_from_its_sentence(fresh_store, tmp_path):
    """The entry quotes a sentence, never the heading line that names the practice."""
    path = tmp_path / "zhouzhuang.txt"
    path.write_text(_HEADED_PRACTICE, encoding="utf-8")
    ingest_into(fresh_store, path)
    answer = AnswerService(fresh_store).ask("别的镇在矛盾纠纷化解上有什么做法？")
    [entry] = [c for c in answer.citations if c.township == "周庄镇"][:1]
    assert "和事佬" in answer.answer
    assert not entry.quote.startswith("（二）"), entry.quote
    assert entry.heading.endswith("（二）创新“和事佬”矛盾纠纷化解机制"), entry.heading


# Written for these tests in the reports' form: its plans train 执法人员 once a quarter (a number
# of trainings), its measures count them.
_COUNTED_STAFF = """宝丰县周庄镇人民政府关于2023年度法治政府建设情况的报告

一、2023年度推进法治政府建设的主要举措和成效
（一）强化组织领导。成立由镇党委书记任组长的法治政府建设领导小组，全年召开专题会议6次。
（二）推进综合行政执法。整合站所力量组建综合行政执法队，现有执法人员23名，全年办理行政处罚案件41件，案件均经法制审核后作出决定。
（三）化解矛盾纠纷。建立村级调解室，全年调处矛盾纠纷120起。
二、存在的问题
（一）执法队伍专业能力不足。部分执法人员缺乏法律专业背景，办理复杂案件能力有待提高。
三、2024年工作打算
（一）加强执法人员培训，每季度组织一次执法业务培训，提升执法队伍专业化水平。
（二）深化矛盾纠纷多元化解。
"""


def test_a_count_is_quoted_from_the_clause_that_counts_what_was_asked(fresh_store, tmp_path):
    path = tmp_path / "zhouzhuang.txt"
    path.write_text(_COUNTED_STAFF, encoding="utf-8")
    ingest_into(fresh_store, path)
    answer = AnswerService(fresh_store).ask("周庄镇有多少名执法人员？")
    assert answer.found
    assert "现有执法人员23名" in answer.citations[0].quote, answer.citations[0].quote


def test_a_citation_under_a_subheading_is_not_filed_under_another_subheading():
    """A passage filed under （二） whose quote is under （三）, in a report without 一、-level
    headings: the heading is （三）, not （二） > （三）."""
    from app.answers.citations import cite
    from app.retrieval import Hit
    from vectorstore import StoredPassage

    text = "（二）推进依法行政\n严格规范执法。\n（三）化解矛盾纠纷\n全年化解纠纷30起。"
    quote = text.index("全年")
    for heading, want in (
        ("（二）推进依法行政", "（三）化解矛盾纠纷"),
        ("一、主要举措 > （二）推进依法行政", "一、主要举措 > （三）化解矛盾纠纷"),
    ):
        meta = {"start": 100, "end": 100 + len(text), "heading": heading, "report_id": "r"}
        hit = Hit(StoredPassage("p", text, meta), 1.0, 1.0, 1.0)
        hit.sentence = (100 + quote, 100 + len(text))
        assert cite(1, hit).heading == want


def test_a_question_fazhi_cannot_read_says_why_instead_of_not_found(service):
    # English: the reports are Chinese, and "资料中未找到" would say the data is not there
    answer = service.ask("Which towns list weak law enforcement capacity as a problem?")
    assert not answer.found and not answer.citations
    assert answer.answer.startswith("无法回答：") and "中文" in answer.answer
    # a pasted page is many questions: its words would drown each other
    long = "哪些乡镇把执法能力不足列为存在的问题？" * 30
    answer = service.ask(long)
    assert not answer.found and f"问题太长（{len(long)} 字）" in answer.answer
    # a question in Chinese with an English word in it is read as usual
    assert not service.ask("哪些乡镇提到了 WeChat 公众号普法？").answer.startswith("无法回答")


def test_nothing_stated_names_the_sections_it_looked_in(service):
    # a section filter left on from an earlier question narrows every later one: say so
    answer = service.ask("哪些乡镇提到行政复议？", Filters(sections=["plans"]))
    assert not answer.found
    assert answer.answer.startswith("资料中未找到：范围内 5 份报告都没有明确提到“行政复议”")
    assert "（只查了“下一步打算”部分）" in answer.answer.split("\n")[0]
    assert "只查了" not in service.ask("哪些镇提到了村规民约？").answer


def test_a_lookup_says_what_its_further_citations_are(service):
    answer = service.ask("石桥镇有多少名法律明白人？")
    assert answer.found and len(answer.citations) > 1
    assert "检索到的其他段落（供核对，未必相关）：[2]" in answer.answer


def test_an_english_gloss_or_word_does_not_outweigh_the_chinese_ones(service):
    # "（body cam）" glosses 记录仪: 王场镇 and 塘坊镇 write of their 执法记录仪
    answer = service.ask("执法配了记录仪（body cam）的有哪些镇？")
    assert set(answer.townships) == {"王场镇", "塘坊镇"}
    # a word in letters no report uses weighs as one word, not by its letters' count
    weights = service.retriever.term_weights(["media", "檩椽", "法律明白人", "12348"])
    assert weights["media"] == weights["檩椽"] < weights["法律明白人"]  # no report uses 檩椽
    assert weights["12348"] > weights["media"]  # a number is as long as its digits
    # 接下来 says the question is about plans, as 下一步 does: it is not the topic
    parsed = parse_question(
        "接下来准备用抖音搞普法的有哪些镇？", {"township": list(SAMPLE_TOWNSHIPS)}
    )
    assert parsed.sections == ["plans"]
    assert "接下来" not in question_topic(service.retriever, parsed).terms


def test_a_role_asked_of_someone_must_be_named_by_the_sentence_stating_it(service):
    # 塘坊镇 and 万灵镇 name who is 组长; 石桥镇's 党委书记 "靠前指挥", with no 组长 in its text
    answer = service.ask("哪些镇的法治建设领导小组是由党委书记或党政主要负责人当组长的？")
    assert set(answer.townships) <= {"塘坊镇", "万灵镇"} and "塘坊镇" in answer.townships
    assert "石桥镇" in {r.township for r in answer.related}


def test_a_passage_close_in_meaning_without_the_words_is_related_not_unmentioned(service):
    # 万灵镇 "运用说服教育、劝导示范、警示教育等方式开展执法" says 柔性执法 in none of its words
    answer = service.ask("其他乡镇在执法中是怎么做到柔性、文明执法的？")
    assert "万灵镇" in {r.township for r in answer.related} | set(answer.townships)
    unmentioned = {v.township for v in answer.verdicts or [] if v.grade == "未提及"}
    assert "万灵镇" not in unmentioned
