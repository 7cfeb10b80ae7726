"""LLM mode: any OpenAI-compatible endpoint (DeepSeek, Qwen/DashScope, Ollama, vLLM) via LangChain.

The LLM only writes prose over evidence fazhi already found and cited. Sources go in as numbered,
delimited data; every [n] in the reply is checked against them and invented ones are removed.
On timeout or error the extractive answer is returned with a notice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from app.answering import Answer
from app.settings import Settings
from ingest.model import SECTION_LABELS
from prompts import load_prompt, render_prompt

_MARKER = re.compile(r"\[(\d{1,3})\]")
JUDGE_BATCH = 10  # passages per judging request


class JudgeError(Exception):
    """The LLM's judgement could not be read."""


@dataclass
class Verdict:
    """What the LLM judged: passage numbers it approved, and those it could not judge."""

    supported: set[int] = field(default_factory=set)
    unread: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


class LLMWriter:
    def __init__(self, chat: BaseChatModel, *, label: str = "llm") -> None:
        self.chat = chat
        self.label = label

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
        return cls(chat, label=settings.llm_model or "llm")

    def messages(self, answer: Answer) -> list[Any]:
        sources = "\n\n".join(
            f"[{c.n}] {c.township or '未知乡镇'}（{c.county or ''}，{c.year or ''}年，"
            f"{SECTION_LABELS.get(c.section, c.section)}）\n{c.text}"
            for c in answer.citations
        )
        values = {
            "townships": "、".join(answer.townships) or "无",
            "not_mentioned": "、".join(answer.not_mentioned) or "无",
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

    def judge(self, question: str, sections: str, passages: list[str]) -> Verdict:
        """Which passages (numbered from 1) state what the question asks; one request a batch.

        A batch whose request fails or whose reply is not the JSON asked for is `unread`.
        """
        batches = [
            range(start, min(start + JUDGE_BATCH, len(passages)))
            for start in range(0, len(passages), JUDGE_BATCH)
        ]
        requests = [
            [
                SystemMessage(load_prompt("judge_system")),
                HumanMessage(
                    render_prompt(
                        "judge",
                        question=question,
                        sections=sections,
                        passages="\n\n".join(
                            f"[{i - batch.start + 1}] {passages[i]}" for i in batch
                        ),
                    )
                ),
            ]
            for batch in batches
        ]
        verdict = Verdict()
        replies = self.chat.batch(requests, return_exceptions=True)
        for batch, reply in zip(batches, replies, strict=True):
            try:
                if isinstance(reply, Exception):
                    raise reply
                content = reply.content if isinstance(reply.content, str) else ""
                numbers = supported_numbers(content)
            except Exception as exc:  # JudgeError, network errors, timeouts from any provider
                verdict.unread.update(i + 1 for i in batch)
                verdict.errors.append(type(exc).__name__ + (f": {exc}" if str(exc) else ""))
                continue
            # numbers outside the batch point at no passage and are ignored
            verdict.supported.update(batch.start + n for n in numbers if 1 <= n <= len(batch))
        return verdict

    def rewrite(self, answer: Answer, store: Any = None) -> Iterator[str | Answer]:
        """Stream the LLM's answer, then yield the final `Answer` (validated citations)."""
        pieces: list[str] = []
        try:
            for chunk in self.chat.stream(self.messages(answer)):
                delta = chunk.content if isinstance(chunk.content, str) else ""
                if delta:
                    pieces.append(delta)
                    yield delta
        except Exception as exc:  # network errors, timeouts, HTTP errors from any provider
            reason = type(exc).__name__ + (f": {exc}" if str(exc) else "")
            failed = f"大模型调用失败（{reason[:200]}），已改用摘录式回答。"
            yield replace(answer, notice=f"{answer.notice} {failed}" if answer.notice else failed)
            return
        text, invalid = validate_markers("".join(pieces), len(answer.citations))
        notice = answer.notice
        if invalid:
            removed = f"已删除大模型给出的无效引用编号：{'、'.join(f'[{n}]' for n in invalid)}。"
            notice = f"{notice} {removed}" if notice else removed
        if answer.kind in ("corpus", "practice"):
            # the enumeration stays: the LLM summarises it, it does not replace it
            text = text.rstrip() + "\n\n" + answer.answer
        yield replace(answer, mode="llm", answer=text, notice=notice)


def validate_markers(text: str, n_sources: int) -> tuple[str, list[int]]:
    """Remove [n] markers that point at no source; return the text and the removed numbers."""
    invalid: list[int] = []

    def check(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if 1 <= n <= n_sources:
            return match.group(0)
        if n not in invalid:
            invalid.append(n)
        return ""

    return _MARKER.sub(check, text), invalid


def supported_numbers(reply: str) -> list[int]:
    """The numbers of a judging reply's `{"supported": [...]}` object (anywhere in the reply)."""
    decoder = json.JSONDecoder()
    for start in (m.start() for m in re.finditer(r"\{", reply)):
        try:
            data, _ = decoder.raw_decode(reply, start)
        except json.JSONDecodeError:
            continue
        values = data.get("supported") if isinstance(data, dict) else None
        if isinstance(values, list) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in values
        ):
            return list(values)
    raise JudgeError(f'no {{"supported": [...]}} object in the reply: {reply[:120]!r}')
