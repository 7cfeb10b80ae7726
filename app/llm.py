"""LLM mode: any OpenAI-compatible endpoint (DeepSeek, Qwen/DashScope, Ollama, vLLM) via LangChain.

The LLM only writes prose over evidence fazhi already found and cited, and judges passages fazhi
chose. Report text is data: it goes into every prompt escaped inside its delimiters
(`prompts.escape_data`), so it can neither close them nor forge a numbered source. What comes
back is checked, not trusted:

- a judging reply must be exactly the JSON asked for, with one verdict for each passage asked
  about; anything else leaves that batch's reports to the extractive rule, with a notice. A
  verdict that changes the extractive decision is asked again with that passage alone, so one
  report's text (an instruction planted in it) can change no other report's verdict;
- every sentence of an answer that cites [n] is checked against source n (`app.support`) as it
  streams; unsupported ones are dropped, invented [n] removed, and the notice says so. An answer
  left with no supported sentence, a timeout or an error gives the extractive answer instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig

from app.answers.models import Answer, Citation
from app.settings import Settings
from app.support import AnswerCheck, SentenceStream
from app.text import Tokenizer
from ingest.model import SECTION_LABELS, township_label
from prompts import escape_data, load_prompt, render_prompt

_FENCED = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL)
JUDGE_BATCH = 10  # passages per judging request
JUDGE_CONCURRENCY = 8  # judging requests in flight at once (Settings.judge_concurrency)
JudgeProgress = Callable[[int, int], None]  # (reports checked, reports to check)
JSON_MODE = {"type": "json_object"}


class JudgeError(Exception):
    """The LLM's judgement could not be read."""


@dataclass
class Verdict:
    """What the LLM judged: passage numbers it approved, and those it could not judge."""

    supported: set[int] = field(default_factory=set)
    unread: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


class LLMWriter:
    def __init__(
        self, chat: BaseChatModel, *, label: str = "llm", concurrency: int = JUDGE_CONCURRENCY
    ) -> None:
        self.chat = chat
        self.label = label
        self.concurrency = concurrency  # judging requests in flight at once
        self.json_mode = True  # ask judging replies for JSON until the endpoint refuses it

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMWriter:
        from langchain_openai import ChatOpenAI

        chat = ChatOpenAI(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key or "not-needed",  # Ollama and vLLM accept any key
            timeout=settings.llm_timeout,
            max_retries=1,
            temperature=0.1,
            streaming=True,
        )
        return cls(chat, label=settings.llm_model or "llm", concurrency=settings.judge_concurrency)

    def messages(self, answer: Answer) -> list[Any]:
        sources = "\n".join(
            f'<source id="{c.n}">\n[{c.n}] {escape_data(_source_header(c))}\n'
            f"{escape_data(c.text)}\n</source>"
            for c in answer.citations
        )
        values = {
            "townships": escape_data("、".join(answer.townships) or "无"),
            "not_mentioned": escape_data("、".join(answer.not_mentioned) or "无"),
        }
        if answer.kind == "corpus":
            instructions = render_prompt("instructions_corpus", **values)
        elif answer.kind == "practice":
            instructions = render_prompt("instructions_practice", townships=values["townships"])
        else:
            instructions = render_prompt("instructions_lookup")
        user = render_prompt(
            "answer", question=answer.question, instructions=instructions, sources=sources
        )
        return [SystemMessage(load_prompt("system")), HumanMessage(user)]

    def judge(
        self,
        question: str,
        sections: str,
        passages: list[str],
        prior: Sequence[int] | set[int] = (),
        *,
        reports: Sequence[Hashable] | None = None,
        progress: JudgeProgress | None = None,
    ) -> Verdict:
        """Which passages (numbered from 1) state what the question asks; one request a batch,
        `concurrency` requests at a time.

        `reports` names each passage's report (by default each passage is one): a report's
        passages go in one batch. `prior` is the extractive decision (passage numbers it
        approved). A batch whose request fails or whose reply is not exactly the JSON asked
        for is `unread`. A report the batch judged otherwise than `prior` (some passage
        approved or none) is judged again alone, and that verdict stands (unread if it cannot
        be read): text planted in one report cannot flip another's verdict.
        `progress(checked, total)` counts reports: 0 first, then as their verdicts settle.
        """
        prior = set(prior)
        groups: dict[Hashable, list[int]] = {}
        for i, report in enumerate(reports if reports is not None else range(len(passages))):
            groups.setdefault(report, []).append(i)
        checked, total = 0, len(groups)

        def settled(n: int) -> None:
            nonlocal checked
            checked += n
            if progress is not None:
                progress(checked, total)

        settled(0)
        batches: list[list[list[int]]] = [[]]  # each batch's reports, each report's passages
        for group in groups.values():
            if batches[-1] and sum(map(len, batches[-1])) + len(group) > JUDGE_BATCH:
                batches.append([])
            batches[-1].append(group)
        batches = [b for b in batches if b]
        verdict = Verdict()
        errors: list[tuple[int, str]] = []
        changed: list[list[int]] = []
        for k, result in self._judge_batches(question, sections, passages, batches):
            if isinstance(result, Exception):
                verdict.unread.update(i + 1 for group in batches[k] for i in group)
                errors.append((batches[k][0][0], _reason(result)))
                settled(len(batches[k]))
                continue
            unchanged = 0
            for group in batches[k]:
                approved = {i + 1 for i in group} & result
                if bool(approved) != any(i + 1 in prior for i in group):
                    changed.append(group)
                else:
                    verdict.supported.update(approved)
                    unchanged += 1
            settled(unchanged)
        alone = [[group] for group in sorted(changed)]
        for k, result in self._judge_batches(question, sections, passages, alone):
            (group,) = alone[k]
            if isinstance(result, Exception):
                verdict.unread.update(i + 1 for i in group)
                errors.append((group[0], _reason(result)))
            else:
                verdict.supported.update({i + 1 for i in group} & result)
            settled(1)
        verdict.errors = [reason for _, reason in sorted(errors)]
        return verdict

    def _judge_batches(
        self,
        question: str,
        sections: str,
        passages: list[str],
        batches: list[list[list[int]]],
    ) -> Iterator[tuple[int, set[int] | Exception]]:
        """For each batch as its reply comes (in any order): its index, and its approved passage
        numbers (numbered from 1 over all `passages`) or why its reply could not be used."""
        requests = []
        for groups in batches:
            batch = [i for group in groups for i in group]
            ids = [i + 1 for i in batch]
            body = "\n".join(
                f'<passage id="{i + 1}">\n{escape_data(passages[i])}\n</passage>' for i in batch
            )
            user = render_prompt(
                "judge",
                question=question,
                sections=sections,
                passages=body,
                count=str(len(ids)),
                ids="、".join(str(n) for n in ids),
            )
            requests.append([SystemMessage(load_prompt("judge_system")), HumanMessage(user)])
        for k, reply in self._ask_json(requests):
            yield k, _approved(reply, [i + 1 for group in batches[k] for i in group])

    def _ask_json(self, requests: list[list[Any]]) -> Iterator[tuple[int, Any]]:
        """Each request's index and reply (or exception) as it comes, `concurrency` at a time,
        asking for a JSON object where the endpoint supports it."""
        if not requests:
            return
        config: RunnableConfig = {"max_concurrency": self.concurrency}
        in_json = self.json_mode
        chat = self.chat.bind(response_format=JSON_MODE) if in_json else self.chat
        for k, reply in chat.batch_as_completed(requests, config, return_exceptions=True):
            if in_json and _refused_json_mode(reply):
                # an endpoint without JSON mode: ask again without it, and from now on
                self.json_mode = False
                try:
                    reply = self.chat.invoke(requests[k], config)
                except Exception as exc:  # network errors, timeouts from any provider
                    reply = exc
            yield k, reply

    def rewrite(
        self, answer: Answer, store: Any = None, *, tokenizer: Tokenizer | None = None
    ) -> Iterator[str | Answer]:
        """Stream the LLM's answer sentence by sentence, each checked against the sources it
        cites, then yield the final `Answer` (or the extractive one, with a notice).
        `tokenizer`: the answering service's jieba, reused for the checks."""
        check = AnswerCheck(
            sources={c.n: f"{_source_header(c)}\n{c.text}" for c in answer.citations},
            places=frozenset(
                t
                for t in [*answer.townships, *answer.not_mentioned]
                + [c.township or "" for c in answer.citations]
                if t
            ),
            problems=frozenset(c.n for c in answer.citations if c.section == "problems"),
            counts=frozenset(
                str(n)
                for n in (
                    len(answer.townships),
                    len(answer.not_mentioned),
                    len(answer.townships) + len(answer.not_mentioned),
                )
            ),
            tokenizer=tokenizer,
        )
        sentences = SentenceStream()
        kept: list[str] = []
        try:
            for chunk in self.chat.stream(self.messages(answer)):
                delta = chunk.content if isinstance(chunk.content, str) else ""
                for sentence in sentences.feed(delta):
                    if text := check.sentence(sentence):
                        kept.append(text)
                        yield text
            for sentence in sentences.close():
                if text := check.sentence(sentence):
                    kept.append(text)
                    yield text
        except Exception as exc:  # network errors, timeouts, HTTP errors from any provider
            failed = f"大模型调用失败（{_reason(exc)[:200]}），已改用摘录式回答。"
            yield replace(answer, notice=_join(answer.notice, failed))
            return
        dropped = ""
        if check.dropped:
            examples = "；".join(f"“{d[:40]}”" for d in check.dropped[:2])
            dropped = (
                f"大模型回答中有 {len(check.dropped)} 句所引资料并未写到，已删除（{examples}"
                f"{' 等' if len(check.dropped) > 2 else ''}）。"
            )
        if not check.supported:
            fallback = (
                "大模型的回答没有一句得到所引资料的支持，已改用摘录式回答。"
                if check.dropped or kept
                else "大模型没有给出回答，已改用摘录式回答。"
            )
            yield replace(answer, notice=_join(answer.notice, dropped, fallback))
            return
        notice = answer.notice
        if check.invalid:
            removed = (
                f"已删除大模型给出的无效引用编号：{'、'.join(f'[{n}]' for n in check.invalid)}。"
            )
            notice = _join(notice, removed)
        text = "".join(kept).strip()
        if answer.kind in ("corpus", "practice"):
            # the enumeration stays: the LLM summarises it, it does not replace it
            text = text + "\n\n" + answer.answer
        yield replace(answer, mode="llm", answer=text, notice=_join(notice, dropped))


def _source_header(c: Citation) -> str:
    """A source's township, county, year and section, as the LLM and the checks see them."""
    return (
        f"{township_label(c.township, c.source)}（{c.county or ''}，{c.year or ''}年，"
        f"{SECTION_LABELS.get(c.section, c.section)}）"
    )


def _approved(reply: Any, ids: list[int]) -> set[int] | Exception:
    """The passage numbers a judging reply approves, or why it cannot be used."""
    if isinstance(reply, Exception):
        return reply
    try:
        return supported_numbers(reply.content if isinstance(reply.content, str) else "", ids)
    except JudgeError as exc:
        return exc


def _refused_json_mode(reply: Any) -> bool:
    """Whether a reply asked for in JSON mode failed in a way asking without it could mend: a
    400 (no such parameter) or a reply the JSON-mode client could not read (some servers'
    streams omit what it expects), not a timeout, a lost connection or a server error."""
    if not isinstance(reply, Exception):
        return False
    status = getattr(reply, "status_code", None)
    if status is not None:
        return status == 400
    return not any(word in type(reply).__name__ for word in ("Timeout", "Connection"))


def _reason(exc: BaseException) -> str:
    return type(exc).__name__ + (f": {exc}" if str(exc) else "")


def _join(*notices: str | None) -> str | None:
    return " ".join(n for n in notices if n) or None


def supported_numbers(reply: str, ids: Sequence[int]) -> set[int]:
    """The passage numbers a judging reply approves, if it is exactly the JSON asked for.

    That is `{"verdicts": [{"id": 1, "supported": true}, ...]}` with one verdict for each of
    `ids` and nothing else (a reply fenced as a ```json block is read too). JSON inside prose,
    the prompt's example, missing, extra or repeated ids, or values of the wrong type raise
    `JudgeError`: a reply that is not what was asked for is not half-trusted.
    """
    text = reply.strip()
    fenced = _FENCED.fullmatch(text)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text, object_pairs_hook=_no_repeated_keys)
    except (json.JSONDecodeError, JudgeError) as exc:
        raise JudgeError(f"the reply is not one JSON object ({exc}): {reply[:120]!r}") from None
    if not isinstance(data, dict) or set(data) != {"verdicts"}:
        raise JudgeError(f'the reply is not {{"verdicts": [...]}}: {reply[:120]!r}')
    verdicts = data["verdicts"]
    if not isinstance(verdicts, list):
        raise JudgeError(f'"verdicts" is not a list: {reply[:120]!r}')
    seen: dict[int, bool] = {}
    for item in verdicts:
        if (
            not isinstance(item, dict)
            or set(item) != {"id", "supported"}
            or not isinstance(item["id"], int)
            or isinstance(item["id"], bool)
            or not isinstance(item["supported"], bool)
        ):
            raise JudgeError(f'a verdict is not {{"id": <int>, "supported": <bool>}}: {item!r}')
        if item["id"] in seen:
            raise JudgeError(f"passage {item['id']} is judged twice")
        seen[item["id"]] = item["supported"]
    asked = set(ids)
    if set(seen) != asked:
        missing, extra = sorted(asked - set(seen)), sorted(set(seen) - asked)
        raise JudgeError(
            f"the verdicts do not match the passages asked: missing {missing}, extra {extra}"
        )
    return {n for n, ok in seen.items() if ok}


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise JudgeError(f"a key is repeated in {keys}")
    return dict(pairs)
