"""Understanding a question without an LLM: its kind, the sections it is about, its scope.

Aggregation words (哪些/哪几个/各镇…) make a corpus-wide question; 做法/经验/借鉴 a peer-practice
question; otherwise a lookup. Years, provinces, counties and townships named in the question
become filters; filters given explicitly by the caller win.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal, TypeVar

from app.places import (
    EXCLUDING,
    NOT_A_XIANG,
    TOWNSHIP_NAME,
    place_runs,
    places_in,
    written_forms,
)
from app.shortfall import ASKED_ONLY, SHORTFALL_WORDS
from app.text import Tokenizer
from ingest.gazetteer import province_short
from ingest.model import SECTION_TYPES
from vectorstore import Scope

QuestionKind = Literal["corpus", "lookup", "practice"]
# what a corpus-wide question claims: one thing a sentence can state (plain); a relation between
# two things a sentence rarely states whole ("书记和镇长共同担任组长", "是司法所而不是律师",
# "既…又…"); or the absence of something ("没有提到执法记录仪")
Claim = Literal["plain", "relation", "negation"]
_NEGATION = re.compile(
    # not the 没有 of "有没有提到" (a yes-or-no question, not an absence)
    r"(?<!有)(?:根本|压根|完全|并|都|从)?(?:没有|没|未|未曾|不曾|从未)(?:再|再次|还|又)?"
    r"(?:提到|提及|涉及|写到|写明|说明|给出|列出|公布|说到|谈到|讲到|安排|提出|写|提|说(?!明))(?:过|了)?"
    r"|只字未提"
    # "报告里没有X": nothing on X in the report (not "报告中未来一年", "报告没有按时公开")
    r"|(?<=报告)(?:里面|里|中|当中)(?:没有|没)(?:出现|写到|写|提到|提)?过?"
)
# "没有把X列为问题": X not written up as something in the report (没有把关, 没把握 are no such
# thing, and "承认没有把普法纳入考核" states a shortfall: `_ADMITS` before it)
_NOT_LISTED = re.compile(
    r"(?<!有)(?:没有|没|未)把(?![关握])(?=[^，,。？?]{1,20}?(?:列为|列入|列进|作为|当作|写进|写入|纳入))"
)
# "…，但/却没有…": what comes before is what the reports have; the absence is asked after it
_CONTRAST = re.compile(r"(?<![不非])但(?!凡)是?|却|可是|然而|[，,]\s*不过")
# what leaves no topic in the clause after it ("但下一步打算中没有再提？"): the topic is before it
_CLAUSE_FILLER = re.compile(
    r"下一步|打算|计划|安排|今后|明年|问题|不足|这个|这些|这一点|这方面|[里中上再又还它其在的也都却\s，,？?。]"
)
_RELATION = re.compile(
    r"共同(?:担任|负责|牵头|任)|一起(?:担任|负责)|双组长|双牵头|而(?:不是|非)|不是[^，,。？?]{1,12}而是"
    r"|既[^，,。？?]{1,20}(?:又|也|还)|同时(?:担任|兼任)"
)

# "每个村（社区）都有法律顾问", "村村都配了…": a claim of full coverage, which reports write as
# 全覆盖, 覆盖率达100% or 各村均配备 (`SYNONYMS["覆盖"]`); as words, 每个 and 都有 say nothing
_EVERY_VILLAGE = re.compile(
    r"(?:(?:每个|每一个|所有|全部|各个|各)(?:行政)?村(?:[（(]?(?:社区|居)[)）]?|和社区|、社区)?"
    r"(?:都|均|全)已?|村村都?)"
    # the longest verb first: 配备 before 配, or "配备了法律顾问" would leave 备了 behind
    r"(?:配备|配上|配齐|配有|聘请|聘用|建立|建起|建成|设立|覆盖|有|配|建|设)了?"
)
_OTHER_TOWNSHIPS = r"(别的|其他|其它|兄弟)(乡镇|镇街|镇|乡|街道)"
_AGGREGATE = re.compile(
    r"哪些|哪几|有哪|哪个(乡|镇|街道|地方)|哪[两三四五六七八九十\d]+[个家](乡|镇|街道|街镇)|各(乡镇|镇|乡|街道|地)|多少个(乡|镇)|几个(乡|镇)|谁|列出|所有|都有|有没有(乡|镇)|有没有哪"
)
# "别的镇有没有…", "其他乡镇在调解上是否…": whether other townships do it, asked of each
_OTHERS_WHETHER = re.compile(
    rf"{_OTHER_TOWNSHIPS}[^？?。]{{0,30}}(有没有|有无|是否|吗[？?]?$)"  # "还有别的镇这么说吗？"
)
# "塘坊镇和万灵镇都承认…？还有别的镇这么说吗？": whether others do it too, the townships named
# are examples ("王场镇跟其他乡镇比…" and "除了王场镇，其他镇…" are not)
_ASKS_OTHERS_TOO = re.compile(rf"还有{_OTHER_TOWNSHIPS}|{_OTHERS_WHETHER.pattern}")
_PRACTICE = re.compile(
    r"做法|经验|借鉴|参考|怎么(做|搞|抓|办)|如何(做|开展|推进)|有什么(好)?办法|招数|模式|学习"
    rf"|{_OTHER_TOWNSHIPS}[^？?。]{{0,30}}(怎么|怎样|如何)"  # "别的镇是怎么…"
)
# how an asker says a report admits something (承认, 坦承…; not 各自承担 or 亲自认真): a problems
# question, and not what it asks about
_ADMITS = r"承认|坦承|坦言|坦陈|(?<![各亲独])自[认承]"
_SECTION_INTENT: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "problems",
        re.compile("|".join((*SHORTFALL_WORDS, *ASKED_ONLY, _ADMITS))),
    ),
    # a bare 安排 is also what a report did that year ("当年…学法的安排"): only with a plans word;
    # a bare 将 is also the preposition 把 ("将学法纳入考核")
    (
        "plans",
        re.compile(
            r"下一步|下步|计划|打算|明年|来年|今后|将要|准备|(工作|主要|下一年)安排|规划"
            r"|下一年|下年度|新一年|新的一年"
        ),
    ),
    ("innovations", re.compile(r"创新|特色|亮点")),
    ("duty", re.compile(r"第一责任人|履职|履行.{0,6}职责")),
)
# "含计划中的", "已经做的或打算做的都算": plans are included, not the only thing asked about
_PLANS_INCLUDED = re.compile(
    r"(含|包括|包含|连同)[^，,。？?）)]{0,4}(计划|打算|下一步)|(计划|打算)[^，,。？?）)]{0,6}(也|都)算"
)
# "（光写打算的不算）", "计划搞的别算", "（不是说计划要建）", "不包括计划中的": plans are left
# out, what was done is asked ("是不是准备…", "计划生育工作不计入" leave nothing out)
_PLANS_EXCLUDED = re.compile(
    r"[（(][^（）()]*(?:(?:计划|打算|准备|下一步)[^（）()]*的(?:都|也)?(?:不算|别算|除外)"
    r"|(?<!是)不是说?(?:计划|打算|准备))[^（）()]*[）)]"
    r"|(?:计划|打算|准备|下一步)[^，,。？?（）()]{0,6}的(?:都|也)?(?:不算|别算|除外)"
    r"|(?:不含|不包括)(?:计划|打算|下一步)(?:中|里)?的?"
)
# a placeholder for a name ("XX工作室、××茶室", "某某调解室"): any name; left out without a gap, so
# the examples it stood before stay alternatives
_PLACEHOLDER = re.compile(r"(?<![A-Za-z])[Xx×＊*]{2,}(?![A-Za-z])|某某")
# among "哪些镇…" questions, those asking for practices to borrow: "有哪些做法", "哪些镇的做法
# 可以借鉴", "哪些镇有成熟的经验", "值得学习的做法" (not of a plan or a problem: "把学习借鉴外地
# 经验写进了下一步打算", "经验不足、学习不够的问题" ask which reports say so)
_ASKS_PRACTICES = re.compile(
    r"(有哪些|什么|哪些)(?:创新|特色|好|成功|典型|有效|先进|具体|可行)?的?(做法|经验)"
)
_LEARN = r"(?:借鉴|参考|(?:可以|值得|可供|能)学习?)"
_ASKS_PRACTICES_TO_BORROW = re.compile(
    rf"(做法|经验|办法)[^？?。，,]{{0,6}}{_LEARN}"
    rf"|{_LEARN}[^？?。，,]{{0,6}}(做法|经验)"
    r"|(乡镇|镇|乡|街道)(有|的)(具体|好|成熟|成型)?的?(做法|经验)"
    r"|有(具体|好|成熟|成型)的?(做法|经验)"
)
# practices a report proposes against its own problems ("针对存在的问题，有什么改进措施")
_PRACTICE_FOR_PROBLEMS = re.compile(r"(针对|对照|解决)[^？?。]{0,8}(问题|不足|短板)|整改")
# a bracketed note on what counts ("（含计划中的）", "（不含新媒体普法）") is not the topic
_SCOPE_NOTE = re.compile(
    r"[（(][^（）()]*(含|算|除外|包括)[^（）()]*[）)]"
    r"|[（(]\s*[A-Za-z][A-Za-z0-9 .,/&'-]*[）)]"  # "记录仪（body cam）": a gloss of the word before
)
_MEASURE_INTENT = re.compile(
    r"做法|经验|举措|措施|怎么做|成效|成果|实现|做到|开展|建立|建了|配备|培养|落实|当年|今年|去年|已经"
    r"|报告年度|本年度|一年来|搞了|搞过|办过"  # "报告年度内…搞了集中普法": what was done
    # "组织干部参加过考试": done, not planned ("鼓励青年干部参加执法考试" is a plan); not the
    # bare 做过 of "有没有镇做过X", which askers also use of a practice planned
    r"|(?:参加|组织|举办|举行|召开|用|请|聘|评|出台|推行|实行|试行|设立|开展)过(?![程去来渡])"
)
_A_YEAR = r"(?<!\d)(?:19|20)\d{2}(?!\d)"
_YEAR = re.compile(rf"({_A_YEAR})\s*(?:年度|年)")
# several years, each asked ("2019年和2021年", "2019、2021年度", "2019年、2020年及2022年")
_YEAR_LIST = re.compile(
    rf"{_A_YEAR}\s*(?:年度|年)?(?:\s*(?:和|与|及|以及|、|,|，|或)\s*{_A_YEAR}\s*(?:年度|年)?)+"
    r"(?<=年|度)(?!之间|期间|间)"  # "2019年和2021年之间" is a range
)
# "2019年和2021年之间", "2019至2021年期间": a range
_YEAR_BETWEEN = re.compile(
    rf"({_A_YEAR})\s*(?:年度|年)?\s*(?:和|与|到|至)\s*({_A_YEAR})\s*(?:年度|年)?\s*(?:之间|期间|间)"
)
# a year as the question names it, with its report and a joining word before another year
# ("2019年的报告和2021年的报告里"): left out of the topic
# how a question bounds its years at one ("2021年以前", "2022年及更晚")
_YEAR_EDGE = "以前|之前|更早|以来|以后|之后|更晚"
_YEAR_WORDS = re.compile(
    rf"{_A_YEAR}\s*(?:年度|年)(?:及)?(?:{_YEAR_EDGE})?(?:的?(?:报告|工作))?(?:里|中)?"
    rf"(?:\s*(?:和|与|及|以及|、)(?=\s*{_A_YEAR}))?"
)
_YEAR_RANGE = re.compile(r"((?:19|20)\d{2})\s*(?:年)?\s*(?:到|至|-|—|~)\s*((?:19|20)\d{2})\s*年")
_YEAR_UNTIL = re.compile(
    r"((?:19|20)\d{2})\s*年(?:度)?(?:及)?以前|((?:19|20)\d{2})\s*年(?:度)?(?:之前|及更早)"
)
# "比2021年更早": before it, the year itself left out
_YEAR_BEYOND = re.compile(r"比\s*((?:19|20)\d{2})\s*年(?:度)?(?:更|还)?(早|晚|新)")
_YEAR_SINCE = re.compile(
    r"((?:19|20)\d{2})\s*年(?:度)?(?:及)?以(?:来|后)|((?:19|20)\d{2})\s*年(?:度)?(?:之后|及更晚)"
)
# "近三年", "最近5年", "近几年": the latest years of the store's reports (as many as said, three
# for 几); "近年来" is no count of years, and "这一年" is the report's own
_RECENT_YEARS = re.compile(
    # "这一年" is the report's own year, "近一年" the newest
    r"(?:(?:最近|近|过去)\s*|这(?!一))(几|[一两二三四五六七八九十]|\d{1,2})\s*年(?:来|间|里|中|内)?"
)
_NUMBER = {c: n for n, c in enumerate("一二三四五六七八九十", 1)} | {"两": 2, "几": 3}
# a township's name the gazetteer does not know: only where a name starts (the question's start,
# after a county, a year or punctuation), and without words that join a clause ("村民跟镇领导")
_PLACE_LIKE = re.compile(
    r"(?:^|(?<=[县区市州旗盟省年度，,。？?！!：:；;、\s“”\"（(]))"
    rf"([\u4e00-\u9fff]{{2,4}}?(?:镇|(?!{NOT_A_XIANG})乡|街道))"  # 乡土: a word ("这类乡土场景")
)
# words before a name ("请问云栖镇…", "了解一下…")
_LEAD_IN = re.compile(r"请问|关于|了解一下|了解|介绍一下|介绍|看看|说说")
# townships named to leave them out ("除了马家镇和柳河镇", "马家镇以外"): no place asked about,
# whether or not the store has them (`places_in` filters the store's own out)
_NAMES = rf"{TOWNSHIP_NAME}(?:(?:、|和|及|与){TOWNSHIP_NAME})*"
_NAMES_LEFT_OUT = re.compile(rf"{EXCLUDING}{_NAMES}(?:以外|之外|外)?|{_NAMES}(?:以外|之外)")
_NOT_A_PLACE = re.compile(
    r"[的些有没哪其他个看作别各几区县市里在和与把给是对全本我邻每乡跟同向到从由为被让请去来进入出回等及或找帮送驻包这]"
)
# "五份报告里", "这几个乡镇中", "所有报告": the corpus asked over, not the topic
# ...and "这两个镇", "哪三个乡": the count after 这/那/哪 says which, so a bare 镇 or 乡 will do
_COUNT = r"[一二两三四五六七八九十几\d]+"
_COUNTED_CORPUS = (
    rf"(?:这些|那些|所有|全部|(?:这|那)?{_COUNT}[份篇个])(?=(?:乡镇|街道)?的?报告|乡镇|街道)"
    rf"|[这那哪]{_COUNT}[个家](?=[镇乡]|街道|街镇|[，,、？?。])"  # "宝丰、武江这几家，哪些…"
)
_WHICH_OF_THEM = re.compile(r"哪一?个(?=[提写说有在把是没更做])")
_THESE_FEW = re.compile(rf"[这那]{_COUNT}[个家份篇](?:乡镇|街镇|街道|镇|乡|报告)")
_SCAFFOLD = re.compile(
    rf"{_COUNTED_CORPUS}|比如|例如|譬如|诸如|各乡镇|各街道|有哪几个|有哪些|哪些|哪几个|哪几[道项种类条步件次名位]?|哪个|有哪|乡镇|各镇|各乡|别的|其他|其它|报告(里|中)?|里面|当中|自己|{_ADMITS}|列为|作为|当作|(?<!编)写[成进入]|"
    r"存在的?问题|明确(?=由|提|写|说|表示|指出|规定)|提到|提出|提及|写明|反映|认为|觉得|有没有|有无|是否|是不是都?|这么说吗?|还有(?!待)|请问|列出|想看看|是怎么|的例子|当年|今年|本年度|"
    r"[？?。！!，,：:]"
    # a request to cite ("要有出处", "请附原文出处", "附上原文"): every answer cites
    r"|(?:请|要|并)?(?:附上?|注明|标明|给出|带上?|要有|有)?(?:原文)?出处|(?:请|并)?(?:附上?|引用|带上?)原文"
)

# Where in a report the asker looks ("在下一步打算里", "明年的打算里", "在问题部分"): the section
# intent already says it, and as words it only pulls the question's vector towards any plan.
_SECTION_PLACE = re.compile(
    r"(?:在|的)?(?:(?:改进措施|整改措施|问题)(?:或|和|、))?(?:今后|明年|来年|下一步|下步)?的?(?:工作)?"
    r"(?:打算|安排|计划|改进措施|问题|存在的不足|不足|短板|总结短板)(?:里|中|时|部分)+"
)
# what is left of "哪些镇…", "有哪几个镇…" at a clause's start, and verbs that only introduce
# the topic ("说要", "写了", "检讨说")
_CLAUSE_LEAD = re.compile(
    r"^(?:(?:几个|个)?(?:乡镇|镇|乡)(?![街域村政干长贤党委领人])|的(?!确)|了(?!解)|说(?!明|服)"
    r"|要(?!求|素|点|害|件)|在(?!于|职|编|岗|线|建)|写了|写到|交代了|总结了|给出了|"
    r"写明了|检讨说|做过|报告了|介绍了|介绍过|谈到了?|谈及|讲到了?)+"
)
# "有什么可以借鉴的做法", "的做法可以参考", "一般怎么安排": asking for practices, not the topic
_PRACTICE_ASK = re.compile(
    r"(?:(?:有什么|有哪些|有啥|的)(?:可以借鉴的|可供借鉴的|具体)?|具体)(?:做法|经验|办法|招数)"
    r"(?:可以|能)?(?:借鉴|参考|学)?$|(?:做法|经验|办法)(?:可以|能)?(?:借鉴|参考|学)$"
    r"|有(?:具体|好|成熟|成型)?的?(?:做法|经验|办法)$|(?:可以|值得|可供)(?:学习|借鉴|参考)的?"
)
# how the asker would like the practice to be ("有现成的化解办法", "有成熟的调解机制可以学"):
# what the reports say of it is the topic, not these
_PRACTICE_QUALIFIER = re.compile(
    r"(?:现成|成熟|成型)(?![度期率])的?(?=[^\s，,。；;？?！!]*?(?:做法|经验|办法|例子|模式|机制|招数|案例))"
)
_ASKING_TEXT = """
    镇 乡 个 有 什么 啥 哪些 做法 经验 办法 招数 可以 能 借鉴 参考 学 学习 怎么 如何 具体 一般
    安排 搞 抓 做 的 这么 是 例子 好 其他 别的 样 里 中 谁 问题
"""
# a clause made of these words only ("镇有什么办法可以学", "镇一般怎么安排") asks, it says nothing
_ONLY_ASKING = re.compile(
    "^(?:" + "|".join(sorted(_ASKING_TEXT.split(), key=len, reverse=True)) + ")+$"
    "|^(?:效果|成效|结果)?(?:怎么样|怎样|咋样|如何)$"  # a follow-up: "效果怎么样？"
)


# how a question leads to its topic, and asks after it, left out where the topic is quoted
# back to the asker: "下一步打算怎么加强普法" → 加强普法, "问题里怎么说执法队伍的" → 执法队伍,
# "明年在普法上有什么安排" → 普法, "(王场镇和塘坊镇)各有多少名执法人员" → 执法人员
_ASKING_LEAD = re.compile(
    r"^(?:各自?(?=有|是))?(?:[里中](?=怎么|如何|怎样|有|是|提|说|写))?"
    r"(?:(?:(?:下一步|下步|明年|来年|今后)的?(?:工作)?(?:打算|准备|计划)?|打算|准备)(?:要|将)?"
    r"(?:在(?![线职编岗建]))?)?"
    r"(?:(?:怎么样|怎么|如何|怎样)说?|(?:有|是)?多少[名个位件次场人起]?)?(?=\w{2})"
)
_ASKING_TAIL = re.compile(
    r"(?<=\w{2})(?:上|方面|这块)?(?:都|还|又)?(?:做什么|做了什么|做哪些|有什么安排|有哪些安排"
    r"|有什么打算|有什么计划|怎么做|怎么办|是什么|有哪些|有多少|是多少|了吗|了没有|吗|呢)$"
)


def _absence(question: str) -> re.Pattern[str] | None:
    """How the question asks for an absence (`_NEGATION`, or `_NOT_LISTED` where no admission
    comes before it), if it does."""
    if _NEGATION.search(question):
        return _NEGATION
    m = _NOT_LISTED.search(question)
    if m and not re.search(_ADMITS + r"|说", question[: m.start()]):
        return _NOT_LISTED
    return None


def _without_complement(question: str) -> str:
    """The question without a later one asking for the rest of its list ("哪些镇打算加大普法？
    有没有哪个镇没提普法？"): a corpus-wide answer names those too, and the first one asks."""
    sentences = [s for s in re.split(r"(?<=[？?。！!])", question) if s.strip()]
    for i in range(1, len(sentences)):
        before = "".join(sentences[:i])
        absence = _absence(sentences[i])
        if absence is None or _absence(before) or not _AGGREGATE.search(before):
            continue
        # what the later one asks about, without its asking: nothing the first does not name,
        # in no section the first does not ask about
        later = absence.sub(" ", sentences[i])
        topic = _clean_core(_SCAFFOLD.sub(" ", later))
        if all(word in before for word in re.findall(r"[\u4e00-\u9fff]{2,}", topic)) and all(
            pattern.search(before) for _, pattern in _SECTION_INTENT if pattern.search(later)
        ):
            return before
    return question


def topic_phrase(core: str) -> str:
    """The topic as an answer quotes it back ("没有找到与“加强普法”直接相关的内容"): without
    the plans wording and the 怎么 that lead to it; quotes inside it become inner quotes
    ("“‘三官一律’进村”")."""
    lead = _ASKING_LEAD.match(core)
    topic = core[lead.end() :] if lead else core
    if lead and lead.group().endswith("说"):
        topic = topic.removesuffix("的")  # "怎么说执法队伍的"
    return (_ASKING_TAIL.sub("", topic) or core).translate(_INNER_QUOTES)


_INNER_QUOTES = str.maketrans("“”", "‘’")


def _clean_core(core: str) -> str:
    """The topic without what only places it (section, township words) or asks for practices."""
    core = _SECTION_PLACE.sub(" ", core)
    clauses = []
    for clause in core.split():
        clause = _PRACTICE_ASK.sub("", _PRACTICE_QUALIFIER.sub("", _CLAUSE_LEAD.sub("", clause)))
        if clause and not _ONLY_ASKING.match(clause):
            clauses.append(clause)
    return " ".join(clauses)


@dataclass
class ParsedQuestion:
    text: str
    kind: QuestionKind
    sections: list[str] = field(default_factory=list)
    scope: Scope = field(default_factory=Scope)
    core: str = ""  # the topic: no scaffolding, no section place, no asking for practices
    unknown_places: list[str] = field(default_factory=list)  # named places not in the store
    # what is embedded for corpus-wide questions: the question without its scaffolding (the
    # meaning rule's margins were calibrated on these vectors)
    query: str = ""
    claim: Claim = "plain"
    # "这两个镇…" when no township is named: which ones is not said (asked of every report)
    unnamed_subset: str | None = None
    # "近三年" read as the newest years of the store's reports, said in the answer's notice
    recent_years: str | None = None


def parse_question(
    question: str, facets: dict[str, list], *, of_every_township: bool = False
) -> ParsedQuestion:
    """Kind, section intent, scope and core topic of `question`; `facets` are the store's values.
    `of_every_township`: what would be a lookup asks every township in scope (a question naming
    counties whose reports are several townships', `AnswerService`)."""
    q = question.strip()
    scope = Scope()
    places = places_in(q, facets)
    scope.townships, scope.counties, scope.provinces = (
        places.townships,
        places.counties,
        places.provinces,
    )
    if scope.townships and not places.left_out and _ASKS_OTHERS_TOO.search(q):
        scope.townships = []  # the townships named are examples: every township is asked
    unknown = (
        places.unknown
        + [
            p  # a name like a township's that the gazetteer (2023) does not know either
            for p in _PLACE_LIKE.findall(_LEAD_IN.sub(" ", _NAMES_LEFT_OUT.sub(" ", q)))
            if p not in scope.townships
            and not any(w in p for w in (*places.written, *places.unknown))
            and not _NOT_A_PLACE.search(p[:-1])
        ]
    )
    named_years = sorted({int(y) for y in _YEAR.findall(q)})
    recent = None
    if m := _YEAR_BETWEEN.search(q) or _YEAR_RANGE.search(q):
        scope.year_from, scope.year_to = sorted((int(m.group(1)), int(m.group(2))))
    elif m := _YEAR_BEYOND.search(q):
        year = int(m.group(1))
        if m.group(2) == "早":
            scope.year_to = year - 1
        else:
            scope.year_from = year + 1
    elif m := _YEAR_UNTIL.search(q):
        scope.year_to = int(m.group(1) or m.group(2))
    elif m := _YEAR_SINCE.search(q):
        scope.year_from = int(m.group(1) or m.group(2))
    elif m := _YEAR_LIST.search(q):
        scope.years = sorted({int(y) for y in re.findall(_A_YEAR, m.group())})
    elif (m := _RECENT_YEARS.search(q)) and facets.get("year"):
        # counted back from the newest report's year (reports come out the year after)
        count = int(m.group(1)) if (m.group(1) or "").isdigit() else _NUMBER.get(m.group(1), 3)
        scope.year_to = max(int(y) for y in facets["year"])
        scope.year_from = scope.year_to - max(count, 1) + 1
        recent = m.group()
    elif len(named_years) > 1:  # "2019年的报告和2021年的报告里"
        scope.years = named_years
    elif m := _YEAR.search(q):
        scope.year_from = scope.year_to = int(m.group(1))

    # "哪些镇没有把X列为问题" asks of the problems sections; its 没有 is no shortfall
    asking = _without_complement(q)
    absence = _absence(asking)
    asked = absence.sub(" ", asking) if absence else asking
    asked, plans_excluded = _PLANS_EXCLUDED.subn(" ", asked)
    sections = [name for name, pattern in _SECTION_INTENT if pattern.search(asked)]
    if "problems" in sections and "plans" in sections:
        sections.remove("problems")  # "下一步打算里提出要加强…不足" is about plans
    if not sections and (plans_excluded or _MEASURE_INTENT.search(q)):
        sections = ["measures", "innovations"]
    if _PLANS_INCLUDED.search(q) and not plans_excluded and "problems" not in sections:
        sections = ["measures", "innovations", "plans"]
    elif "problems" in sections or "plans" in sections:
        sections = [s for s in sections if s in ("problems", "plans")]
    if "innovations" in sections and "measures" not in sections:
        sections.append("measures")  # innovations are often written up under measures
    if "duty" in sections and "measures" not in sections:
        sections.append("measures")  # many reports report the leaders' duty among measures

    kind: QuestionKind = "lookup"  # one township named, or nothing asked of many
    of_plans_or_problems = bool({"plans", "problems"} & set(sections))
    if len(scope.townships) != 1:
        if _AGGREGATE.search(q):
            borrow = not of_plans_or_problems and _ASKS_PRACTICES_TO_BORROW.search(q)
            kind = "practice" if _ASKS_PRACTICES.search(q) or borrow else "corpus"
        elif _PRACTICE.search(q) and not (scope.townships and of_plans_or_problems):
            # "王场镇和万灵镇下一步打算怎么做普法？" asks each one's plans: no practice to borrow
            kind = "practice"
        elif _OTHERS_WHETHER.search(q):
            kind = "corpus"
        elif len(scope.townships) > 1 and _WHICH_OF_THEM.search(q):
            kind = "corpus"  # "塘坊镇和万灵镇里，哪个提到了…": each of them is graded
    if kind == "lookup" and of_every_township:
        kind = "corpus"

    if kind == "practice" and not sections:
        # a peer practice is something done: measures, not a plan or a problem
        sections = [s for s in SECTION_TYPES if s not in ("problems", "plans")]
    if kind == "practice" and "problems" in sections and not _PRACTICE_FOR_PROBLEMS.search(q):
        # "普法人手不够，别的镇是怎么…的？": the shortfall is the asker's, practices are measures
        sections = ["measures", "innovations"]

    claim: Claim = "plain"
    if kind != "lookup" and absence:
        claim = "negation"
    elif kind != "lookup" and _RELATION.search(q):
        claim = "relation"
    core = _SCOPE_NOTE.sub(" ", _EVERY_VILLAGE.sub(" 全覆盖 ", asking))
    core = _PLANS_EXCLUDED.sub(" ", _PLACEHOLDER.sub("", core))
    if claim == "negation" and absence and (m := absence.search(core)):
        # "提到了X，但下一步打算中却没有再提X": the absence is asked after the 但, of a topic
        # named there or, if none is ("…，但打算里没有再提"), before it
        if contrast := _CONTRAST.search(core, 0, m.start()):
            after = _CONTRAST.sub(" ", absence.sub(" ", core[contrast.end() :]))
            named = len(_CLAUSE_FILLER.sub("", after)) >= 2
            core = after if named else core[: contrast.start()]
        core = absence.sub(" ", core)
    names = [
        n
        for name in (*places.written, *scope.townships, *scope.counties, *scope.provinces)
        for n in (name, province_short(name))
        if n
    ]
    if names and not re.search(EXCLUDING, core):
        # "王场镇和塘坊镇各有…": the 和 joining two places goes with them ("除了A和B" is
        # left out whole below)
        named = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
        core = re.sub(rf"({named})(?:和|与|跟|及|以及|、)(?={named})", r"\1", core)
    for name in names:
        core = core.replace(name, "")
    core = _NAMES_LEFT_OUT.sub(" ", core)  # "除了马家镇以外": a place the store lacks, left out
    core = _YEAR_RANGE.sub("", _YEAR_BETWEEN.sub("", _YEAR_BEYOND.sub("", core)))
    core = _YEAR_WORDS.sub("", _YEAR_LIST.sub("", core))
    core = _RECENT_YEARS.sub("", core)
    core = re.sub(rf"((?:19|20)\d{{2}})\s*(年度|年)(及)?({_YEAR_EDGE})?", "", core)
    core = _SCAFFOLD.sub(" ", core)
    core = re.sub(r"\s+", " ", core).strip()
    query = core
    core = _clean_core(core) or core
    return ParsedQuestion(
        text=q,
        kind=kind,
        sections=sections,
        scope=scope,
        core=core or q,
        unknown_places=unknown,
        query=query or q,
        claim=claim,
        unnamed_subset=None if scope.townships else _subset_phrase(q),
        recent_years=recent,
    )


# a plans or problems word that does not ask about the section: a plan carried out ("准备了多少场
# 普法活动"), or what was done against a problem ("针对执法力量不足采取了什么措施")
_DONE = re.compile(r"(?:准备|计划|安排|打算)了")


def sections_asked(parsed: ParsedQuestion) -> list[str]:
    """The plans or problems sections a lookup's wording asks about ("下一步打算怎么…",
    "承认有哪些短板"), if that is all it asks about; else none."""
    asked = [s for s in parsed.sections if s in ("plans", "problems")]
    if not asked or len(asked) < len(parsed.sections):
        return []
    if _DONE.search(parsed.text) or _PRACTICE_FOR_PROBLEMS.search(parsed.text):
        return []
    return asked


def recent_years_notice(parsed: ParsedQuestion) -> str | None:
    """How "近三年" was read: the store's newest report year and the years before it."""
    scope = parsed.scope
    if not parsed.recent_years or scope.year_from is None or scope.year_to is None:
        return None
    return (
        f"“{parsed.recent_years}”按库中最新的 {scope.year_to} 年度报告往前算：{years_text(scope)}。"
    )


def years_text(scope: Scope) -> str:
    """A scope's years as an asker writes them: 2021年, 2019—2021年, 2019、2021年, 2021年以来,
    2022年以前."""
    if scope.years:
        return "、".join(map(str, scope.years)) + "年"
    if scope.year_from == scope.year_to:
        return f"{scope.year_from}年"
    if scope.year_to is None:
        return f"{scope.year_from}年以来"
    if scope.year_from is None:
        return f"{scope.year_to}年以前"
    return f"{scope.year_from}—{scope.year_to}年"


def unnamed_subset_notice(parsed: ParsedQuestion, in_scope: int) -> str | None:
    """What an answer says of a subset the question counts but does not name ("这两个镇"),
    unless the count is the `in_scope` reports' own."""
    count = _subset_count(parsed.unnamed_subset or "")
    if count is None or count == in_scope:
        return None
    return (
        f"问题中的“{parsed.unnamed_subset}”没有写明是哪些，已在范围内的全部 {in_scope} 份报告中"
        "查找；可写出乡镇名或用筛选限定。"
    )


def _subset_count(phrase: str) -> int | None:
    """How many a subset phrase counts ("这两个镇": 2; "这几个镇": None, it does not say)."""
    digits = re.search(r"\d+", phrase)
    if digits:
        return int(digits.group())
    numeral = re.search(r"[一二两三四五六七八九十]+", phrase)
    if not numeral:
        return None
    value, text = 0, numeral.group()
    if "十" in text:
        tens, _, units = text.partition("十")
        value = 10 * (_NUMERALS.get(tens, 1) if tens else 1) + (_NUMERALS.get(units, 0))
    else:
        value = _NUMERALS.get(text, 0)
    return value or None


_NUMERALS = {c: i for i, c in enumerate("零一二三四五六七八九", 0)} | {"两": 2}


def _subset_phrase(question: str) -> str | None:
    """ "这两个镇" in a question naming no township: a subset it does not name."""
    match = _THESE_FEW.search(question)
    return match.group(0) if match else None


# Words a question frames its topic with: "在X上下功夫/做文章" (works on X; jieba also cuts
# 下了功夫, 做了文章), a direction after or before a verb ("让群众参与进来", "出去执法"),
# emphasis ("专门针对执法队员", "单独列了")
FRAMING_WORDS = frozenset(
    [
        *("下功夫", "做文章", "花功夫", "花力气", "功夫", "文章", "力气", "上下"),
        *("进来", "出去", "下去", "上去", "过来", "回来"),
        *("专门", "单独", "特别", "领域"),
        "面向",  # "面向群众的普法": the audience and the work are the topic, not aiming at them
    ]
)
# a word asking who, which or how many ("由谁来当组长", "哪家律所", "几台"): the asker's, not
# the topic
ASKING_WORD = re.compile("谁|哪|什么|多少|几")
# "在重大行政决策上", "在柔性执法、文明执法方面": a setting is 在, whole words, then one of these
_SETTING_ENDS = frozenset(["上", "中", "里", "方面", "领域", "上下"])
_SETTING_JOINS = frozenset(["、", "和", "与", "及", "或"])
_SETTING_MOST = 8  # words
_PUNCTUATION = re.compile(r"^[^\u4e00-\u9fffA-Za-z0-9]+$")


# longer than this, a question is several (or a pasted passage): its words drown each other
MAX_QUESTION_CHARS = 400
_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def wording_problem(question: str) -> str | None:
    """Why a question cannot be read as asked (not Chinese, or too long to be one question),
    in words for the asker; None when it can."""
    if not _CHINESE.search(question):
        return (
            "fazhi 只读得懂中文提问（报告都是中文）。请用中文提问，例如“哪些乡镇把执法能力不足列为存在的问题？”"
            "（Please ask in Chinese: the reports are in Chinese.）"
        )
    if len(question) > MAX_QUESTION_CHARS:
        return (
            f"问题太长（{len(question)} 字）：请拆成几个短问题，一次问一件事"
            f"（不超过 {MAX_QUESTION_CHARS} 字），答案和引文才对得上。"
        )
    return None


# "那王场镇呢？", "2022年的呢", "换成宝丰县怎么样": the last question, asked of other places or years
_FOLLOW_UP = re.compile(
    r"^(?:那么?|那如果|换成|再看看?|还有)?\s*(.{1,30}?)\s*(?:的情况|的呢|呢|怎么样|如何)\s*[？?。!！]?$"
)
S = TypeVar("S", bound=Scope)
# what may stand between the places and years a follow-up names
_FOLLOW_UP_FILLERS = frozenset(
    ["的", "和", "与", "及", "以及", "、", "，", ",", "年", "年度", "报告", " "]
)


@dataclass
class FollowUp:
    """A chat follow-up ("那王场镇呢？"): the places or years it names, which replace the last
    question's (as filters would), and how the asker wrote them."""

    named: str
    scope: Scope
    unknown_places: list[str]

    def narrow(self, filters: S) -> S:
        """The filters with its places and years in place of theirs, as filters win over a
        question's own ("那石桥镇呢？" after a question about 王场镇 is about 石桥镇 alone)."""
        scope = self.scope
        if scope.townships or scope.counties or scope.provinces:
            filters = replace(
                filters,
                townships=list(scope.townships),
                counties=list(scope.counties),
                provinces=list(scope.provinces),
            )
        if scope.has_years:
            filters = replace(
                filters, year_from=scope.year_from, year_to=scope.year_to, years=list(scope.years)
            )
        return filters

    def ask_of(self, previous: str, facets: dict[str, list]) -> str:
        """The last question with each place and year it writes replaced by those this one
        names: "王场镇有哪些问题？" then "那河南呢" asks "河南有哪些问题？" (filters alone would
        keep 王场镇, which is not in 河南), "2021年…" then "2022年的呢" asks "2022年…". Places
        stay when the last question names them to leave them out ("除了王场镇…")."""
        scope = self.scope
        asked = previous
        written_years = _YEAR_SPAN.search(self.named)
        if scope.has_years and written_years:
            asked = _replace_runs(asked, _YEAR_SPAN, written_years.group())
        if not (scope.townships or scope.counties or scope.provinces or self.unknown_places):
            return asked
        places = places_in(asked, facets)
        if places.left_out:
            return asked
        # as written, without its years: "2022年石桥镇" → 石桥镇
        named = _YEAR_SPAN.sub("", self.named).strip("的 ") or self.named
        forms = written_forms(places) | set(parse_question(asked, facets).unknown_places)
        if not forms:
            return asked
        pattern = re.compile("|".join(map(re.escape, sorted(forms, key=len, reverse=True))))
        return _replace_runs(asked, pattern, named)


# years as a question writes them: 2021年, 2019—2021年, 2019、2021年度 (not the 2000 of 罚款2000元)
_YEAR_SPAN = re.compile(
    rf"{_A_YEAR}(?:\s*(?:年度|年)?\s*(?:—|–|-|~|～|至|到|和|与|及|、)\s*{_A_YEAR})*\s*(?:年度|年)"
)


def _replace_runs(text: str, pattern: re.Pattern[str], by: str) -> str:
    """`text` with each run of `pattern`'s matches (neighbours joined by 和, 以及, 、 or 的)
    replaced by `by`: "王场镇以及塘坊镇有哪些问题" → "石桥镇有哪些问题"."""
    parts, at = [], 0
    for start, end in place_runs(text, pattern):
        parts += [text[at:start], by]
        at = end
    return "".join([*parts, text[at:]])


def follow_up(question: str, tokenizer: Tokenizer, facets: dict[str, list]) -> FollowUp | None:
    """The places or years a chat follow-up asks the last question of ("那王场镇呢？",
    "2022年的呢"), or None when the question names anything else: it is its own question."""
    match = _FOLLOW_UP.match(question.strip())
    if match is None:
        return None
    named = match.group(1)
    parsed = parse_question(named, facets)
    scope = parsed.scope
    places = [*scope.townships, *scope.counties, *scope.provinces, *parsed.unknown_places]
    if not (places or scope.has_years):
        return None
    # every word of it is (part of) a place it names as written (石柱县 for 石柱土家族自治县),
    # a year, or what joins them
    places += places_in(named, facets).written
    for word in tokenizer.cut(re.sub(_A_YEAR, " ", named)):
        if word not in _FOLLOW_UP_FILLERS and not any(word in place for place in places):
            return None
    return FollowUp(named, scope, list(parsed.unknown_places))


def setting_of(tokenizer: Tokenizer, question: str) -> str:
    """The question's settings ("在重大行政决策上，哪些镇落实了听证制度" → 重大行政决策): where its
    claim is made, not the claim (`Topic.claim_heads`). Read on whole words, so 在线, 存在, 放在
    and 中心 are no part of one."""
    words = tokenizer.cut(question)
    settings = []
    for i, word in enumerate(words):
        if word != "在":
            continue
        for j in range(i + 1, min(i + 1 + _SETTING_MOST, len(words))):
            if words[j] in _SETTING_ENDS:
                if j > i + 1:
                    settings.append("".join(words[i + 1 : j]))
                break
            if _PUNCTUATION.match(words[j]) and words[j] not in _SETTING_JOINS:
                break
    return " ".join(settings)
