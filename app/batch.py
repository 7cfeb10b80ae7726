"""Many questions in one process: `fazhi ask --questions FILE` and `fazhi eval`.

A questions file holds one question a line, or JSON lines with per-question filters:

    哪些乡镇把执法能力不足列为存在的问题？
    {"id": "q2", "question": "法律明白人", "province": ["河南"], "years": "2022-2024"}
    {"id": "q3", "question": "人民调解", "years": [2019, 2021]}

Blank lines and lines starting with `#` are skipped. The model and the in-memory index are
loaded once, so a file of 100 questions costs one start-up, not 100.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.answers.models import Answer
from app.answers.service import AnswerService, Filters
from ingest.errors import FazhiError
from ingest.model import SECTION_TYPES

# JSON keys a questions line may hold: the CLI's flag names (singular, repeatable as lists)
_LIST_KEYS = {"township": "townships", "county": "counties", "province": "provinces"}
_KEYS = {"id", "question", "year", "years", "section", *_LIST_KEYS}


SHOWN_PROBLEMS = 20  # a questions file's problems listed in one error; the rest are counted


class QuestionsFileError(FazhiError):
    """A questions file that cannot be read; names the file, each bad line and what to fix."""

    def __init__(self, path: Path | str, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        if len(problems) == 1:
            [(line, reason)] = problems
            super().__init__(f"{path}:{line}: {reason}")
            return
        # one line saying what is wrong, then each bad line under it
        lines = [f"{path} has {len(problems)} bad lines; fix them all, then run it again:"]
        lines += [f"  {path}:{line}: {reason}" for line, reason in problems[:SHOWN_PROBLEMS]]
        if len(problems) > SHOWN_PROBLEMS:
            lines.append(f"  …and {len(problems) - SHOWN_PROBLEMS} more")
        super().__init__("\n".join(lines))


@dataclass
class BatchQuestion:
    question: str
    filters: Filters = field(default_factory=Filters)
    id: str | None = None
    line: int = 0


@dataclass
class BatchResult:
    item: BatchQuestion
    answer: Answer | None
    elapsed_ms: float
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The answer object of `fazhi ask --json`, with the line's `id` and `line` number."""
        head: dict[str, Any] = {"id": self.item.id, "line": self.item.line}
        if self.answer is None:
            return {**head, "question": self.item.question, "error": self.error}
        return {**head, **self.answer.to_dict()}


def parse_years(value: Any) -> tuple[int | None, int | None]:
    """2023, "2023" or "2021-2023" → (from, to); raises ValueError otherwise."""
    if value is None or value == "":
        return None, None
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    parts = str(value).replace("—", "-").replace("~", "-").split("-")
    if not all(p.strip().isdigit() for p in parts) or len(parts) > 2:
        raise ValueError(f"years must look like 2023 or 2021-2023, got {value!r}")
    a, b = sorted(int(p) for p in parts) if len(parts) == 2 else (int(parts[0]),) * 2
    return a, b


def _as_list(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError(f"'{key}' must be a string or a list of strings, got {value!r}")


def _from_json(data: Any, defaults: Filters) -> tuple[str, Filters, str | None]:
    if not isinstance(data, dict):
        raise ValueError("a JSON line must be an object with a 'question'")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_KEYS))}"
        )
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("'question' is missing or empty")
    filters = replace(defaults)  # the command line's filters, unless the line sets its own
    for key, attr in _LIST_KEYS.items():
        if key in data:
            setattr(filters, attr, _as_list(data[key], key))
    if "year" in data and "years" in data:
        raise ValueError("give either 'year' or 'years', not both")
    if isinstance(data.get("years"), list):  # these years only, as "2019年和2021年" asks
        if not data["years"] or not all(isinstance(y, int) for y in data["years"]):
            raise ValueError(f"'years' as a list must hold years, got {data['years']!r}")
        filters.year_from = filters.year_to = None
        filters.years = sorted(set(data["years"]))
    elif "year" in data or "years" in data:
        filters.year_from, filters.year_to = parse_years(data.get("year", data.get("years")))
        filters.years = []
    if "section" in data:
        filters.sections = _as_list(data["section"], "section")
        bad = [s for s in filters.sections if s not in SECTION_TYPES]
        if bad:
            raise ValueError(
                f"unknown section type(s) {', '.join(bad)}; choose from {', '.join(SECTION_TYPES)}"
            )
    qid = data.get("id")
    return question.strip(), filters, None if qid is None else str(qid)


def read_questions(
    lines: Iterable[str], *, source: Path | str, defaults: Filters | None = None
) -> list[BatchQuestion]:
    """Parse a questions file; every problem is reported with its line number, before any work
    (all of them at once, so one round of fixing is enough)."""
    defaults = defaults or Filters()
    items: list[BatchQuestion] = []
    problems: list[tuple[int, str]] = []
    first_of: dict[str, int] = {}  # id → the line that used it first
    for n, raw in enumerate(lines, 1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        if not line.startswith("{"):
            items.append(BatchQuestion(line, defaults, None, n))
            continue
        try:
            question, filters, qid = _from_json(json.loads(line), defaults)
        except json.JSONDecodeError as exc:
            problems.append((n, f"not valid JSON ({exc.msg})"))
            continue
        except (ValueError, TypeError) as exc:
            problems.append((n, str(exc)))
            continue
        if qid is not None and qid in first_of:
            # answers are matched to questions by id: two questions cannot share one
            problems.append((n, f"id {qid!r} is used again (first on line {first_of[qid]})"))
            continue
        if qid is not None:
            first_of[qid] = n
        items.append(BatchQuestion(question, filters, qid, n))
    if problems:
        raise QuestionsFileError(source, problems)
    if not items:
        raise QuestionsFileError(source, [(0, "no questions (one a line, or JSON lines)")])
    return items


def answer_questions(
    service: AnswerService,
    items: Iterable[BatchQuestion],
    *,
    on_done: Callable[[BatchResult], None] | None = None,
) -> Iterator[BatchResult]:
    """Answer each question in turn with one service; a failed question does not stop the rest."""
    for item in items:
        t0 = time.perf_counter()
        try:
            answer = service.ask(item.question, service.resolve(item.filters))
            result = BatchResult(item, answer, (time.perf_counter() - t0) * 1000)
        except FazhiError as exc:
            result = BatchResult(item, None, (time.perf_counter() - t0) * 1000, str(exc))
        if on_done:
            on_done(result)
        yield result
