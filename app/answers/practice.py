"""Peer-practice answers name the practices: the quoted names in a report's passages on the topic.

A practice question is answered like any corpus-wide one (`corpus.answer`); its entries add the
practices named (“贵和”工作室, “小院+微解纷”工作法), each from a cited passage.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from app.answers.engine import Engine
from app.candidates import Candidates
from app.index_snapshot import SEPARATOR
from app.retrieval import Hit, Topic
from app.sentences import SHORT_SENTENCE
from ingest.passages import sentence_spans

PRACTICES_SHOWN = 6  # practice names in one township's entry
_QUOTED = re.compile(r"[“\"「『]([^”\"」』]{2,24})[”\"」』]")
# the same, never across the separator between passages joined (`PassageTable.joined`)
_QUOTED_IN_JOINED = re.compile(rf"[“\"「『]([^”\"」』{SEPARATOR}]{{2,24}})[”\"」』]")
# what may follow a quoted practice name and belongs to it (“贵和”调解工作制度)...
_PRACTICE_NOUN = re.compile(
    r"(?:的)?((?:调解)?工作(?:法|室|制度|机制)|调解室|茶室|机制|模式|品牌|责任制|专项行动|活动|理念)"
)
# ...and what says the quote is not a township's own practice
_NOT_A_PRACTICE_AFTER = re.compile(r"(?:的)?(?:要求|原则|精神|先进|典型|称号|荣誉|期间|作用)")
_NOT_A_PRACTICE_BEFORE = re.compile(r"(?:简称|清理|杜绝|消除|这个|持着)$")
# dated or national occasions (“12.4宪法日”, “安全生产月”), not a township's “村民说事日”
_OCCASION = re.compile(
    r"\d.*(?:日|月|周|节)$|(?:宣传|安全生产)(?:月|周)$|(?:宪法|禁毒|纪念)日$|期间$"
)
# a numbered lead sentence ("二是突出矛盾化解。", "（三）…", "2.…")
_ORDINAL_LEAD = re.compile(
    r"[一二三四五六七八九十]+是|[（(][一二三四五六七八九十\d]+[)）]|\d+[.、．]"
)


def practices_named(
    engine: Engine, hit: Hit, others: list[Hit], topic: Topic
) -> tuple[str, list[Hit]]:
    """The “做法：…；” part of a township's entry, and the other passages that name them.

    Names come from the entry's passage and from the report's other passages on the topic
    (`others`: its candidates that quote something; the entry's own may be among them); each
    of those passages is cited after the entry's own.
    """

    def says_topic(text: str) -> bool:
        return engine.retriever.coverage(text, topic) > 0

    def names_of(passage: Hit) -> list[str]:
        """The practices a passage names about the topic (all of them under a heading on it)."""
        if not _QUOTED.search(passage.passage.text):
            return []  # most passages quote nothing: their heading is not looked at
        heading = str(passage.passage.meta.get("heading", "")).rsplit(">", 1)[-1]
        if says_topic(heading):
            return practice_names(passage.passage.text)
        sentences = engine.retriever.sentences(passage)
        return practice_names(passage.passage.text, says_topic, sentences)

    names = names_of(hit)
    cited: list[Hit] = []
    for other in others:
        on_topic = other is not hit and other.coverage >= engine.rule.min_coverage
        if on_topic and (more := names_of(other)):
            cited.append(other)
            names.extend(more)
    names = list(dict.fromkeys(names))[:PRACTICES_SHOWN]
    line = f"做法：{'、'.join(f'“{n}”' for n in names)}；" if names else ""
    return line, cited


def quoting(candidates: Candidates) -> np.ndarray:
    """Which candidate passages quote something (a practice's name may be among their quotes):
    one search over their texts joined, so a passage quoting nothing is never made a `Hit`."""
    joined, starts = candidates.text
    if joined.count(SEPARATOR) != len(starts) - 2:  # a text holding the separator itself
        return np.ones(len(starts) - 1, dtype=bool)
    at = np.array([m.start() for m in _QUOTED_IN_JOINED.finditer(joined)], dtype=np.int64)
    found = np.zeros(len(starts) - 1, dtype=bool)
    found[np.searchsorted(starts, at, side="right") - 1] = True
    return found


def practice_names(
    text: str,
    on_topic: Callable[[str], bool] | None = None,
    sentences: list[tuple[int, int]] | None = None,
) -> list[str]:
    """Named practices are usually quoted: “贵和”工作室, “老娘舅茶室”, “小院+微解纷”工作法.

    With `on_topic`, only names said in a sentence about the question's topic count (a passage
    on disputes may also name an opera tour, “送戏下乡”); a short numbered lead before the name's
    sentence counts with it (“二是突出矛盾化解。…“小事不出村””).

    The practice noun after a quote belongs to the name (贵和工作室). Quotes that are not a
    township's practice are left out: occasions (“安全生产月”), national requirements and
    principles (“三重一大”要求, …的原则), honours (“枫桥经验”先进典型), abbreviations
    (简称“…”), what is cleared away (清理“奇葩证明”), figures of speech (政府的“外脑”,
    这个“死角”), and two-character labels without a practice noun (村“两委”, “四风”).
    """
    names = []
    # `sentences`: the text's `sentence_spans` if known; cut when a quote is found otherwise
    for match in _QUOTED.finditer(text):
        if on_topic:
            sentences = sentence_spans(text, 0, len(text)) if sentences is None else sentences
            if not on_topic(_sentence_at(text, sentences, match.start())):
                continue
        name = match.group(1).strip().rstrip("。，,；;！!？?、")  # a slogan's own full stop
        before, after = text[max(0, match.start() - 4) : match.start()], text[match.end() :]
        if (
            not name
            or re.fullmatch(r"[\d.]+", name)
            or _OCCASION.search(name)
            or _NOT_A_PRACTICE_BEFORE.search(before)
            or _NOT_A_PRACTICE_AFTER.match(after)
        ):
            continue
        if suffix := _PRACTICE_NOUN.match(after):
            name += suffix.group(1)
        elif len(name) <= 2:
            continue
        if name not in names:
            names.append(name)
    return names[:5]


def _sentence_at(text: str, sentences: list[tuple[int, int]], at: int) -> str:
    """The sentence holding position `at`, with the lead just before it (二是突出矛盾化解。)."""
    for i, (a, b) in enumerate(sentences):
        if a <= at < b:
            if i and _is_lead(text[sentences[i - 1][0] : sentences[i - 1][1]]):
                a = sentences[i - 1][0]
            return text[a:b]
    return ""


def _is_lead(sentence: str) -> bool:
    return (
        len(sentence) < SHORT_SENTENCE
        and not re.search(r"[，,、：:]", sentence)
        and bool(_ORDINAL_LEAD.match(sentence))
    )
