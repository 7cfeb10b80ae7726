"""Full coverage: a question asking whether every village has something ("每个村都有法律顾问"),
and a sentence that says so of it (法律顾问全覆盖, 覆盖率达100%, 各村均配备…法律顾问)."""

from __future__ import annotations

import functools
import re

from app.retrieval import Topic

COVERAGE_WORD = "覆盖"  # the topic word 全覆盖 becomes; its synonyms are the ways reports say it
# the question's "每个村（社区）都有…" is rewritten to 全覆盖 (`question._EVERY_VILLAGE`)
_ASKS = re.compile(r"全覆盖|覆盖率|全部覆盖")
_STATES = re.compile(
    r"全覆盖|全部覆盖|覆盖率(?:达到?|为|已达)?\s*(?:100\s*[%％]|百分之百)|覆盖(?:到|至)?(?:全[镇乡]|所有|每个)"
    r"|均已?(?:配备|配齐|配有|建立|设立|建成|聘请)|每个(?:行政)?村|村村|每村|一村(?:[（(]居[)）])?一"
)
# ...but not in a clause saying it is not so yet, or only aimed at ("尚未实现全覆盖", "力争…全覆盖")
_NOT_YET = re.compile(r"未|没有|不到|不足|力争|争取|计划|拟|努力|将要|有待|尚需|还需")
_CLAUSE = re.compile(r"[，,；;：:]")
# a clause that only says the result ("…聘请3名律师担任村法律顾问，实现村（社区）全覆盖") takes
# what it covers from the clause before
_RESULT = re.compile(r"^\s*(?:实现|达到|做到|确保)")


def asks_full_coverage(core: str) -> bool:
    """Whether a question's topic claims that every village (community) has something."""
    return bool(_ASKS.search(core))


def states_full_coverage(sentence: str, topic: Topic | None = None) -> bool:
    """Whether a sentence says every village has it: with `topic`, in a clause that also names
    something else the question asks about ("法律顾问全覆盖"; not "…法律顾问…，宣传法律全覆盖"),
    or in a result clause after one that does."""
    if not _STATES.search(sentence):
        return False
    clauses = _CLAUSE.split(sentence)
    stated = [bool(_STATES.search(c)) and not _NOT_YET.search(c) for c in clauses]
    if topic is None or not any(stated):
        return any(stated)
    others = _naming(
        tuple(
            needle
            for group, needles in zip(topic.groups, topic.needles, strict=True)
            if COVERAGE_WORD not in group
            for needle in needles
        )
    )
    if others is None:
        return True  # the question asks of nothing else
    return any(
        said
        and (
            others.search(clause) or (i and _RESULT.match(clause) and others.search(clauses[i - 1]))
        )
        for i, (clause, said) in enumerate(zip(clauses, stated, strict=True))
    )


@functools.lru_cache(maxsize=64)
def _naming(needles: tuple[str, ...]) -> re.Pattern[str] | None:
    """A pattern finding any of the question's other words (asked once per report)."""
    if not needles:
        return None
    return re.compile("|".join(map(re.escape, sorted(needles, key=len, reverse=True))))
