"""Places named in questions resolve through the gazetteer (issue #15, item 5)."""

from __future__ import annotations

import pytest

from app.answering import NOT_FOUND, Filters
from app.question import follow_up, parse_question, topic_phrase
from app.text import Tokenizer
from tests.conftest import ingest_into
from tests.fixture_files import sample_paths
from vectorstore import Scope

FACETS = {
    "township": ["石桥镇", "王场镇", "塘坊镇", "西联镇", "万灵镇", "下洋镇", "黄石街道", "增福镇"],
    "county": [
        "宝丰县",
        "石柱土家族自治县",
        "巫溪县",
        "普宁市",
        "荣昌区",
        "屏边苗族自治县",
        "浦东新区",
    ],
    "province": ["河南省", "重庆市", "广东省"],
}


def but(level: str, *names: str) -> list[str]:
    """The store's places of `level` other than `names`, in the store's order."""
    return [n for n in FACETS[level] if n not in names]


@pytest.mark.parametrize(
    ("question", "townships", "counties", "provinces", "core"),
    [
        ("重庆以外的镇里，哪些提到法律顾问？", [], [], ["河南省", "广东省"], "法律顾问"),
        ("除了王场镇，哪些镇提到法律顾问？", but("township", "王场镇"), [], [], "法律顾问"),
        ("不包括宝丰县，哪些镇提到法律顾问？", [], but("county", "宝丰县"), [], "法律顾问"),
        # several places, a city (its counties), a county qualifying the township left out
        ("重庆、河南以外的镇有哪些提到法律顾问？", [], [], ["广东省"], "法律顾问"),
        (
            "除了石桥镇和王场镇，哪些镇提到法律顾问？",
            but("township", "石桥镇", "王场镇"),
            [],
            [],
            "法律顾问",
        ),
        ("除了平顶山市以外，哪些镇提到法律顾问？", [], but("county", "宝丰县"), [], "法律顾问"),
        ("除了宝丰县石桥镇，哪些镇提到法律顾问？", but("township", "石桥镇"), [], [], "法律顾问"),
        # a place the store lacks, left out: nothing to leave out, and not asked about
        ("除了马家镇以外，哪些镇提到法律顾问？", [], [], [], "法律顾问"),
        ("除了马家镇，哪些镇提到法律顾问？", [], [], [], "法律顾问"),
        ("马家镇和柳河镇以外，哪些镇提到法律顾问？", [], [], [], "法律顾问"),  # 柳河镇 is real
        # a list mixing a place the store lacks with one it has leaves out the one it has
        ("除了马家镇、石桥镇，哪些镇提到法律顾问？", but("township", "石桥镇"), [], [], "法律顾问"),
        (
            "除石柱县外，哪些乡镇提到了行政执法？",
            [],
            but("county", "石柱土家族自治县"),
            [],
            "行政执法",
        ),
    ],
)
def test_a_place_named_to_leave_it_out_filters_to_the_others(
    question, townships, counties, provinces, core
):
    parsed = parse_question(question, FACETS)
    assert parsed.scope.townships == townships
    assert parsed.scope.counties == counties
    assert parsed.scope.provinces == provinces
    assert parsed.core == core
    assert parsed.unknown_places == []  # a place left out is no place asked about


@pytest.mark.parametrize(
    ("question", "townships", "counties", "unknown"),
    [
        ("普宁那个镇有法律顾问吗？", [], ["普宁市"], []),
        ("涪陵增福镇的法律顾问是谁？", ["增福镇"], ["涪陵区"], []),
        ("徐闻下洋镇2023年普法宣传做了多少场讲座？", ["下洋镇"], ["徐闻县"], []),
        ("黄石街有多少名法律明白人？", ["黄石街道"], [], []),
        ("石柱王场镇的法律顾问？", ["王场镇"], ["石柱土家族自治县"], []),
        ("屏边的镇有法律顾问吗？", [], ["屏边苗族自治县"], []),
        ("浦东哪些街道提到法律顾问？", [], ["浦东新区"], []),
        ("宝丰县周庄镇配了多少名法律明白人？", [], ["宝丰县"], ["周庄镇"]),
        ("徐闻县的报告提到了什么问题？", [], [], ["徐闻县"]),
        ("广州市有哪些街道提到法律顾问？", [], [], ["广州市"]),
        # words that only look like places
        ("有没有镇打算组织去学别的乡镇街道的好经验？", [], [], []),
        ("平安建设方面哪些镇有做法？", [], [], []),
        ("哪些镇的创新做法里，搭了让村干部、村民跟镇领导面对面交流的平台？", [], [], []),
        ("别的镇普法有没有结合赶场天、院落这类乡土场景的做法？", [], [], []),
        ("别的镇怎么结合地方戏、民俗乡土文化搞普法？", [], [], []),
        # a name the gazetteer does not know, where a township's name starts
        ("宝丰县柳絮湾镇配了多少名法律明白人？", [], ["宝丰县"], ["柳絮湾镇"]),
        ("请问云栖镇有多少法律明白人？", [], [], ["云栖镇"]),
        ("我想了解云栖镇的普法工作", [], [], ["云栖镇"]),
    ],
)
def test_places_in_a_question(question, townships, counties, unknown):
    parsed = parse_question(question, FACETS)
    assert parsed.scope.townships == townships
    assert parsed.scope.counties == counties
    assert parsed.unknown_places == unknown
    for place in (*townships, *counties):
        assert place not in parsed.core


def test_a_place_of_the_store_is_never_a_paraphrase():
    """The neighbours a question word finds among the reports' words leave out the store's
    places: among 125 reports 马关县 was a paraphrase of 不过关."""
    from app.places import place_words

    facets = {"township": ["石桥镇"], "county": ["马关县"], "province": ["云南省"]}
    assert {"马关县", "马关", "石桥镇", "云南"} <= place_words(facets)
    assert not {"不过关", "执法", "石桥"} & place_words(facets)


@pytest.mark.parametrize(
    "question",
    [
        "塘坊镇和万灵镇都承认创新做得不够？还有别的镇这么说吗？",
        "王场镇和塘坊镇都给执法配了执法记录仪，别的镇有没有？",
        "塘坊镇和万灵镇都有调解室，除此之外还有别的镇有吗？",
    ],
)
def test_townships_named_as_examples_of_a_question_about_others_do_not_limit_it(question):
    parsed = parse_question(question, FACETS)
    assert parsed.kind == "corpus" and parsed.scope.townships == []
    assert not any(name in parsed.core for name in ("塘坊", "万灵", "王场"))


@pytest.mark.parametrize(
    "question",
    [
        "王场镇有没有像别的镇那样建调解室？",
        "王场镇跟其他乡镇比，执法力量怎么样？",
        "王场镇向兄弟乡镇学习了什么？",
        "王场镇在其他乡村治理方面做了什么？",
    ],
)
def test_a_question_about_one_township_that_mentions_others_stays_about_it(question):
    assert parse_question(question, FACETS).scope.townships == ["王场镇"]


def test_townships_left_out_stay_out_when_others_are_asked():
    parsed = parse_question("除了王场镇，其他乡镇也有调解室吗？", FACETS)
    assert "王场镇" not in parsed.scope.townships and parsed.scope.townships


def test_a_place_the_store_lacks_names_the_nearest_known_not_every_township(service):
    answer = service.ask("宝丰县周庄镇配了多少名法律明白人？")
    assert not answer.found and not answer.citations
    assert answer.answer.startswith(f"{NOT_FOUND}：库中没有周庄镇的报告")
    assert "相近的、库中有报告的乡镇：石桥镇" in answer.answer  # 石桥镇 is in 宝丰县
    for township in ("王场镇", "万灵镇"):
        assert township not in answer.answer


def test_a_year_the_township_has_no_report_for_says_which_years_it_has(service):
    answer = service.ask("石桥镇2024年全年办理了多少起赋权执法案件？")
    assert not answer.found
    assert "石桥镇的报告只有2023年的" in answer.answer


def test_places_that_each_have_reports_but_not_together_say_where_each_is(service):
    # a province filter left on, and a question about a township elsewhere
    answer = service.ask("石桥镇有多少名法律明白人？", Filters(provinces=["广东省"]))
    assert not answer.found
    assert "石桥镇在河南省宝丰县，不在所选的省份或县区里" in answer.answer
    answer = service.ask("哪些镇提到法律顾问？", Filters(counties=["宝丰县"], provinces=["重庆市"]))
    assert "宝丰县在河南省" in answer.answer


def test_a_county_named_in_full_that_the_store_lacks_is_not_answered_from_others(service):
    answer = service.ask("徐闻县的报告提到了什么问题？")
    assert not answer.found and not answer.citations
    assert "库中没有徐闻县的报告" in answer.answer


def test_a_report_of_unknown_county_is_kept_when_its_township_is_named(fresh_store, tmp_path):
    # 下洋镇 is in three counties; a title without its county leaves the county unknown
    body = sample_paths()[2].read_text(encoding="utf-8").split("\n", 2)[2]
    body = body.replace("宝丰县", "").replace("石桥镇", "下洋镇")
    path = tmp_path / "下洋镇.txt"
    path.write_text("下洋镇人民政府\n关于2023年法治政府建设情况的报告\n" + body, encoding="utf-8")
    ingest_into(fresh_store, path)
    [report] = fresh_store.list_reports()
    assert (report.meta.township, report.meta.county) == ("下洋镇", None)

    from app.answering import AnswerService

    answer = AnswerService(fresh_store).ask("徐闻下洋镇2023年有多少名法律明白人？")
    assert answer.found, answer.answer
    assert answer.citations and {c.township for c in answer.citations} == {"下洋镇"}
    assert "159名法律明白人" in answer.answer
    # the county is unknown: it may as well be 永定区's 下洋镇, so it answers there too
    answer = AnswerService(fresh_store).ask("永定区下洋镇2023年有多少名法律明白人？")
    assert answer.found
    # the same rule where Chroma filters the passages
    scope = Scope(townships=["下洋镇"], counties=["永定区"])
    assert {p.meta["township"] for p in fresh_store.passages(scope)} == {"下洋镇"}
    assert fresh_store.passages(Scope(counties=["永定区"])) == []


def test_a_county_filter_keeps_an_unknown_county_only_for_a_named_township():
    named = Scope(townships=["下洋镇"], counties=["永定区"])
    assert named.matches({"township": "下洋镇", "county": ""})
    assert not named.matches({"township": "下洋镇", "county": "徐闻县"})
    assert not named.matches({"township": "石桥镇", "county": ""})
    assert not Scope(counties=["永定区"]).matches({"township": "下洋镇", "county": ""})


@pytest.mark.parametrize(
    ("question", "townships", "counties", "provinces", "years", "unknown"),
    [
        ("那王场镇呢？", ["王场镇"], [], [], None, []),
        ("石桥镇和西联镇呢", ["石桥镇", "西联镇"], [], [], None, []),
        ("换成宝丰县怎么样？", [], ["宝丰县"], [], None, []),
        ("宝丰的呢！", [], ["宝丰县"], [], None, []),
        ("那2022年的呢？", [], [], [], (2022, 2022), []),
        ("重庆的呢？", [], [], ["重庆市"], None, []),
        ("那东风镇呢？", [], [], [], None, ["东风镇"]),
        # an autonomous county by its everyday name
        ("石柱县呢", [], ["石柱土家族自治县"], [], None, []),
        ("那屏边县呢？", [], ["屏边苗族自治县"], [], None, []),
        ("长阳县呢", [], [], [], None, ["长阳土家族自治县"]),
    ],
)
def test_a_chat_follow_up_names_the_places_or_years_to_ask_the_last_question_of(
    question, townships, counties, provinces, years, unknown
):
    again = follow_up(question, Tokenizer(), FACETS)
    assert again is not None
    assert again.unknown_places == unknown
    # as filters, which win over a question's own places and years, they replace the last
    # question's: "那石桥镇呢？" after a question about 王场镇 is about 石桥镇 alone
    before = Filters(townships=["王场镇"], provinces=["广东省"], year_from=2019, year_to=2019)
    after = again.narrow(before)
    if townships or counties or provinces:
        assert (after.townships, after.counties, after.provinces) == (
            townships,
            counties,
            provinces,
        )
        assert (after.year_from, after.year_to) == (2019, 2019)
    if years:
        assert (after.year_from, after.year_to) == years
        assert after.townships == ["王场镇"]


@pytest.mark.parametrize(
    ("previous", "question", "asked"),
    [
        # the last question's places give way to the follow-up's, as written
        ("王场镇有哪些问题？", "那河南呢？", "河南有哪些问题？"),
        ("王场镇和塘坊镇有哪些问题？", "石桥镇呢", "石桥镇有哪些问题？"),
        ("重庆的镇下一步打算做什么", "长阳县呢", "长阳县的镇下一步打算做什么"),
        ("王场镇以及塘坊镇有哪些问题", "石桥镇呢", "石桥镇有哪些问题"),
        ("河南的石桥镇有哪些问题", "那重庆呢", "重庆有哪些问题"),
        # every time a place is written, in any of its forms
        ("王场镇有哪些问题，王场镇的计划呢", "那河南呢", "河南有哪些问题，河南的计划呢"),
        ("重庆市的镇和重庆的街道有哪些问题", "那河南呢", "河南的镇和河南的街道有哪些问题"),
        # a township the gazetteer does not know yet, and a city
        ("云栖镇有哪些问题", "那石桥镇呢", "石桥镇有哪些问题"),
        ("王场镇有哪些问题", "那平顶山市呢", "平顶山市有哪些问题"),
        # and its years in place of the last question's
        ("2021年王场镇的问题", "那2022年石桥镇的呢", "2022年石桥镇的问题"),
        ("2019—2021年王场镇有哪些问题", "2023年的呢", "2023年王场镇有哪些问题"),
        # a question naming no place or year, or a place to leave it out, is asked as it was
        ("哪些镇把执法能力不足列为问题？", "石柱县呢", "哪些镇把执法能力不足列为问题？"),
        ("除了王场镇，哪些镇提到了法律顾问", "那河南呢", "除了王场镇，哪些镇提到了法律顾问"),
        ("哪些镇提到普法？", "2022年的呢", "哪些镇提到普法？"),
        ("王场镇罚款2000元以上的案件有多少", "2022年的呢", "王场镇罚款2000元以上的案件有多少"),
    ],
)
def test_a_follow_up_replaces_the_places_the_last_question_named(previous, question, asked):
    again = follow_up(question, Tokenizer(), FACETS)
    assert again is not None
    assert again.ask_of(previous, FACETS) == asked
    # its places and years, as filters, win over the question's own
    narrowed = again.narrow(Filters(townships=["王场镇"], year_from=2021, year_to=2021))
    if again.scope.townships or again.scope.counties or again.scope.provinces:
        assert narrowed.townships == again.scope.townships
    if again.scope.has_years:
        assert (narrowed.year_from, narrowed.year_to) == (
            again.scope.year_from,
            again.scope.year_to,
        )


def test_a_province_named_is_not_a_county_of_the_same_everyday_name_in_the_store():
    # a store holding a report of 河南蒙古族自治县 (青海) as well: "河南" is still the province
    facets = {**FACETS, "county": [*FACETS["county"], "河南蒙古族自治县"]}
    parsed = parse_question("重庆、河南的镇里，哪些培养了法律明白人？", facets)
    assert set(parsed.scope.provinces) == {"重庆市", "河南省"}
    assert parsed.scope.counties == []


def test_a_county_whose_short_name_is_an_everyday_word_is_named_only_as_a_place():
    # a national store holds reports of 平安区 and 和平县: 平安建设 is a topic, not a scope
    facets = {**FACETS, "county": [*FACETS["county"], "平安区", "和平县", "长安区", "长寿区"]}
    for question in (
        "平安建设方面哪些镇有做法？",
        "平安建设哪些镇做得好？",
        "哪些镇开展了平安乡镇创建？",
        "哪些镇创建了平安市场？",
        "哪些镇维护了社会和平稳定？",
        "哪些镇在平安乡村建设上有做法？",
    ):
        parsed = parse_question(question, facets)
        assert parsed.scope.counties == [] and parsed.unknown_places == [], question
    # ...while "平安那个镇", "和平的乡镇", "长寿的镇" speak of the place
    for question, county in (
        ("平安那个镇有法律顾问吗？", "平安区"),
        ("和平的乡镇有哪些普法做法？", "和平县"),
        ("长安哪些街道提到法律顾问？", "长安区"),
    ):
        assert parse_question(question, facets).scope.counties == [county], question
    # a short name no everyday word shares (宝丰; 长寿, under jieba's everyday frequency) still
    # names its county alone ("宝丰的…")
    assert parse_question("宝丰的法律顾问怎么配？", FACETS).scope.counties == ["宝丰县"]
    assert parse_question("长寿的镇有哪些普法做法？", facets).scope.counties == ["长寿区"]
    # an unknown township before 村干部 is still one ("城关镇村干部"): only 乡 begins 乡村, 乡土
    assert parse_question("城关镇村干部培训了多少次？", facets).unknown_places == ["城关镇"]


def test_an_everyday_county_name_never_hides_a_province():
    # "河南县乡两级" is Henan's county and township levels, not 河南蒙古族自治县
    parsed = parse_question("河南县乡两级有哪些普法做法？", FACETS)
    assert parsed.scope.provinces == ["河南省"]
    assert parsed.unknown_places == []
    assert parse_question("石柱县乡镇有哪些问题？", FACETS).scope.counties == ["石柱土家族自治县"]


@pytest.mark.parametrize(
    ("core", "phrase"),
    [
        ("下一步打算怎么加强普法", "加强普法"),
        ("明年准备怎么用数字化平台做预警", "用数字化平台做预警"),
        ("怎么加强普法", "加强普法"),
        ("里怎么说法律顾问的", "法律顾问"),
        ("下一步打算在行政复议上做什么", "行政复议"),
        ("明年在普法上有什么安排", "普法"),
        ("在线普法", "在线普法"),
        ("执法了吗", "执法"),
        ("将学法纳入考核", "将学法纳入考核"),
        ("准备要给执法队伍补充人手", "给执法队伍补充人手"),
        ("各有多少名执法人员", "执法人员"),
        ("法律明白人有多少", "法律明白人"),
        # where a topic's own first character looks like asking, it stays
        ("及时化解矛盾", "及时化解矛盾"),
        ("各村法律顾问签约率", "各村法律顾问签约率"),
        ("中心户长", "中心户长"),
        ("和解协议", "和解协议"),
        ("与会人员", "与会人员"),
        ("跟踪督办", "跟踪督办"),
        ("在建工程", "在建工程"),
        ("线上", "线上"),
        # 计划 and 工作 are the topic here
        ("计划怎么制定的", "计划怎么制定的"),
        ("工作怎么开展的", "工作怎么开展的"),
    ],
)
def test_a_topic_is_quoted_back_without_its_asking(core, phrase):
    assert topic_phrase(core) == phrase


@pytest.mark.parametrize(
    "question",
    [
        "那普法呢？",
        "王场镇的法律顾问呢？",
        "王场镇有多少名执法人员？",
        "王场镇是怎么做的呢",
        "那呢？",
    ],
)
def test_a_question_naming_more_than_places_is_its_own(question):
    assert follow_up(question, Tokenizer(), FACETS) is None
