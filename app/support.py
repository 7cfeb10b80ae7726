"""Whether the passages an LLM sentence cites say what the sentence says: offline, by words.

An LLM answer is checked sentence by sentence as it streams. A sentence with [n] markers is kept
only when its cited passages (with their township, county and year) support it:

- every number it states is in them, and every township it names is one of theirs;
- a denial it makes (没有问题, 不存在…, 无需…) is the passages' own denial, not their opposite;
- citing only passages about problems, it states a shortfall (不足, 有待, 没有…), not praise;
- most of its words (weighted by length; words of the question and the report genre count
  half; framing words such as 根据/资料/多数 not at all) are in them, whole or by their parts.

A paraphrase that keeps a passage's terms passes; a claim the passage does not make fails. A
sentence worded wholly unlike its passage (身兼数职 for 还兼政府其他业务) also fails: the check
cannot see meaning, so it errs towards dropping. A sentence without a marker is left as it is,
unless it denies what no source denies ("所有乡镇都没有问题").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from app.answers.models import MARKER_DIGITS
from app.retrieval import SHORTFALL
from app.text import STOPWORDS, Tokenizer

__all__ = ["SUPPORTED", "AnswerCheck", "SentenceStream", "support"]

SUPPORTED = 0.6  # the share of a sentence's weighted words its passages must hold
_N = rf"\d{{1,{MARKER_DIGITS}}}"
MARKER = re.compile(rf"\[({_N})\]")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
# a sentence ends at one of these, and takes the [n] markers right after it ("没有问题。[1]")
_SENTENCE = re.compile(rf"[^。！？!?；;\n]*[。！？!?；;\n]+(?:[ \t]*\[{_N}\])*[ \t]*\n*")
_MAYBE_MARKERS = re.compile(rf"(?:[ \t]*\[\d{{0,{MARKER_DIGITS}}}\]?)*[ \t]*\n*")
# denials: a sentence saying one must be restating its passage's own (没有经过…), not inventing it
_DENIAL = re.compile(r"(?:没有|不存在|无需|无须|从未|并未|尚无|均无|毫无|未发现|不再|并无)")
# a sentence about what the sources say or leave out ("资料中没有提到…")
_ABOUT_SOURCES = re.compile(r"资料|报告|来源|提到|提及|写到|写明|找到|列出")
# how an answer frames what the reports say, not what they say
_FRAMING_TEXT = """
    根据 依据 资料 材料 来源 显示 表明 来看 可见 指出 提到 提及 表示 认为 承认 说明 写到 写明 报告
    其中 此外 同时 另外 以及 包括 通过 方面 多数 大多数 少数 部分 一些 个别 普遍 分别 共同 主要
    全年 全部 相关 情况 等等 已经
"""
_FRAMING = frozenset(_FRAMING_TEXT.split())


@functools.cache
def _own_tokenizer() -> Tokenizer:
    return Tokenizer()


def support(
    sentence: str,
    sources: list[str],
    places: Iterable[str] = (),
    *,
    problems: bool = False,
    counts: Iterable[str] = (),
    tokenizer: Tokenizer | None = None,
) -> float:
    """How far `sources` support `sentence` (its [n] markers removed): 0.0 to 1.0.

    `places` are the township names the answer may mention; one the sentence names must be in
    `sources`, and place names do not otherwise count as support. `problems`: every source is
    from a report's problems section. `counts`: numbers the answer itself states (how many
    townships it lists), which a summary may repeat. `tokenizer`: the answering service's, to
    save loading another jieba dictionary.
    """
    claim = MARKER.sub("", sentence)
    if problems and not (SHORTFALL.search(claim) or _DENIAL.search(claim) or "未" in claim):
        return 0.0  # 执法能力强 over a passage saying 执法能力有待提升
    text = "\n".join(sources)
    named = sorted((p for p in set(places) if p and p in claim), key=len, reverse=True)
    if any(p not in text for p in named):
        return 0.0
    counts = set(counts)
    if any(n not in text and n not in counts for n in _NUMBER.findall(claim)):
        return 0.0
    if not denials_said(claim, text):
        return 0.0
    for place in named:
        claim = claim.replace(place, " ")
    # whole words (jieba's precise cut), each counted once; a compound missing as a whole
    # earns part of its weight for the parts the sources have (执法记录仪 → 执法, 记录仪)
    tokenizer = tokenizer or _own_tokenizer()
    words = dict.fromkeys(
        w
        for w in tokenizer.cut(claim)
        if len(w) >= 2 and _WORD.search(w) and not w.isdigit() and w not in _FRAMING
    )
    if not words:
        return 0.0  # nothing checkable: a marker on it asserts what no passage can be seen to say
    total = found = 0.0
    for word in words:
        weight = len(word) * (0.5 if word in STOPWORDS else 1.0)
        total += weight
        if word in text:
            found += weight
            continue
        parts = [p for p in tokenizer.words(word) if len(p) >= 2 and p != word]
        if parts:
            found += 0.75 * weight * sum(p in text for p in parts) / len(parts)
    return found / total


def denials_said(claim: str, text: str) -> bool:
    """Whether every denial in `claim` (没有问题 → 没有问) is also in `text`."""
    return all(
        claim[d.start() : d.end() + 2] in text for d in _DENIAL.finditer(MARKER.sub("", claim))
    )


@dataclass
class AnswerCheck:
    """Checks an LLM answer's sentences against the sources they cite, one sentence at a time."""

    sources: dict[int, str]  # n → the text of source [n], with its township, county and year
    places: frozenset[str] = frozenset()
    problems: frozenset[int] = frozenset()  # the sources from a report's problems section
    counts: frozenset[str] = frozenset()  # numbers the answer itself states (townships listed)
    tokenizer: Tokenizer | None = None
    invalid: list[int] = field(default_factory=list)  # [n] markers that point at no source
    dropped: list[str] = field(default_factory=list)  # marked sentences their sources do not say
    supported: int = 0  # marked sentences kept

    def sentence(self, raw: str) -> str:
        """The sentence as it may stand in the answer: unknown markers removed, or "" if dropped."""

        def known(match: re.Match[str]) -> str:
            n = int(match.group(1))
            if n in self.sources:
                return match.group(0)
            if n not in self.invalid:
                self.invalid.append(n)
            return ""

        text = MARKER.sub(known, raw)
        cited = list(dict.fromkeys(int(n) for n in MARKER.findall(text)))
        if not cited:
            # it cites only sources that do not exist, or, citing none, denies what no source
            # denies ("所有乡镇都没有问题"; a sentence about the sources may say 没有提到)
            invented = bool(MARKER.search(raw))
            if invented or (
                not _ABOUT_SOURCES.search(text)
                and not denials_said(text, "\n".join(self.sources.values()))
            ):
                self.dropped.append(text.strip())
                return ""
            return text
        score = support(
            text,
            [self.sources[n] for n in cited],
            self.places,
            problems=all(n in self.problems for n in cited),
            counts=self.counts,
            tokenizer=self.tokenizer,
        )
        if score < SUPPORTED:
            self.dropped.append(MARKER.sub("", text).strip())
            return ""
        self.supported += 1
        return text


class SentenceStream:
    """Cuts streamed text into whole sentences, each with the [n] markers that follow it."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, delta: str) -> Iterator[str]:
        self._pending += delta
        at = 0
        for match in _SENTENCE.finditer(self._pending):
            if match.start() != at:
                break
            rest = self._pending[match.end() :]
            if _MAYBE_MARKERS.fullmatch(rest):
                break  # a marker of this sentence may still be arriving
            yield match.group(0)
            at = match.end()
        self._pending = self._pending[at:]

    def close(self) -> Iterator[str]:
        """The rest: its whole sentences, then any unfinished one."""
        pending, self._pending = self._pending, ""
        at = 0
        for match in _SENTENCE.finditer(pending):
            yield match.group(0)
            at = match.end()
        if pending[at:]:
            yield pending[at:]
