"""Full coverage: a question asking whether every village has something ("每个村都有法律顾问"),
and a sentence that says so of it (法律顾问全覆盖, 覆盖率达100%, 各村均配备…法律顾问)."""

from __future__ import annotations

import functools
import re

from app.retrieval import Topic

# the question's "每个村（社区）都有…" is rewritten to 全覆盖 (`question._EVERY_VILLAGE`)
_ASKS = re.compile(r"全覆盖|覆盖率|全部覆盖")
_STATES = re.compile(
    r"全覆盖|覆盖率|全部覆盖|覆盖(?:到|至)?(?:全[镇乡]|所有|每个)"
    r"|均(?:已)?(?:配备|配齐|配有|建立|设立|建成|聘请)|每个(?:行政)?村|村村|每村|一村(?:[（(]居[)）])?一"
)
_CLAUSE = re.compile(r"[，,；;：:]")
COVERAGE_WORD = "覆盖"  # the topic word 全覆盖 becomes (`SYNONYMS`)


def asks_full_coverage(core: str) -> bool:
    """Whether a question's topic claims that every village (community) has something."""
    return bool(_ASKS.search(core))


def states_full_coverage(sentence: str, topic: Topic | None = None) -> bool:
    """Whether a sentence says every village has it: with `topic`, in a clause that also names
    something else the question asks about ("法律顾问全覆盖"; not "…法律顾问…，宣传法律全覆盖")."""
    if not _STATES.search(sentence):
        return False
    if topic is None:
        return True
    others = _naming(
        tuple(
            needle
            for group, needles in zip(topic.groups, topic.needles, strict=True)
            if COVERAGE_WORD not in group
            for needle in needles
        )
    )
    return any(
        _STATES.search(clause) and others.search(clause) for clause in _CLAUSE.split(sentence)
    )


@functools.lru_cache(maxsize=64)
def _naming(needles: tuple[str, ...]) -> re.Pattern[str]:
    """A pattern finding any of the question's other words (asked once per report)."""
    return re.compile("|".join(map(re.escape, sorted(needles, key=len, reverse=True))) or "(?!)")
