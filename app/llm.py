"""LLM mode: any OpenAI-compatible endpoint (DeepSeek, Qwen/DashScope, Ollama, vLLM) via LangChain.

The LLM only writes prose over evidence fazhi already found and cited. Sources go in as numbered,
delimited data; every [n] in the reply is checked against them and invented ones are removed.
On timeout or error the extractive answer is returned with a notice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from app.answering import Answer
from app.settings import Settings
from ingest.model import SECTION_LABELS
from prompts import load_prompt, render_prompt

_MARKER = re.compile(r"\[(\d{1,3})\]")


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
            yield replace(
                answer,
                notice=f"大模型调用失败（{reason[:200]}），已改用摘录式回答。",
            )
            return
        text, invalid = validate_markers("".join(pieces), len(answer.citations))
        notice = None
        if invalid:
            notice = f"已删除大模型给出的无效引用编号：{'、'.join(f'[{n}]' for n in invalid)}。"
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
