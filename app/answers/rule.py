"""The thresholds that grade a report on a question: one object, so a caller can pass another."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DecisionRule:
    """How a report's verdict on a corpus-wide claim is graded, from its own passages alone.

    Thresholds are absolute, and the words' weights come from a fixed reference (the bundled
    reports, `app/word_weights.py`), so adding reports does not change a report's verdict; only
    by-meaning 明确提到 compares a report's BM25 score with the best in scope
    (`meaning_lexical`). The floors are calibrated for the default embedding model and those
    weights on the tuning gold sets and the scale harness (EVAL.md); another model may need
    other floors.

    明确提到, by words: the best sentence of a passage in the asked-about sections holds
    enough of the topic's weighted words (required ones included) in a passage close in
    meaning; or by meaning, for questions worded unlike the reports ("身兼数职" for "还兼政府
    其他业务"): a passage very close in meaning that shares words with the question.
    相关: a sentence with part of the topic's words, or a passage close in meaning, in the
    asked-about sections, or in any section for a question that asks about one section.
    """

    # weighted share of the topic's terms in the key sentence: at least half, so a sentence
    # naming the topic's main noun without the claim about it is 相关 (not sure), not a claim
    min_coverage: float = 0.5
    # ...and for a peer-practice question, whose asker often adds their own situation
    # ("普法人手不够，别的镇是怎么发动志愿者的？") and whose claim is a practice named on the topic
    practice_min_coverage: float = 0.4
    # ...in a passage at least this close (cosine) to the question, unless the sentence holds
    # every word of the topic (full_coverage: their weights' share, summed in floats): then
    # it says it
    dense_floor: float = 0.82
    full_coverage: float = 0.999
    lookup_min_coverage: float = 0.4
    per_report: int = 3
    meaning_floor: float = 0.92  # closeness of a passage stating the claim in other words
    meaning_lexical: float = 0.6  # BM25 at least this share of the best passage's in scope
    meaning_lexical_weight: float = 0.025  # closeness = cosine + this x BM25 share
    # ...and a question most of whose weight is in words no report uses (法治辅导员; 案卷评查,
    # whose 行政执法 and 组织 carry a third) is about something the reports do not contain:
    # nothing is stated by meaning alone
    meaning_known_share: float = 0.4
    related_coverage: float = 0.3  # 相关: this share of the topic's words in a sentence...
    # ...or a passage this close, in the asked-about sections (0.86 left 万灵镇's "运用说服教育、
    # 劝导示范…开展执法" at 0.856 未提及 for 柔性执法, and its "小院+微解纷"工作法 for 解纷品牌)
    related_closeness: float = 0.85
    related_elsewhere: float = 0.87  # ...or this close in another section
    # "哪些镇没有提到X" lists the reports with nothing on X: only a passage this close, or
    # X's words, make a report not surely silent on it
    negation_closeness: float = 0.9
    # LLM mode: every 明确提到 and 相关 report is judged, at most judge_max of them, each on
    # its best passages in the asked-about sections and elsewhere, at most judge_passages
    judge_max: int = 300
    judge_passages: int = 6
    # ...and, after them, the reports graded 未提及 whose passage in the asked-about sections
    # is at least this close: a paraphrase the words missed ("缺乏具有法学专业背景的专职工作人员"
    # for "缺少懂法律的人才") is the LLM's to find; one it does not approve stays 未提及
    judge_closeness: float = 0.84
