"""LLM mode over many reports: every candidate report (明确提到 and 相关) is judged by the LLM on
its own passages, and the judging progress is streamed while the answer is worked out in a
thread, so the web chat and the CLI can show "已核查 120/340" before the answer comes."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from app.answers.models import Progress
from app.retrieval import Hit

T = TypeVar("T")
ProgressFn = Callable[[int, int], None]  # (reports checked, reports to check)
_DONE = object()


@dataclass
class Judgement:
    """The LLM's verdicts on the candidate reports."""

    stated: dict[str, Hit] = field(default_factory=dict)  # report id → first passage approved
    unread: set[str] = field(default_factory=set)  # reports whose verdict could not be read
    errors: list[str] = field(default_factory=list)


def judge_reports(
    llm: Any,
    question: str,
    sections: str,
    passages: dict[str, list[Hit]],
    decided: set[str],
    label: Callable[[Hit], str],
    progress: ProgressFn | None = None,
) -> Judgement:
    """Whether each report of `passages` (report id → its passages, best first) states what
    `question` asks: it does if the LLM approves one of its passages. A report's passages are
    judged together and apart from no other report's verdict (`LLMWriter.judge`); `decided`
    are the reports the extractive rule graded 明确提到; `label` is a passage as the LLM sees it.
    """
    order = [(rid, hit) for rid, hits in passages.items() for hit in hits]
    prior = [
        n for n, (rid, hit) in enumerate(order, 1) if rid in decided and hit is passages[rid][0]
    ]
    verdict = llm.judge(
        question,
        sections,
        [label(hit) for _, hit in order],
        prior,
        reports=[rid for rid, _ in order],
        progress=progress,
    )
    judgement = Judgement(errors=verdict.errors)
    for n in sorted(verdict.supported):
        rid, hit = order[n - 1]
        judgement.stated.setdefault(rid, hit)
    judgement.unread = {order[n - 1][0] for n in verdict.unread}
    return judgement


def with_progress(work: Callable[[ProgressFn], T]) -> Iterator[Progress | T]:
    """Run `work(progress)` in a thread; yield a `Progress` for each call it makes to
    `progress(checked, total)`, then what it returns. Its exception is raised here."""
    events: queue.SimpleQueue[object] = queue.SimpleQueue()
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work(lambda checked, total: events.put(Progress(checked, total))))
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)
        finally:
            events.put(_DONE)

    thread = threading.Thread(target=run, name="fazhi-judging", daemon=True)
    thread.start()
    while (event := events.get()) is not _DONE:
        assert isinstance(event, Progress)
        yield event
    thread.join()
    if failure:
        raise failure[0]
    yield outcome[0]
