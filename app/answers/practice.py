"""Peer-practice answers name the practices: the quoted names in a report's passages on the topic.

A practice question is answered like any corpus-wide one (`corpus.answer`); its entries add the
practices named (“贵和”工作室, “小院+微解纷”工作法), each from a cited passage.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from app.answers.engine import Engine
from app.candidates import Candidates
from app.index_snapshot import SEPARATOR
from app.marking import strings_within
from app.retrieval import Hit, Topic
from app.sentences import SHORT_SENTENCE, quotable_spans, section_title
from ingest.passages import sentence_spans

PRACTICES_SHOWN = 6  # practice names in one township's entry
_OPENING_MARKS, _CLOSING_MARKS = '“"「『', '”"」』'
_QUOTED = re.compile(f"[{_OPENING_MARKS}]([^{_CLOSING_MARKS}]{{2,24}})[{_CLOSING_MARKS}]")
# the same, never across the separator between passages joined (`PassageTable.joined`)
_QUOTED_IN_JOINED = re.compile(
    f"[{_OPENING_MARKS}]([^{_CLOSING_MARKS}{SEPARATOR}]{{2,24}})[{_CLOSING_MARKS}]"
)
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
_NUMBER = re.compile(r"[\d.]+")
_SLOGAN_ENDS = "。，,；;！!？?、"
# a numbered lead sentence ("二是突出矛盾化解。", "（三）…", "2.…"): its ordinal, and no comma,
# 、 or colon anywhere in it (a lead is not a list)
_ORDINAL = r"[一二三四五六七八九十]+是|[（(][一二三四五六七八九十\d]+[)）]|\d+[.、．]"
_LEAD = re.compile(f"(?=[^，,、：:]*\\Z)(?:{_ORDINAL})")


class PracticeNames:
    """The practices each candidate passage of a practice question names about its topic
    (`practice_names` of its sentences on the topic, or of all of it under a heading on the
    topic), found for all the candidates at once.

    Their texts, joined, are searched for quotes in one pass; whether a quote's sentence is on
    the topic follows from where the topic's strings are (`Marks.found`), so no passage is cut
    into sentences in Python. Only the candidates flagged in `scan` are searched (a practice
    answer asks for the names of passages on the topic); a passage not searched, or not one of
    the candidates (an LLM's pick from another gather), is read on its own (`names_of`).
    """

    def __init__(
        self, engine: Engine, candidates: Candidates, topic: Topic, scan: np.ndarray
    ) -> None:
        self.engine, self.candidates, self.topic = engine, candidates, topic
        joined, starts = candidates.text
        self._matches: list[re.Match[str]] | None = None
        self._names: dict[int, list[str]] | None = None
        # candidate → its first sentence on the topic naming a practice (in its text), or if
        # none, its first naming one under a heading covering the topic (`_covers`), by `_all`
        self._naming: dict[int, tuple[int, int]] = {}
        self._quoting_in: Callable[[str], list[int]] | None = None
        # which candidates quote something (a practice's name may be among their quotes)
        self.quoted = np.zeros(len(starts) - 1, dtype=bool)
        self.scanned = np.asarray(scan, dtype=bool)
        if joined.count(SEPARATOR) != max(len(starts) - 2, 0):
            # a candidate's text holds the separator (scanned or not: rare, and cheaper to
            # count once): quotes cannot be told apart by passage, each is read on its own
            self.quoted[self.scanned] = True
            return
        # `finditer` over the scanned texts, tried only where a quotation mark opens (the
        # regex's own scan for its first character is several times slower); a match never
        # spans the separator, so each text's matches are its own
        opens = _opening_marks(joined)
        owner = np.searchsorted(starts, opens, side="right") - 1
        self._matches = matches = []
        match, end = _QUOTED_IN_JOINED.match, 0
        for at in opens[self.scanned[owner]].tolist():
            if at >= end and (m := match(joined, at)) is not None:
                matches.append(m)
                end = m.end()
        self._at = np.array([m.start() for m in matches], dtype=np.int64)
        self._owner = np.searchsorted(starts, self._at, side="right") - 1
        self.quoted[self._owner] = True

    def entry(
        self, report_id: str, hit: Hit, min_coverage: float
    ) -> tuple[Hit, list[str], list[Hit]]:
        """A township's entry: the passage it quotes, the practices it names (`named`), and the
        other passages naming them, cited after it. When the report's best passage (`hit`)
        names none of them, the entry quotes one that does; the quote is the sentence naming
        one, when it is on the topic (`_quoting`)."""
        own = self.candidates.index_of(hit)
        practices, naming = self._named(report_id, hit, own, min_coverage)
        if naming and not self._of(own, hit):
            hit, naming = naming[0], naming[1:]
            own = self.candidates.index_of(hit)
        return self._quoting(hit, own, practices), practices, naming

    def named(self, report_id: str, hit: Hit, min_coverage: float) -> tuple[list[str], list[Hit]]:
        """The practices a township's entry names (`practice_line`), and the other passages
        that name them.

        Names come from the entry's passage and from the report's other candidates on the topic
        (coverage at least `min_coverage`) that quote something; each of those passages is
        cited after the entry's own.
        """
        return self._named(report_id, hit, self.candidates.index_of(hit), min_coverage)

    def _named(
        self, report_id: str, hit: Hit, own: int | None, min_coverage: float
    ) -> tuple[list[str], list[Hit]]:
        """`named`, given which candidate the hit is (`Candidates.index_of`)."""
        found = self._of(own, hit)
        cited: list[Hit] = []
        if self._quoting_in is None:
            self._quoting_in = self.candidates.flagged(self.quoted)
        if self._names is None and self._matches is not None:
            self._names = self._all()
        for k in self._quoting_in(report_id):
            if k == own or (own is None and self._passage_id(k) == hit.passage.id):
                continue  # the entry's own passage (an LLM's pick from another gather) once
            # with the names found at once, a hit is made only for a passage naming something
            more = (
                self._names.get(k) if self._names is not None else self.of(self.candidates.hit(k))
            )
            if more and (other := self.candidates.hit(k)).coverage >= min_coverage:
                cited.append(other)
                found.extend(more)
        return list(dict.fromkeys(found))[:PRACTICES_SHOWN], cited

    def _quoting(self, hit: Hit, k: int | None, names: list[str]) -> Hit:
        """The hit quoting the sentence where one of the practices is named, when its quote (the
        sentence covering the topic best) names none and that sentence is on the topic too (or
        under a heading covering it: the entry names the practice, its quote shows it);
        `k`: which candidate the hit is (`Candidates.index_of`)."""
        if not names:
            return hit
        text, base = hit.passage.text, int(hit.passage.meta["start"])
        a, b = (x - base for x in (hit.sentence or (base, base)))
        if k is not None and self._matches is not None and self.scanned[k]:
            if self._names is None:
                self._names = self._all()
            span = self._naming.get(k)  # its first sentence on the topic naming one
        else:  # not one of the candidates searched at once: read on its own
            span = self._naming_sentence(hit, _named_at(text, names))
        if span is None or a <= span[0] < b or span[0] <= a < span[1]:
            return hit  # none on the topic (nor under a heading covering it), or that is the quote
        if _named_at(text[a:b], names):
            return hit  # the quote names another of them
        return replace(hit, sentence=(base + span[0], base + span[1]))

    def _naming_sentence(self, hit: Hit, places: list[int]) -> tuple[int, int] | None:
        """The first sentence of the hit's passage naming a practice (at one of `places`) that
        is on the topic; else, under a heading covering the topic, the first naming one (as
        `_all` chooses them)."""
        text = hit.passage.text
        spans = quotable_spans(text, section_title(hit.passage.meta))
        naming = []
        for at in places:
            held = [(x, y) for x, y, _ in spans if x <= at < y]
            if held:  # on its own, not with a lead
                naming.append(min(held, key=lambda span: span[1] - span[0]))
        coverage = self.engine.retriever.coverage
        for x, y in naming:
            if coverage(text[x:y], self.topic) > 0:
                return x, y
        heading = str(hit.passage.meta.get("heading", "")).rsplit(">", 1)[-1]
        if naming and self._covers(heading):
            return naming[0]
        return None

    def _covers(self, heading: str) -> bool:
        """Whether a heading is about the topic, not only touching it: its words state it."""
        coverage = self.engine.retriever.coverage(heading, self.topic, partial=False)
        return coverage >= self.engine.rule.min_coverage

    def _passage_id(self, k: int) -> str:
        return self.candidates.passages[int(self.candidates.rows[k])].id

    def of(self, hit: Hit) -> list[str]:
        """The practices the hit's passage names about the topic (a new list)."""
        return self._of(self.candidates.index_of(hit), hit)

    def _of(self, k: int | None, hit: Hit) -> list[str]:
        """`of`, given which candidate the hit is (`Candidates.index_of`)."""
        if k is None or self._matches is None or not self.scanned[k]:
            return names_of(self.engine, hit, self.topic)
        if self._names is None:
            self._names = self._all()
        return list(self._names.get(k, []))

    def _all(self) -> dict[int, list[str]]:
        """Candidate → the practices it names, for every candidate quoting something."""
        assert self._matches is not None
        candidates, topic, retriever = self.candidates, self.topic, self.engine.retriever
        starts = candidates.text[1]
        matches, owner = self._matches, self._owner
        if not matches:
            return {}
        # a quote counts when said in a sentence on the topic, or anywhere in a passage under a
        # heading on the topic: headings are read only for passages with a quote of the first
        # kind missing
        begin, end, heading_line = self._sentences_at(self._at, owner)
        masks, inverse = strings_within(candidates.marks.found, begin, end, topic)
        says = np.array([retriever._span_scores(m, topic)[0] > 0 for m in masks], dtype=bool)
        on_topic = says[inverse]
        # said in a sentence on the topic (not only under a heading), one a quote can be
        stated = on_topic & ~heading_line
        heading_on: dict[str, tuple[bool, bool]] = {}  # a heading: on the topic, covering it
        whole = np.zeros(len(starts) - 1, dtype=bool)
        about: set[int] = set()  # ...and those under a heading covering it (`_covers`)
        for k in np.unique(owner[~on_topic]).tolist():
            heading = candidates.passages.heading_of(int(candidates.rows[k])).rsplit(">", 1)[-1]
            if heading not in heading_on:
                heading_on[heading] = (
                    retriever.coverage(heading, topic) > 0,
                    self._covers(heading),
                )
            whole[k], covers = heading_on[heading]
            if covers:
                about.add(k)
        on_topic |= whole[owner]
        names: dict[int, list[str]] = {}
        joined, firsts = candidates.text[0], starts.tolist()
        owners, is_heading = owner.tolist(), heading_line.tolist()
        spans, begins, ends = self._naming, begin.tolist(), end.tolist()
        # a name said only under a heading about the topic: its sentence, if none is stated
        under_heading: dict[int, tuple[int, int]] = {}
        for j in np.flatnonzero(on_topic).tolist():
            k = owners[j]
            name = _practice_name(joined, matches[j], firsts[k], firsts[k + 1] - 1)
            if name is not None:
                found = names.setdefault(k, [])
                if name not in found:
                    found.append(name)
                span = (begins[j] - firsts[k], ends[j] - firsts[k])
                if stated[j] and k not in spans:
                    spans[k] = span
                elif k in about and not is_heading[j] and span[1] > span[0]:
                    under_heading.setdefault(k, span)
        for k, span in under_heading.items():
            spans.setdefault(k, span)
        return {k: found[:5] for k, found in names.items()}

    def _sentences_at(
        self, at: np.ndarray, owner: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where the sentence holding each position `at` of the joined texts (in candidate
        `owner[j]`) begins and ends, with the numbered lead before it (`_sentence_at`), and
        whether it is a heading; an empty span where no sentence holds it."""
        candidates = self.candidates
        joined, starts = candidates.text
        texts = np.unique(owner)
        table, counts = candidates.passages.sentence_table(candidates.rows[texts])
        whose = np.repeat(texts, counts)
        begin = table[:, 0].astype(np.int64) + starts[whose]
        end = table[:, 1].astype(np.int64) + starts[whose]
        if not len(begin):  # no sentence holds any of them
            none = np.zeros(len(at), dtype=np.int64)
            return none, none, np.zeros(len(at), dtype=bool)
        i = np.maximum(np.searchsorted(begin, at, side="right") - 1, 0)
        held = (whose[i] == owner) & (begin[i] <= at) & (at < end[i])
        span_begin, span_end = np.where(held, begin[i], 0), np.where(held, end[i], 0)
        heading = held & (table[:, 2][i] != 0)
        # a lead is short (`_is_lead`): only those are read
        led = (
            held & (i > 0) & (whose[i - 1] == owner) & (end[i - 1] - begin[i - 1] < SHORT_SENTENCE)
        )
        asked = np.flatnonzero(led)
        leads = i[asked] - 1
        for j, a, b in zip(asked.tolist(), begin[leads].tolist(), end[leads].tolist(), strict=True):
            if _is_lead(joined, a, b):
                span_begin[j] = a
        return span_begin, span_end, heading


def practice_line(names: list[str]) -> str:
    """The “做法：…；” part of a township's entry."""
    return f"做法：{'、'.join(f'“{n}”' for n in names)}；" if names else ""


def _named_at(text: str, names: list[str]) -> list[int]:
    """Where the text quotes one of the practices' names (the quote of “贵和”调解工作制度 is
    贵和), in order."""
    return [
        match.start(1)
        for match in _QUOTED.finditer(text)
        if (said := match.group(1).strip().rstrip(_SLOGAN_ENDS))
        and any(name.startswith(said) for name in names)
    ]


def names_of(engine: Engine, hit: Hit, topic: Topic) -> list[str]:
    """The practices a passage names about the topic (all of them under a heading on it), read
    on its own."""

    def says_topic(text: str) -> bool:
        return engine.retriever.coverage(text, topic) > 0

    text = hit.passage.text
    if not _QUOTED.search(text):
        return []  # most passages quote nothing: their heading is not looked at
    heading = str(hit.passage.meta.get("heading", "")).rsplit(">", 1)[-1]
    if says_topic(heading):
        return practice_names(text)
    return practice_names(text, says_topic, engine.retriever.sentences(hit))


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
        name = _practice_name(text, match, 0, len(text))
        if name is not None and name not in names:
            names.append(name)
    return names[:5]


def _practice_name(text: str, match: re.Match[str], first: int, end: int) -> str | None:
    """The practice a quote names (the quote, its practice noun after it), or None when the
    quote is not a township's practice; `first` and `end`: where its passage is in `text`."""
    name = match.group(1).strip().rstrip(_SLOGAN_ENDS)  # a slogan's own full stop
    before, after = text[max(first, match.start() - 4) : match.start()], match.end()
    if (
        not name
        or _NUMBER.fullmatch(name)
        or _OCCASION.search(name)
        or _NOT_A_PRACTICE_BEFORE.search(before)
        or _NOT_A_PRACTICE_AFTER.match(text, after, end)  # what follows, not a copy of it
    ):
        return None
    if suffix := _PRACTICE_NOUN.match(text, after, end):
        return name + suffix.group(1)
    return name if len(name) > 2 else None


def _opening_marks(text: str) -> np.ndarray:
    """Where a quotation mark that may open a practice's name is, in order."""
    found: list[int] = []
    for mark in _OPENING_MARKS:
        at = text.find(mark)
        while at >= 0:
            found.append(at)
            at = text.find(mark, at + 1)
    return np.sort(np.array(found, dtype=np.int64))


def _sentence_at(text: str, sentences: list[tuple[int, int]], at: int) -> str:
    """The sentence holding position `at`, with the lead just before it (二是突出矛盾化解。)."""
    for i, (a, b) in enumerate(sentences):
        if a <= at < b:
            if i and _is_lead(text, *sentences[i - 1]):
                a = sentences[i - 1][0]
            return text[a:b]
    return ""


def _is_lead(text: str, a: int = 0, b: int | None = None) -> bool:
    """Whether `text[a:b]` is a short numbered lead sentence (“二是突出矛盾化解。”)."""
    b = len(text) if b is None else b
    return b - a < SHORT_SENTENCE and _LEAD.match(text, a, b) is not None
