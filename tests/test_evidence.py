"""A question's evidence (app.answers.evidence): its topic words and each report's best passages."""

from __future__ import annotations

from app.answers.counts import ASKS_COUNT, asks_count, given_count, states_count
from app.answers.evidence import closeness, closest, gather, question_topic
from app.answers.rule import DecisionRule
from app.question import parse_question, setting_of
from app.retrieval import SHORTFALL, Hit
from app.text import Tokenizer
from tests.conftest import SAMPLE_TOWNSHIPS
from vectorstore import Scope, StoredPassage


def hit(rid: str, dense: float, lexical: float) -> Hit:
    meta = {"report_id": rid, "start": 0, "end": 2}
    return Hit(StoredPassage(f"{rid}:{dense}", "文本", meta), dense, dense, lexical)


def test_closeness_is_the_cosine_plus_a_little_of_the_bm25_share():
    rule = DecisionRule(meaning_lexical_weight=0.1)
    assert closeness(hit("r", 0.8, 0.5), rule) == 0.8 + 0.1 * 0.5
    near, lexical = hit("r", 0.90, 0.0), hit("r", 0.85, 1.0)
    assert closest({"r": [near, lexical], "empty": []}, rule) == {"r": lexical}


def test_the_topic_cue_follows_what_the_question_asks_for(service):
    facets = service.store.facet_values()
    problems = parse_question("哪些乡镇承认执法能力不足？", facets)
    assert problems.sections == ["problems"]
    assert question_topic(service.retriever, problems).cue == SHORTFALL.search
    count = parse_question("石桥镇有多少名法律明白人？", facets)
    assert count.kind == "lookup" and question_topic(service.retriever, count).cue is states_count


def test_how_a_question_asks_is_not_its_topic(service):
    facets = service.store.facet_values()

    def terms(question: str) -> list[str]:
        return question_topic(service.retriever, parse_question(question, facets)).terms

    # emphasis, who asks, what a count asks for: words no report needs to hold
    assert terms("明年打算专门针对执法队员搞培训的是哪几个镇？") == ["执法", "队员", "培训"]
    assert terms("哪些镇的报告写明了法治建设领导小组由谁来当组长？") == [
        "法治",
        "建设",
        "领导小组",
        "组长",
    ]
    assert terms("哪几个镇给出了调解矛盾纠纷的具体件数？") == ["调解", "矛盾纠纷"]
    assert "几台" not in terms("西联镇一共配备了几台执法记录仪？")
    # a count's noun is the topic when no count is asked, or not what the count is of
    assert "数字" in terms("哪些镇提到了数字乡村建设？")
    assert "数字" in terms("石桥镇数字乡村建设投入了多少资金？")
    assert "数字" not in terms("哪些镇给出了普法宣传活动开展了多少场的具体数字？")
    assert "件数" not in terms("哪些镇给出了矛盾纠纷调解的具体件数（调了多少起）？")
    # where a question works on its topic ("在X上下功夫"), its direction words ("拉进来")
    assert "下功夫" not in terms("哪些镇准备在规范性文件的合法性审查上下功夫？")
    assert "进来" not in terms("别的镇是怎么把各方面力量拉进来一起搞宣传的？")


def test_how_many_is_a_count_question_which_ones_is_not():
    assert ASKS_COUNT.search("有多少名法律明白人") and ASKS_COUNT.search("开展了几次培训")
    assert not ASKS_COUNT.search("哪几个镇提到了法律顾问")
    assert not ASKS_COUNT.search("从几个方面推进")
    # a count stated in the reports, not how many townships say something
    assert asks_count("哪些乡镇报告了普法宣传活动的具体场次？")
    assert asks_count("哪些镇给出了行政复议案件的数量？")
    assert not asks_count("有多少个镇提到了法律顾问？")
    assert not asks_count("有几个乡镇建立了权力清单？")
    assert asks_count("石桥镇培训了多少镇村干部？") and asks_count("培训了多少乡镇干部？")
    # "这几份报告", "宝丰、武江这几家": which reports are asked of, not a count in them
    assert not asks_count("2021到2023年这几份报告里，哪些写了第一责任人职责？")
    assert not asks_count("宝丰、武江、石柱这几家，哪些写了法律顾问？")


def test_numbers_in_names_and_hotlines_count_nothing():
    assert not states_count("依托“369”赶集日开展普法")
    assert not states_count("推行“1+3+N”调解模式")
    assert not states_count("开通12348法律服务热线")
    assert states_count("开展普法讲座10余次") and states_count("全镇共配备159名法律明白人")
    # a lone 一个 is an article ("创造一个良好的法律环境"), not a count; 一名, 一次 count
    assert not states_count("为依法行政创造一个良好的法律环境")
    assert not states_count("搭建一个线上普法平台")
    assert states_count("开展送法下乡三次") and states_count("覆盖全镇十一个村")
    assert states_count("全镇聘请一名法律顾问") and states_count("召开专题会议一次")


def test_a_number_the_question_gives_is_the_range_it_means():
    about = given_count("哪个镇配了一百五十多名法律明白人？")
    assert about is not None and (about.low, about.high) == (150, 160)
    assert about("全镇共配备159名法律明白人") and not about("培养“法律明白人”20人")
    assert not about("2015年配备法律明白人12名")  # a year counts nothing
    assert about("截至2023年底配备法律明白人155名")
    hundreds = given_count("解答、援助了三百多次")
    assert hundreds("提供法律援助和法律咨询315次") and not hundreds("上门宣传350人次")
    over = given_count("接待的上访事项超过了一百件的镇")
    assert over("信访办接待来访事项175件") and not over("全年共接访96件")
    people = given_count("培养的法律明白人超过了一百名")
    assert not people("培养“法律明白人”20人，开展上门宣传1700余人次")  # visits, not people
    assert given_count("有16名执法队员的镇")("16名执法队员均持证上岗")
    assert given_count("二十余人")("培训执法人员23名")  # 名 and 人 count people alike
    # measure words that count the same thing, and counts in tens of thousands
    assert given_count("开展普法宣传300场次")("组织“小院讲堂”普法宣传300场次")
    assert given_count("调解案件四十多件")("司法所调解案件40余起")
    assert given_count("发放材料超过一万份")("发放各类宣传材料2万余份")
    assert not given_count("发放材料超过一万份")("发放宣传材料8000份")
    assert given_count("20到30名执法人员")("现有执法人员23名")
    # a trial: 300场次 and 50余次 are more than 50 times, 50次 is not
    fifty = given_count("开展普法宣传活动超过50次")
    assert fifty("普法宣传300场次") and fifty("普法戏曲汇演50余次") and not fifty("宣传50次")
    assert not fifty("上门宣传1700余人次")
    # small bare numbers, places, ranks, guesses, slogans and the townships asked of are not
    for question in [
        "聘请一名法律顾问的镇",
        "建立一个平台的镇",
        "有多少个镇",
        "“百名律师进百村”",
        "百名律师进百村",
        "全区12个镇里，哪些镇培养了法律明白人？",
        "在全部125份报告中",
        "推行“十个一”工程",
        "第十次",
        "排名前十名",
        "每百户配备",
        "几十名",
        "上百名",
        "约150名",
        "二三十名",
        "10%的村",
        "2021年",
        "12345热线",
        "三项制度",
    ]:
        assert given_count(question) is None, question


def test_a_report_whose_count_is_outside_the_range_asked_is_related(service):
    # 石桥镇 has 159 法律明白人, 万灵镇 20: "一百五十多名" is 石桥镇's, and was read as a word
    # no report uses (a "not found" for all five)
    answer = service.ask("哪个镇配了一百五十多名法律明白人？具体是多少？")
    assert answer.townships == ["石桥镇"]
    assert "万灵镇" in {r.township for r in answer.related}
    lookup = service.ask("万灵镇的村法律顾问一年给居民解答、援助了三百多次，准确数字是多少？")
    assert lookup.found and "315次" in lookup.citations[0].quote
    # a lookup giving the wrong number still quotes the report's own figure
    wrong = service.ask("石桥镇有两百多名法律明白人吗？")
    assert wrong.found and "159名法律明白人" in wrong.citations[0].quote
    # the count must be of what is asked: 159 counts 法律明白人, not the 村法律顾问 after it
    assert "石桥镇" not in service.ask("哪些镇有超过一百名村法律顾问？").townships


def test_a_report_naming_the_work_without_its_number_does_not_give_the_count(service):
    # 万灵镇 gives its cases (本年度办理行政复议案件1起); 王场镇 names 行政复议 among its
    # lawyer's tasks, with no number: on the topic, not stating the count
    answer = service.ask("哪些乡镇的报告给出了行政复议或行政应诉案件的数量？")
    assert answer.townships == ["万灵镇"]
    quote = {c.township: c for c in answer.citations}["万灵镇"].quote
    assert states_count(quote) and "行政复议案件" in quote
    assert "王场镇" in {r.township for r in answer.related}


def test_a_quoted_name_no_report_uses_is_kept_unless_it_is_an_example(service):
    def unused(question: str) -> tuple[str, ...]:
        parsed = parse_question(question, service.store.facet_values())
        return question_topic(service.retriever, parsed).unused_names

    assert unused("哪些镇在推行“三官一律”进村？") == ("三官一律",)
    assert unused("哪些镇培养了“法律明白人”？") == ()  # the reports use it
    # examples the asker quotes are ways of saying it, not the name asked about
    assert unused("哪些镇有调解品牌，比如“和事佬”？") == ()
    assert unused("哪些镇有“和事佬”、“老娘舅”这类调解员？") == ()


def test_every_report_gets_its_own_best_passages_and_the_best_covering_one(service):
    parsed = parse_question("哪些乡镇提到了法律顾问？", service.store.facet_values())
    topic = question_topic(service.retriever, parsed)
    vector = service.store.embeddings.embed_question(parsed.query)
    rule = service.rule
    per_report, evidence = gather(service.engine, vector, " ".join(topic.terms), Scope(), topic)
    townships = {hits[0].passage.meta["township"] for hits in per_report.values()}
    assert townships == set(SAMPLE_TOWNSHIPS)
    for rid, hits in per_report.items():
        assert 0 < len(hits) <= rule.per_report
        assert all(h.report_id == rid for h in hits)
        best = max(h.coverage for h in hits)
        assert evidence[rid] in hits and evidence[rid].coverage == best
    # one report's passages are the same whether or not the others are in scope
    alone_id = next(iter(per_report))
    alone, _ = gather(
        service.engine, vector, " ".join(topic.terms), Scope(report_ids=[alone_id]), topic
    )
    assert [h.passage.id for h in alone[alone_id]] == [h.passage.id for h in per_report[alone_id]]


def test_reports_left_out_are_not_gathered_and_the_others_are_gathered_the_same(service):
    # a problems question gathers every section again only for the reports not graded yet
    parsed = parse_question("哪些乡镇承认执法能力不足？", service.store.facet_values())
    topic = question_topic(service.retriever, parsed)
    vector = service.store.embeddings.embed_question(parsed.query)
    query = " ".join(topic.terms)
    everyone, evidence = gather(service.engine, vector, query, Scope(), topic)
    # the report with the passage scoring highest in BM25 among them: the others' BM25 shares
    # stay scaled by its score
    top = max(everyone, key=lambda rid: max(h.lexical for h in everyone[rid]))
    graded = {top, next(rid for rid in everyone if rid != top)}
    rest, rest_evidence = gather(service.engine, vector, query, Scope(), topic, leave_out=graded)
    assert set(rest) == set(everyone) - graded and len(rest) == len(SAMPLE_TOWNSHIPS) - 2
    for rid, hits in rest.items():
        same = [(h.passage.id, h.score, h.lexical, h.sentence) for h in hits]
        assert same == [(h.passage.id, h.score, h.lexical, h.sentence) for h in everyone[rid]]
        assert rest_evidence[rid].passage.id == evidence[rid].passage.id


def test_when_every_report_is_left_out_nothing_is_gathered(service):
    parsed = parse_question("哪些乡镇承认执法能力不足？", service.store.facet_values())
    topic = question_topic(service.retriever, parsed)
    vector = service.store.embeddings.embed_question(parsed.query)
    everyone, _ = gather(service.engine, vector, "执法能力", Scope(), topic)
    none, evidence = gather(
        service.engine, vector, "执法能力", Scope(), topic, leave_out=set(everyone)
    )
    assert len(none) == 0 and evidence == {}
    # a report left out that the store does not hold changes nothing
    rest, _ = gather(service.engine, vector, "执法能力", Scope(), topic, leave_out={"no-such-id"})
    assert list(rest) == list(everyone)


def test_a_setting_is_read_on_whole_words():
    tokenizer = Tokenizer()
    assert (
        setting_of(tokenizer, "在重大行政决策上，哪些乡镇明确说落实了听证制度？") == "重大行政决策"
    )
    assert (
        setting_of(tokenizer, "别的镇在柔性执法、文明执法方面有什么做法？") == "柔性执法、文明执法"
    )
    assert setting_of(tokenizer, "哪些镇准备在合法性审查上下了功夫？") == "合法性审查"
    # 在线, 放在, 中心, 存在: no setting
    assert setting_of(tokenizer, "哪些镇在线上普法中用了抖音？") == ""
    assert setting_of(tokenizer, "哪些镇把普法重点放在青少年上？") == ""
    assert setting_of(tokenizer, "哪些镇在村里建了法律服务中心？") == ""
    assert setting_of(tokenizer, "哪些镇存在执法力量不足的问题？") == ""


def test_words_that_claim_nothing_head_no_claim(service):
    facets = service.store.facet_values()
    parsed = parse_question("在法律顾问制度上，哪些镇取得了成效？", facets)
    assert question_topic(service.retriever, parsed).claim_heads == frozenset()
    assert service.ask("在法律顾问制度上，哪些镇取得了成效？").townships
    # 创新 and 特色 say what kind of practice is asked for (the innovations section's words),
    # not a claim each sentence must make: the practices in the setting are the answer
    parsed = parse_question("在矛盾纠纷化解方面，哪些镇有特色做法？", facets)
    assert question_topic(service.retriever, parsed).claim_heads == frozenset()
    assert {"石桥镇", "万灵镇"} <= set(
        service.ask("在矛盾纠纷化解方面，哪些镇有特色做法？").townships
    )
    assert len(service.ask("哪些镇在普法宣传上有创新做法？").townships) >= 3
