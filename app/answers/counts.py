"""Counts: a question asking how many (多少起, 几名), and a sentence stating a number that counts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# a question asking for a count ("哪几个镇", "几个方面" ask for something else)
_COUNTERS = "个|名|次|起|件|场|人|家|项|份|位|期|户|处|所|支|批|篇|台|部"
_COUNT_NOUNS = "人数|次数|件数|场次|人次|个数|户数|总数"
ASKS_COUNT = re.compile(rf"多少|(?<!哪)几(?!个方面)(?:{_COUNTERS})|数量|{_COUNT_NOUNS}|具体数")
# what a count question asks for, ending its clause ("调解矛盾纠纷的具体件数？", "给出了具体
# 数字"): its cue finds the sentence with the number, it is not the topic (数字乡村 is)
ASKED_COUNT_NOUN = re.compile(
    rf"(?:具体|准确|确切|精确|的)?(?:{_COUNT_NOUNS}|数字|数目|数据)(?:是|为)?(?:多少)?"
    r"(?=[？?，,。；;！!（(\s]|$)"
)
# "给出了…具体办理数字": a figure asked for, ending its clause (not 大数据, 数字乡村)
_ASKS_FIGURE = re.compile(r"具体[\u4e00-\u9fff]{0,4}?(?:数字|数目|数据)(?=[？?，,。；;！!（(\s]|$)")
# "有多少个镇…", "几个乡镇…": asking how many townships say something, not for a count in them
# ("培训了多少镇村干部" counts cadres)
_TOWNSHIP_COUNT = re.compile(
    r"(?:多少|几)个?(?:乡镇|街道|镇|乡|地方)(?!镇|村|干部|政府|社区|工作|级|人|党|机关|领导|企业)"
    # "这几份报告里", "宝丰、武江这几家": the reports asked of, not a count in them
    r"|[这那](?:几|[两三四五六七八九十\d]+)[个家份篇]"
)
# what is not a count: years and year ranges (2021年, 2019—2021年, 2022—2025), document numbers
# (〔2021〕5号), dates and times (2023-02-08, 12月4日), ordinals (第3季度)
_NOT_A_COUNT = re.compile(
    r"(?:19|20)\d{2}[-/.]\d{1,2}(?:[-/.]\d{1,2})?"
    r"|[〔\[(（]?(?:19|20)\d{2}[〕\])）]?\s*(?:年|[-/.—–～~至到、〕]|\d*号)"
    r"|(?<=[—–～~至到-])(?:19|20)\d{2}"
    r"|\d+(?:\.\d+)?\s*(?:月|日|号|时|点)|第\s*\d+"
    # names and numbers that count nothing: "369"赶集日, "1+3+N"模式, 12348热线
    r"|[“\"「][^”\"」]{0,12}\d[^”\"」]{0,12}[”\"」]|\d+(?=\s*(?:模式|工作法))|\d{4,}(?=[\u4e00-\u9fff]{0,6}热线)"
    # a lone 一个 is mostly an article ("创造一个良好的法律环境", "建立一个平台"); 一名, 一次,
    # 一起 count ("聘请一名法律顾问", "召开专题会议一次")
    r"|(?<![一二两三四五六七八九十百千万])一个"
)
_COUNT = re.compile(r"\d|[一二两三四五六七八九十百千万]+(?:个|名|次|起|件|场|人|家|项|份|户|余)")


def asks_count(question: str) -> bool:
    """Whether a question asks for a count stated in the reports ("给出了…案件数量", "多少名")."""
    asked = _TOWNSHIP_COUNT.sub(" ", question)
    return bool(ASKS_COUNT.search(asked) or _ASKS_FIGURE.search(asked))


def states_count(sentence: str) -> bool:
    """Whether a sentence holds a number that counts something (三次, 20件, 二十余名)."""
    return bool(_COUNT.search(_NOT_A_COUNT.sub(" ", sentence)))


# -- a number the question gives ("一百五十多名", "三百多次", "超过了一百件", "16名") ---------------
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_CN_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_NUMERAL = r"\d+(?:\.\d+)?万?|[零〇一二两三四五六七八九十百千万]+"
# measure words that count the same thing: people, cases, sessions
_ALIKE = (frozenset("名人位"), frozenset("件起"), frozenset(["场", "场次", "次"]))
# 1700余人次 counts visits, not people; 300场次 sessions
_COMPOUND_COUNTERS = "人次|场次|户次|件次"
_QUOTED = re.compile(r"[“\"「《][^”\"」》]*[”\"」》]")
# a number given as a count, with its measure word. Not one that only places or ranks (第十次,
# 前十名, 每百户), nor a guess (几十名, 数千名, 上百名, 近百名, 约150名), nor a policy's name
# (“十个一”工程, 三个全覆盖), nor the reports or townships asked of ("全区12个镇里": _NAMING)
GIVEN_COUNT = re.compile(
    r"(?P<bound>超过了?|多于|高于|大于|不少于|至少|不到|少于|低于|不足)?"
    rf"(?<![第前每近几数上约逾好余来\d.])(?P<number>{_NUMERAL})"
    rf"(?:(?:到|至|—|-|～|~)(?P<upper>{_NUMERAL}))?(?P<more>多|余|来)?"
    rf"(?P<counter>{_COMPOUND_COUNTERS}|{_COUNTERS})"
    r"(?P<beyond>以上|以下|之多)?"
)
_NAMING = re.compile(r"[个份家篇][一二三四五六七八九十全]|[个份家篇](?:乡镇|镇|乡|街道|报告)")
_SENTENCE_COUNT = re.compile(
    rf"(?P<number>{_NUMERAL})(?P<more>多|余)?(?P<counter>{_COMPOUND_COUNTERS}|{_COUNTERS})"
)


def _numeral(text: str) -> tuple[int, int] | None:
    """The value of a numeral in digits or characters (一百五十 → 150, 2万 → 20000, 两万五 →
    25000) and the place of its last digit (10), or None if it is none this reads (二三十)."""
    if text[0].isdigit():
        tens_of_thousands = text.endswith("万")
        number = float(text.removesuffix("万")) * (10000 if tens_of_thousands else 1)
        if number != int(number):
            return None
        value = int(number)
        return value, 10 ** (len(str(value)) - len(str(value).rstrip("0"))) if value else 1
    total = section = 0
    digit: int | None = None
    unit = place = 1
    for ch in text:
        if ch in _CN_DIGITS:
            if digit is not None and digit != 0:
                return None  # 二三十: twenty or thirty
            digit, place = _CN_DIGITS[ch], 1
        elif ch == "万":
            total += (section + (1 if digit is None and not section else digit or 0)) * 10000
            section, digit, unit, place = 0, None, 10000, 10000
        else:
            unit = _CN_UNITS[ch]
            section += (1 if digit is None else digit) * unit
            digit, place = None, unit
    if digit and unit >= 100 and place == 1 and text[-2] in _CN_UNITS:
        # 一百五, 两万五: the digit after a unit of 百 or more counts the unit below it
        return total + section + digit * unit // 10, unit // 10
    return total + section + (digit or 0), place


def _alike(a: str, b: str) -> bool:
    return a == b or any(a in group and b in group for group in _ALIKE)


@dataclass(frozen=True)
class CountInRange:
    """A key sentence's cue for a question giving a number: the sentence states a count in
    [low, high) with a like measure word (名, 人 and 位 count people alike). "一百五十多名" is
    150-159, "三百多次" 300-399, "超过了一百件" 101 or more, "20到30名" 20-30, "16名" 16.
    `phrase` is how the question gives it."""

    low: int
    high: float
    counter: str
    phrase: str = field(default="", compare=False)

    def __call__(self, text: str) -> bool:
        for m in _SENTENCE_COUNT.finditer(_NOT_A_COUNT.sub(" ", text)):
            value = _numeral(m.group("number"))
            if value is None or not _alike(m.group("counter"), self.counter):
                continue
            # "50余次" is 50-59: it meets "超过50次" where the ranges meet
            top = value[0] + value[1] if m.group("more") else value[0] + 1
            if value[0] < self.high and top > self.low:
                return True
        return False


def given_count(question: str) -> CountInRange | None:
    """The count a question gives ("哪个镇配了一百五十多名法律明白人"), as the range it means:
    a number of ten or more, or one said to be approximate or a bound ("2个以上"); a small bare
    one ("一名", "两次") is left to the words (a lone 一个 is an article)."""
    unquoted = _QUOTED.sub(" ", _TOWNSHIP_COUNT.sub(" ", question))  # “百名律师进百村”
    for m in GIVEN_COUNT.finditer(unquoted):
        number, upper = m.group("number"), m.group("upper")
        parsed = _numeral(number)
        top = _numeral(upper) if upper else None
        if parsed is None or (upper and top is None):
            continue
        value, place = parsed
        bound, beyond, more = m.group("bound"), m.group("beyond"), m.group("more")
        if _NAMING.match(unquoted, m.end("counter") - 1):
            continue
        if number[0] in "百千万" and not more:
            continue  # 百名律师进百村, 千人大普法: a slogan's round number
        if not (value >= 10 or more or bound or beyond or upper):
            continue
        if top is not None:
            low, high = value, float(top[0] + 1)
        elif bound in ("不到", "少于", "低于", "不足") or beyond == "以下":
            low, high = 0, float(value)
        elif bound in ("不少于", "至少") or beyond == "以上":
            low, high = value, float("inf")
        elif bound:  # 超过, 多于, 高于, 大于
            low, high = value + 1, float("inf")
        elif more:
            low, high = value, float(value + place)
        else:
            low, high = value, float(value + 1)
        return CountInRange(low, high, m.group("counter"), m.group())
    return None
