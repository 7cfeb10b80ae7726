"""Hybrid retrieval over the passage store: dense (embeddings) + BM25 (jieba), fused.

An in-memory snapshot of the store (passage vectors, BM25 index, metadata) is scored whole for
every question, so filters apply identically to both retrievers, and corpus-wide questions can
look at every report in scope without a per-report model call. The snapshot reloads when the
store changes; it is saved beside the store (`app/index_snapshot.py`), so a new process maps it
instead of building it again.
"""

from __future__ import annotations

import bisect
import functools
import gc
import re
import threading
import weakref
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import bm25s
import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from app import index_snapshot, marking
from app.places import place_words
from app.sentences import quotable_spans, section_title
from app.shortfall import SHORTFALL_WORDS, STATED_ONLY
from app.text import PassageTokens, Tokenizer, content_words_identity, term_forms
from app.word_weights import word_weight
from ingest.passages import sentence_spans
from vectorstore import PassageStore, Scope, StoredPassage
from vectorstore.store import PLACE_ABOVE_TOWNSHIP

if TYPE_CHECKING:
    from app.candidates import Candidates

# Paraphrases users type → words the reports use. Small and domain-specific on purpose.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "执法能力": ("执法能力", "执法水平", "执法效能", "执法力量"),
    "执法水平": ("执法水平", "执法能力", "执法效能"),
    "普法": ("普法", "法治宣传", "法制宣传", "法律知识"),
    "普法宣传": ("普法宣传", "普法", "法治宣传", "法制宣传"),
    "律所": ("律师事务所", "法律事务所", "律所"),
    "法律顾问": ("法律顾问",),
    # "每个村都有…" (`question._EVERY_VILLAGE`): 全覆盖, 覆盖率达100%, 各村均配备, 一村一…
    "覆盖": (
        "覆盖",
        *(
            f"均{done}{verb}"
            for done in ("", "已")
            for verb in ("配备", "配齐", "配有", "聘请", "建立", "设立", "建成")
        ),
        "每个村",
        "村村",
        "每村",
        "一村一",
        "一村（居）一",
    ),
    "考核": ("考核", "考评", "考察"),
    "方式": ("方式", "方法", "形式"),  # 普法方式 = 普法形式
    "培训": ("培训", "学法", "授课"),
    "干部": ("干部", "工作人员"),
    "一把手": ("一把手", "主要负责人"),  # 党政一把手 = 党政主要负责人
    "领导班子": ("领导班子", "班子成员"),  # reports say 班子成员 for the leadership's members
    "班子成员": ("班子成员", "领导班子"),
    "调解室": ("工作室", "调解室", "茶室"),
    "矛盾纠纷": ("矛盾纠纷", "纠纷", "矛盾"),
    "信访": ("信访", "来访", "接访"),
    "专业人员": ("专业人员", "专职", "专业背景", "专业的人员"),
    "懂法律": ("法学专业", "法律专业", "懂法"),
    "新媒体": ("新媒体", "自媒体", "抖音", "微信", "公众号", "微博", "短视频", "视频号"),
    "表彰": ("评为", "表彰", "荣誉", "先进", "优秀"),
    "百分比": ("百分比", "%", "％", "百分之"),  # "办结率（百分比）": reports write 96%
    # the steps a major decision must go through are its 法定程序, reports call them 必经程序
    "法定程序": ("法定程序", "必经程序"),
    # the statutes' 重大行政决策, which reports also write 重大决策 (not the 重大决策部署 of the
    # centre, which every report implements)
    "重大行政决策": (
        "重大行政决策",
        *(f"重大决策{after}" for after in ("事项", "程序", "制度", "前", "“", '"', "，", "、")),
        "执行重大决策",
    ),
    "重大决策": ("重大决策", "重大行政决策"),
}


def _variants(word: str) -> tuple[str, ...]:
    """What counts as saying `word`: its synonyms, or how a numbered term is written."""
    return SYNONYMS.get(word) or term_forms(word)


# Words that only restate the section a question is about (problems / plans).
# (跟上 and 到位 are how jieba cuts 没跟上 and 不到位)
_PLANS_TEXT = "下一步 打算 计划 安排 明年 今后 接下来 准备 提出 加大 加强 推进"
INTENT_WORDS = frozenset((*SHORTFALL_WORDS, "跟上", "到位", *_PLANS_TEXT.split()))


TOKEN_CACHE = "fazhi_tokens.json"  # in the store's index folder
SNAPSHOTS = "snapshot"  # in the store's index folder: one folder per store version
# When no report uses a question word, a report word the embedding model puts this close to it
# counts as a paraphrase (毗邻 for 邻近, 戏曲 for 文艺演出), for part of the word's weight.
NEIGHBOUR_SIMILARITY = 0.91
NEIGHBOURS = 6
SOFT_CREDIT = 0.6
# ...and an unused compound the model puts this close to its head word is a kind of it (业务培训
# for 培训, 0.96), while one that means something else stays apart (柔性执法 for 执法, 0.93;
# 公职律师 for 律师, 0.93): the head counts as its paraphrase.
HEAD_SIMILARITY = 0.945
# In a topic of REQUIRED_MIN_GROUPS words or more, a word carrying this share of the weight is
# part of what the question is about: a sentence without it (or a paraphrase of it) does not
# support the claim (法治副校长 vs 辖区学校). With fewer words, the coverage floor decides.
REQUIRED_SHARE = 0.4
# Words that make no claim by themselves ("在法律顾问制度上取得了哪些成效"; 创新, 特色: what
# kind of practice is asked for, "在普法上有哪些创新做法"): never a claim's head
CLAIMLESS_WORDS = frozenset(
    [
        "措施",
        "举措",
        "做法",
        "办法",
        "经验",
        "成效",
        "成果",
        "效果",
        "亮点",
        "创新",
        "特色",
        "情况",
        "取得",
        "实现",
        "落实",
        "开展",
        "工作",
    ]
)
REQUIRED_MIN_GROUPS = 2
# A problems question wants the sentence that states the shortfall ("效能不高"), not the
# section's lead-in praising the year's work ("执法水平有所提高"): on-topic sentences that say
# so rank first.
SHORTFALL = re.compile("|".join((*SHORTFALL_WORDS, *STATED_ONLY)))


@dataclass
class Topic:
    """What a question asks about: groups of alternative words (any one says it), weighted.

    A group weighs the mean of its words' weights; `needles[g]` maps every string that counts
    as saying group g to its credit, the share of that weight it earns: a word's own weight
    relative to the group's (at most all of it) for the word and its listed synonyms,
    SOFT_CREDIT of that for the corpus's near-paraphrases of a word no report uses.
    """

    groups: list[tuple[str, ...]]
    weights: list[float]
    needles: list[dict[str, float]]
    # per group, per word: its sub-words, its credit, and whether they cover all of it
    parts: list[list[tuple[tuple[str, ...], float, bool]]]
    require: bool = True  # whether heavy groups are required (see REQUIRED_SHARE)
    # groups required whatever their weight: the role asked of someone ("由谁当组长")
    must: frozenset[int] = frozenset()
    # names the question quotes that no report uses ("“三官一律”"): what it asks about is not in
    # the reports, so no passage states it (`verdicts.decide`)
    unused_names: tuple[str, ...] = ()
    # says whether a sentence says what the question asks for (a shortfall, a count): such
    # sentences are quoted first
    cue: Callable[[str], object] | None = None
    # a compound is said by its sub-words only when they cover all of it (工作 is not 工作站):
    # when grading many reports; a lookup (one fact, asked of the best passages) takes any
    spelled_out_only: bool = False
    # the groups the question names as its setting ("在X上/中/方面"), see `claim_heads`
    setting: frozenset[int] = frozenset()
    # per group, its needles that are only near one of its words in meaning (SOFT_CREDIT)
    near: list[frozenset[str]] = field(default_factory=list)
    # per group, the sub-words of its words' listed synonyms and their credit: all of them
    # rank a sentence as half saying it ("执法不严、效能不高": 执法效能, a synonym of 执法能力),
    # but state nothing (apart, "法治政府…制度宣传" is no 法治宣传)
    synonym_parts: list[list[tuple[tuple[str, ...], float]]] = field(default_factory=list)

    @property
    def terms(self) -> list[str]:
        return [w for group in self.groups for w in group]

    @functools.cached_property
    def required(self) -> frozenset[int]:
        """The groups a supporting sentence cannot leave out (asked for every sentence scored)."""
        total = sum(self.weights)
        if not self.require or total <= 0 or len(self.weights) < REQUIRED_MIN_GROUPS:
            return frozenset()
        return self.must | frozenset(
            g for g, weight in enumerate(self.weights) if weight / total >= REQUIRED_SHARE
        )

    @functools.cached_property
    def claim_heads(self) -> frozenset[int]:
        """In a question with a setting ("在重大行政决策上，哪些镇落实了听证制度"), the setting's
        words say where the claim is made, not the claim: a supporting sentence says one of the
        other groups weighing at least their mean (听证, not only 落实 or 制度), in its own words
        (`says`). Words that claim nothing by themselves (CLAIMLESS_WORDS: 措施, 成效, 取得) are
        not heads; with no other group, there are none."""
        claim = [
            g
            for g in range(len(self.weights))
            if g not in self.setting and not CLAIMLESS_WORDS.issuperset(self.groups[g])
        ]
        if not self.setting or not claim:
            return frozenset()
        mean = sum(self.weights[g] for g in claim) / len(claim)
        return frozenset(g for g in claim if self.weights[g] >= mean)

    def says(self, found: frozenset[str], g: int) -> bool:
        """Whether a text holding the strings `found` says group g in its own words (a word, a
        listed synonym, or a word's parts as `credit` takes them), not only in a report word
        near one in meaning."""
        near = self.near[g] if g < len(self.near) else frozenset()
        return any(n in found and n not in near for n in self.needles[g]) or any(
            self.parts_say(parts, covering, found) for parts, _, covering in self.parts[g]
        )

    def parts_say(self, parts: tuple[str, ...], covering: bool, found: frozenset[str]) -> bool:
        """Whether a word's sub-words in `found` say all of it (only when they spell it out, for
        a topic grading many reports)."""
        return (
            bool(parts)
            and all(p in found for p in parts)
            and (covering or not self.spelled_out_only)
        )

    def __bool__(self) -> bool:
        return bool(self.groups)

    @functools.cached_property
    def strings(self) -> tuple[str, ...]:
        """Every string whose presence counts for a group: its words, their paraphrases, and
        the parts of its compounds. A text's coverage depends only on which of these it holds."""
        found = [n for needles in self.needles for n in needles]
        parts = [p for word_parts in self.parts for sub, _, _ in word_parts for p in sub]
        parts += [p for synonyms in self.synonym_parts for sub, _ in synonyms for p in sub]
        return tuple(dict.fromkeys([*found, *parts]))

    def found_in(self, text: str) -> frozenset[str]:
        """The topic's strings that `text` contains."""
        return frozenset(filter(text.__contains__, self.strings))

    @functools.cached_property
    def bits(self) -> dict[str, int]:
        """Each string's bit in a mask of the strings a sentence holds (`mask_scores`)."""
        return {s: 1 << i for i, s in enumerate(self.strings)}

    @functools.cached_property
    def coverages(self) -> dict[tuple[frozenset[str], bool], float]:
        """Coverage by the set of strings found (and partial): few sets recur over a corpus."""
        return {}

    @functools.cached_property
    def mask_scores(self) -> dict[int, tuple[float, float]]:
        """(rank, strict) coverage by the mask of the strings a sentence holds (see `bits`)."""
        return {}

    @functools.cached_property
    def marks(self) -> dict[str, tuple[float, tuple[int, int]] | None]:
        """Each passage's best sentence for this topic (coverage, offsets), as
        `mark_best_sentence` marks passages one at a time (lookups, verdicts), once per
        question. Gathers mark their candidates at once (`marking`), not through this."""
        return {}


@dataclass
class Hit:
    passage: StoredPassage
    score: float
    dense: float
    lexical: float
    coverage: float = 0.0
    sentence: tuple[int, int] | None = None  # best sentence, offsets in the report text
    row: int | None = None  # the passage's row in the snapshot it came from

    @property
    def report_id(self) -> str:
        return str(self.passage.meta["report_id"])

    @property
    def key_sentence(self) -> str:
        """The text of the passage's best sentence ('' before one is marked)."""
        if self.sentence is None:
            return ""
        start = int(self.passage.meta["start"])
        return self.passage.text[self.sentence[0] - start : self.sentence[1] - start]


@dataclass
class Snapshot:
    passages: index_snapshot.PassageTable
    vectors: np.ndarray
    bm25: bm25s.BM25 | None
    version: str
    meta_columns: dict[str, np.ndarray] = field(default_factory=dict)
    report_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    document_frequency: dict[str, int] = field(default_factory=dict)
    vocabulary: list[str] = field(default_factory=list)  # the reports' words, for paraphrases
    word_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    neighbours: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    # passage id -> its quotable sentences (`sentences.quotable_spans`), for passages not
    # marked from the snapshot's arrays, found once per process
    quotable: dict[str, list[tuple[int, int, bool]]] = field(default_factory=dict)

    def count_containing(self, variants: tuple[str, ...]) -> int:
        """How many passages contain any of the strings.

        Scanning every passage costs ~30 ms per word at 10,000 reports, so passages are found
        through the BM25 index's words that contain a string (明白人 in 法律明白人); only when
        none does is the text scanned, for a string that spans two words (行政能力 in
        依法行政/能力) or is nowhere. A string spanning words in some passages and inside one
        in others is counted in the latter only: a slight undercount, for the weights alone.
        """
        if self.bm25 is None:
            return 0
        ids = [i for w, i in self.bm25.vocab_dict.items() if any(v in w for v in variants)]
        if ids:
            indptr, indices = self.bm25.scores["indptr"], self.bm25.scores["indices"]
            found = np.zeros(len(self.passages), dtype=bool)
            for i in ids:
                found[indices[indptr[i] : indptr[i + 1]]] = True
            return int(found.sum())
        return self.passages.count_containing(variants)

    @functools.cached_property
    def report_numbers(self) -> dict[str, int]:
        """Report id → its number in `report_index`."""
        firsts = np.unique(self.report_index, return_index=True)[1]
        ids = self.meta_columns["report_id"][firsts].astype(str).tolist() if len(firsts) else []
        return {rid: int(n) for n, rid in zip(self.report_index[firsts].tolist(), ids, strict=True)}

    def mask(self, scope: Scope | None, *, with_sections: bool = True) -> np.ndarray:
        n = len(self.passages)
        keep = np.ones(n, dtype=bool)
        if scope is None:
            return keep
        named = np.isin(self.meta_columns["township"], scope.townships)
        for key, values in scope.value_filters(with_sections=with_sections):
            column = self.meta_columns[key]
            allowed = np.isin(column, values)
            if key in PLACE_ABOVE_TOWNSHIP and scope.townships:
                allowed |= (column == "") & named  # the township named, its county unknown
            keep &= allowed
        years = self.meta_columns["year"]
        if scope.year_from is not None:
            keep &= years >= scope.year_from
        if scope.year_to is not None:
            keep &= (years <= scope.year_to) & (years > 0)
        if scope.years:
            keep &= np.isin(years, scope.years)
        return keep


class HybridRetriever:
    """Scores every passage in scope with dense and BM25 similarity."""

    def __init__(self, store: PassageStore, *, lexical_weight: float = 0.25) -> None:
        self.store = store
        self.lexical_weight = lexical_weight
        self.tokenizer = Tokenizer()
        folder = store.index_dir
        self.passage_tokens = PassageTokens(
            self.tokenizer, folder / TOKEN_CACHE if folder else None
        )
        self.snapshots = folder / SNAPSHOTS if folder else None
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._thaw: weakref.finalize | None = None
        # per retriever, not functools.lru_cache: a class-level cache would keep every
        # retriever (and its model) alive for the life of the process
        self._term_parts: dict[str, tuple[str, ...]] = {}

    # -- snapshot ------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        version = self.store.version()
        with self._lock:
            if self._snapshot is None or self._snapshot.version != version:
                replaced = self._snapshot is not None
                self._snapshot = None  # let the old one go before the new one is built
                self._snapshot = self._open(version)
                # What is alive now (the model, the report list, the passages answers make into
                # objects) stays until the store changes; Python's cycle collector rescanned it
                # all (0.2-0.5 s pauses at 10,000 reports), so it is exempted from it, but for
                # one full collection every gc_pause.FULL_EVERY answers. A full collection first
                # only when an older snapshot is let go: in a new process there is nothing to
                # free, and it scanned every object the imports had made.
                if replaced:
                    gc.unfreeze()
                    gc.collect()
                gc.freeze()
                if self._thaw is None:
                    # frozen objects are never collected: when this retriever goes, what it froze
                    # (a model held only by cycles, an old store) may go too
                    self._thaw = weakref.finalize(self, gc.unfreeze)
            return self._snapshot

    def _open(self, version: str) -> Snapshot:
        """The snapshot saved for this store version, else one built now (and saved)."""
        facets = self.store.facet_values()
        places = [*facets["township"], *facets["county"]]  # words for the tokenizer
        identity = {
            "tokenizer": self.passage_tokens.identity(),
            "content_words": content_words_identity(),
        }
        if self.snapshots is not None:
            saved = index_snapshot.read(self.snapshots, version, identity)
            if saved is not None:
                self.passage_tokens.add_words(places)  # questions are cut as the passages were
                return saved
        snap = self._build(version, places)
        if self.snapshots is not None and snap.passages:
            folder = index_snapshot.write(self.snapshots, snap, identity)
            saved = index_snapshot.read(self.snapshots, version, identity) if folder else None
            if saved is not None:  # the mapped copy: its pages are shared with other processes
                return saved
        return snap

    def _build(self, version: str, places: list[str]) -> Snapshot:
        passages = self.store.passages(with_embeddings=True)
        tokens = self.passage_tokens.tokens([(p.id, p.text) for p in passages], places)
        vocabulary: list[str] = []
        if passages:
            vectors = np.vstack([p.embedding for p in passages]).astype(np.float32)
            bm25 = bm25s.BM25()
            bm25.index(tokens, show_progress=False)
            vocabulary = sorted(w for w in bm25.vocab_dict if self.tokenizer.is_content(w))
        else:
            vectors, bm25 = np.zeros((0, 1), dtype=np.float32), None
        word_vectors = self.store.word_vectors(vocabulary)
        columns = index_snapshot.columns_of(passages)
        _, report_index = np.unique(columns["report_id"].astype(str), return_inverse=True)
        for p in passages:
            p.embedding = None  # the matrix holds them; don't keep two copies
        return Snapshot(
            index_snapshot.PassageTable.of(passages),
            vectors,
            bm25,
            version,
            columns,
            report_index.astype(np.int64),
            vocabulary=vocabulary,
            word_vectors=word_vectors,
        )

    # -- scoring -------------------------------------------------------------------------------
    def score_all(
        self,
        question_vector: np.ndarray,
        query_text: str,
        scope: Scope | None,
        *,
        mask: np.ndarray | None = None,
    ) -> tuple[Snapshot, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(snapshot, fused, dense, lexical, mask) for every passage (`mask`: the scope's, if
        known)."""
        snap = self.snapshot()
        mask = snap.mask(scope) if mask is None else mask
        if not snap.passages:
            empty = np.zeros(0, dtype=np.float32)
            return snap, empty, empty, empty, mask
        dense = snap.vectors @ np.asarray(question_vector, dtype=np.float32)
        lexical = np.zeros(len(snap.passages), dtype=np.float32)
        tokens = [t for t in self.tokenizer.words(query_text) if len(t) > 1 or t.isalnum()]
        if snap.bm25 is not None and tokens:
            raw = np.asarray(snap.bm25.get_scores(tokens), dtype=np.float32)
            top = float(raw[mask].max()) if mask.any() else 0.0
            if top > 0:
                lexical = raw / top
        fused = dense + self.lexical_weight * lexical
        return snap, fused, dense, lexical, mask

    def search(
        self,
        question_vector: np.ndarray,
        query_text: str,
        scope: Scope | None = None,
        *,
        k: int = 8,
        per_report: int = 3,
        topic: Topic | None = None,
    ) -> list[Hit]:
        """The best `k` passages in scope, at most `per_report` from one report."""
        snap, fused, dense, lexical, mask = self.score_all(question_vector, query_text, scope)
        order = np.argsort(-np.where(mask, fused, -np.inf))
        hits: list[Hit] = []
        taken: dict[str, int] = {}
        for i in order[: max(k * 10, 50)]:
            if not mask[i]:
                break
            passage = snap.passages[int(i)]
            rid = str(passage.meta["report_id"])
            if taken.get(rid, 0) >= per_report:
                continue
            taken[rid] = taken.get(rid, 0) + 1
            hit = Hit(passage, float(fused[i]), float(dense[i]), float(lexical[i]), row=int(i))
            if topic is not None:
                self.mark_best_sentence(hit, topic)
            hits.append(hit)
            if len(hits) >= k:
                break
        return hits

    def best_per_report(
        self,
        question_vector: np.ndarray,
        query_text: str,
        scope: Scope,
        topic: Topic,
        *,
        per_report: int = 3,
        coverage_floor: float = 0.0,
        leave_out: Collection[str] = (),
    ) -> Candidates:
        """For every report in scope, its best passages (by fused score), sentences marked.

        A passage whose text as a whole covers less than `coverage_floor` of the topic cannot
        hold a sentence that covers more, so its sentences are not scored (speed at scale).
        None of the passages of the reports in `leave_out` is gathered; BM25 scores are still
        scaled by the best in the whole scope, so the other reports' are the same. When every
        report in scope is left out, nothing is scored.
        """
        from app.candidates import Candidates

        snap = self.snapshot()
        in_scope = gathered = snap.mask(scope)
        if leave_out:
            numbers = snap.report_numbers
            left = [numbers[rid] for rid in leave_out if rid in numbers]
            gathered = in_scope & ~np.isin(snap.report_index, left)
        if gathered.any():
            snap, fused, dense, lexical, _ = self.score_all(
                question_vector, query_text, scope, mask=in_scope
            )
        else:
            fused = dense = lexical = np.zeros(len(snap.passages), dtype=np.float32)
        candidates = np.nonzero(gathered)[0]
        # each report's best `per_report` passages, chosen with numpy (10,000s of reports)
        groups = snap.report_index[candidates]
        order = np.lexsort((-fused[candidates], groups))
        candidates, groups = candidates[order], groups[order]
        first = np.searchsorted(groups, groups, side="left")
        keep = np.arange(len(candidates)) - first < per_report
        candidates, groups = candidates[keep], groups[keep]
        # where each report's candidates begin
        firsts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]] if len(groups) else [])
        report_ids = snap.meta_columns["report_id"][candidates[firsts]].astype(str).tolist()
        text = snap.passages.joined(candidates)
        marks = marking.mark_passages(self, snap.passages, candidates, text, topic, coverage_floor)
        return Candidates(
            snap.passages,
            candidates,
            report_ids,
            np.r_[firsts, len(candidates)].astype(np.int64),
            (fused[candidates], dense[candidates], lexical[candidates]),
            marks,
            text,
        )

    # -- the question's topic ------------------------------------------------------------------
    def topic(
        self,
        groups: list[tuple[str, ...]],
        *,
        known_only: bool = False,
        require: bool = True,
        cue: Callable[[str], object] | None = None,
        spelled_out_only: bool = False,
        setting: str = "",
        must: Collection[str] = (),
        names: Collection[str] = (),
    ) -> Topic:
        """Weights and matching strings for the question's word groups.

        With `known_only`, groups whose words no report uses at all are left out: they are the
        asker's paraphrase and should not count against a passage. Without `require`, no group
        is required of a supporting sentence. `setting`: the question's setting (the groups it
        names are `Topic.setting`); `must`: words whose groups are required however light;
        `names`: names the question quotes (those no report uses are `Topic.unused_names`).
        """
        snap = self.snapshot()
        if known_only:
            groups = [g for g in groups if any(self.document_frequency(w, snap) for w in g)]
        words = [w for g in groups for w in g]
        weights = self.term_weights(words)
        unused = [w for w in words if self.document_frequency(w, snap) == 0]
        neighbours = self.neighbours(unused, snap)
        # a report word paraphrases one of the question's words at most, the one it is closest
        # to (违建 is not both 首违 and 不罚)
        closest_to: dict[str, tuple[float, str]] = {}
        for word, nears in neighbours.items():
            for near, similarity in nears:
                closest_to[near] = max(closest_to.get(near, (similarity, word)), (similarity, word))
        needles: list[dict[str, float]] = []
        nearby: list[frozenset[str]] = []
        parts: list[list[tuple[tuple[str, ...], float, bool]]] = []
        synonym_parts: list[list[tuple[tuple[str, ...], float]]] = []
        group_weights = [sum(weights[w] for w in g) / len(g) for g in groups]
        for group, group_weight in zip(groups, group_weights, strict=True):
            shares = {w: min(1.0, weights[w] / group_weight) for w in group}
            found: dict[str, float] = {}
            for word, share in shares.items():
                for near, _ in neighbours.get(word, []):
                    if closest_to[near][1] != word or (near in words and near not in group):
                        continue  # nor is the question's own word (违法 of 轻微违法) 首违 too
                    found[near] = max(found.get(near, 0.0), SOFT_CREDIT * share)
                for variant in _variants(word):
                    if variant in words and variant not in group:
                        continue  # the question's own word (先进 of 表彰、先进) counts for its own group
                    found[variant] = max(found.get(variant, 0.0), share)
            needles.append(found)
            said = {v for w in group for v in _variants(w)}
            nearby.append(frozenset(found) - said)
            word_parts = {w: self._parts(w) for w in shares}
            parts.append(
                [
                    (word_parts[w], share, _parts_cover(w, word_parts[w]))
                    for w, share in shares.items()
                ]
            )
            synonym_parts.append(
                [
                    (sub, share)
                    for w, share in shares.items()
                    for v in SYNONYMS.get(w, ())
                    # two words or more that spell all of it (均建立 is no 建立, 工作室 no 工作)
                    if v != w and len(sub := self._parts(v)) >= 2 and _parts_cover(v, sub)
                ]
            )
        return Topic(
            list(groups),
            group_weights,
            needles,
            parts,
            require=require,
            cue=cue,
            spelled_out_only=spelled_out_only,
            near=nearby,
            synonym_parts=synonym_parts,
            setting=frozenset(
                g for g, group in enumerate(groups) if setting and all(w in setting for w in group)
            ),
            must=frozenset(g for g, group in enumerate(groups) if set(group) & set(must)),
            unused_names=tuple(n for n in names if not self.document_frequency(n, snap)),
        )

    def neighbours(
        self, words: list[str], snap: Snapshot | None = None
    ) -> dict[str, list[tuple[str, float]]]:
        """Report words the embedding model puts closest to each word (not containing it), and
        its head word when the model puts them as close as synonyms (see HEAD_SIMILARITY)."""
        snap = snap or self.snapshot()
        new = [w for w in words if w not in snap.neighbours]
        if new and snap.vocabulary:
            places = place_words(self.store.facet_values())
            vectors = self.store.embeddings.embed_words(new)
            similarity = vectors @ snap.word_vectors.T
            for word, row in zip(new, similarity, strict=True):
                # words sharing a part with it (行政执法 for 柔性执法) are its siblings, not
                # paraphrases; the part itself already earns partial credit. So are words holding
                # a character its parts leave over (村组 for 示范村, 网站 for 工作站): other kinds
                # of village, of station
                parts = self._parts(word)
                shared = (word, *parts)
                leftover = _left_over(word, parts) if parts else ""
                order = np.argsort(-row)[: NEIGHBOURS * 4]
                snap.neighbours[word] = [
                    (snap.vocabulary[i], float(row[i]))
                    for i in order
                    if row[i] >= NEIGHBOUR_SIMILARITY
                    and not any(p in snap.vocabulary[i] for p in shared)
                    and not any(c in snap.vocabulary[i] for c in leftover)
                    and snap.vocabulary[i] not in word
                    # a report's place (马关县 of the store) is no paraphrase (of 不过关)
                    and snap.vocabulary[i] not in places
                ][:NEIGHBOURS]
                head = max((p for p in shared[1:] if word.endswith(p)), key=len, default="")
                at = bisect.bisect_left(snap.vocabulary, head)
                known = head and at < len(snap.vocabulary) and snap.vocabulary[at] == head
                if known and row[at] >= HEAD_SIMILARITY:
                    snap.neighbours[word].append((head, float(row[at])))
        return {w: snap.neighbours.get(w, []) for w in words}

    def known_share(self, topic: Topic) -> float:
        """The share of the topic's weight in word groups some report uses."""
        total = sum(topic.weights)
        known = sum(
            weight
            for group, weight in zip(topic.groups, topic.weights, strict=True)
            if any(self.document_frequency(w) for w in group)
        )
        return known / total if total > 0 else 0.0

    def term_weights(self, terms: list[str]) -> dict[str, float]:
        """IDF-like weights from the reference corpus (`app/word_weights.py`), not the store's:
        adding reports does not move them."""
        return {term: word_weight(term, _variants(term)) for term in terms}

    def document_frequency(self, term: str, snap: Snapshot | None = None) -> int:
        """How many passages use the term (or a paraphrase of it); cached per snapshot."""
        snap = snap or self.snapshot()
        if term not in snap.document_frequency:
            snap.document_frequency[term] = snap.count_containing(_variants(term))
        return snap.document_frequency[term]

    def coverage(self, sentence: str, topic: Topic, *, partial: bool = True) -> float:
        """Weighted share of the topic's word groups the sentence says (or paraphrases).

        With `partial`, a long word missing as a whole earns half credit for its parts (ranking);
        without, only whole words count (deciding whether the report says it at all), and a
        sentence missing one of the topic's required words covers nothing.
        """
        return self._coverage(topic.found_in(sentence), topic, partial)

    def _coverage(self, found: frozenset[str], topic: Topic, partial: bool) -> float:
        """`coverage` of a text holding exactly the topic strings `found` (memoised)."""
        key = (found, partial)
        if key not in topic.coverages:
            topic.coverages[key] = self._score(found, topic, partial)
        return topic.coverages[key]

    def _span_scores(self, mask: int, topic: Topic) -> tuple[float, float]:
        """(rank, strict): `_coverage` with and without partial credit of a text holding the
        topic strings whose bits are set in `mask` (memoised)."""
        scores = topic.mask_scores.get(mask)
        if scores is None:
            found = frozenset(s for s, bit in topic.bits.items() if mask & bit)
            scores = (self._coverage(found, topic, True), self._coverage(found, topic, False))
            topic.mask_scores[mask] = scores
        return scores

    @staticmethod
    def _score(found: frozenset[str], topic: Topic, partial: bool) -> float:
        total = sum(topic.weights)
        if total <= 0:
            return 0.0
        got = 0.0
        required, heads, headless = topic.required, topic.claim_heads, True
        for g, weight in enumerate(topic.weights):
            credit = max((c for n, c in topic.needles[g].items() if n in found), default=0.0)
            for parts, share, covering in topic.parts[g]:
                if not parts or credit >= share:
                    continue
                if topic.parts_say(parts, covering, found):
                    credit = share
                elif partial:
                    held = sum(p in found for p in parts)
                    credit = max(credit, 0.5 * share * held / len(parts))
            if partial and g < len(topic.synonym_parts):
                for parts, share in topic.synonym_parts[g]:
                    if credit < 0.5 * share and all(p in found for p in parts):
                        credit = 0.5 * share
            if credit == 0 and not partial and g in required:
                return 0.0
            got += weight * credit
            if headless and g in heads and credit > 0 and topic.says(found, g):
                headless = False
        if heads and headless and not partial:
            return 0.0
        return got / total

    def _parts(self, term: str) -> tuple[str, ...]:
        """Dictionary sub-words of a compound (纠纷化解 → 纠纷, 化解); empty for short words."""
        parts = self._term_parts.get(term)
        if parts is None:
            if len(self._term_parts) >= 4096:
                self._term_parts.clear()
            parts = ()
            if len(term) >= 3:
                words = dict.fromkeys(self.tokenizer.words(term))
                parts = tuple(w for w in words if 2 <= len(w) < len(term))
            self._term_parts[term] = parts
        return parts

    def mark_best_sentence(self, hit: Hit, topic: Topic) -> None:
        """Find the passage's sentence that best covers the topic (sets coverage and sentence).

        Sentences rank by the share of the topic's whole words they hold, then by partial
        credit; between equals, a sentence on its own beats a short one joined with it ("三是…
        职责。" + the sentence). With a topic cue (a shortfall for problems questions, a count
        for count lookups), a sentence that says it is quoted first if it touches the topic at
        all, while the coverage that decides support stays the passage's best sentence's (the
        passage sits in the asked-for section).
        """
        if hit.passage.id in topic.marks:
            mark = topic.marks[hit.passage.id]
            if mark is not None:
                hit.coverage, hit.sentence = mark
            return
        text = hit.passage.text
        spans = self._quotable(hit.passage)
        in_passage = topic.found_in(text)
        mark = None
        if spans:
            strings = [(s, topic.bits[s]) for s in in_passage]
            scored = [
                (k, self._span_scores(mask, topic)) for k, mask in _held(text, spans, strings)
            ]
            on_topic = [k for k, (rank, _) in scored if rank > 0]
            best = _best_span(text, spans, on_topic or range(len(spans)), dict(scored), topic.cue)
            a, b, _ = spans[best]
            base = int(hit.passage.meta["start"])
            coverage = max([strict for _, (_, strict) in scored], default=0.0)
            mark = (coverage, (base + a, base + b))
            hit.coverage, hit.sentence = mark
        topic.marks[hit.passage.id] = mark

    def mark_best_sentences(self, hits: Sequence[Hit], topic: Topic) -> None:
        """`mark_best_sentence` of each hit; those of the current snapshot all at once."""
        snap = self._snapshot
        fresh: list[Hit] = []
        for hit in hits:
            if self._from_current(hit) and hit.passage.id not in topic.marks:
                fresh.append(hit)
            else:
                self.mark_best_sentence(hit, topic)
        if not fresh or snap is None:
            return
        rows = np.array([hit.row for hit in fresh], dtype=np.int64)
        texts = [hit.passage.text for hit in fresh]  # a candidate's is decoded already
        text = (index_snapshot.SEPARATOR.join(texts), index_snapshot.starts_of(texts))
        marks = marking.mark_passages(self, snap.passages, rows, text, topic, None)
        coverage, start, end = (a.tolist() for a in (marks.coverage, marks.start, marks.end))
        for k, hit in enumerate(fresh):
            mark = (coverage[k], (start[k], end[k])) if start[k] >= 0 else None
            if mark is not None:
                hit.coverage, hit.sentence = mark
            topic.marks[hit.passage.id] = mark

    def sentences(self, hit: Hit) -> list[tuple[int, int]]:
        """The sentences of the hit's passage (`sentence_spans`), read from the snapshot it
        came from when it is still the current one."""
        snap = self._snapshot
        if snap is not None and hit.row is not None and self._from_current(hit):
            return snap.passages.sentences_of(hit.row)
        return sentence_spans(hit.passage.text, 0, len(hit.passage.text))

    def _from_current(self, hit: Hit) -> bool:
        """Whether the hit's passage is a row of the current snapshot (whose arrays describe it)."""
        snap = self._snapshot
        return hit.row is not None and snap is not None and snap.passages[hit.row] is hit.passage

    def _quotable(self, passage: StoredPassage) -> list[tuple[int, int, bool]]:
        # cut from the text and kept: reading one passage's from the snapshot's arrays takes
        # a dozen numpy calls, slower than cutting it (those arrays serve many passages at once)
        snap = self._snapshot
        spans = snap.quotable.get(passage.id) if snap is not None else None
        if spans is None:
            spans = quotable_spans(passage.text, section_title(passage.meta))
            if snap is not None:  # a passage id always names the same text
                snap.quotable[passage.id] = spans
        return spans

    def mark_closest_sentences(self, hits: list[Hit], question_vector: np.ndarray) -> None:
        """Quote each passage at its sentence closest in meaning to the question.

        Embeds their sentences (one batch): call it for a handful of passages only.
        """
        spans: list[tuple[Hit, int, int]] = [
            (hit, a, b)
            for hit in hits
            for a, b, _ in quotable_spans(hit.passage.text, section_title(hit.passage.meta))
        ]
        if not spans:
            return
        vectors = self.store.embeddings.embed_sentences([h.passage.text[a:b] for h, a, b in spans])
        similarity = vectors @ np.asarray(question_vector, dtype=np.float32)
        best: dict[int, tuple[float, Hit, int, int]] = {}
        for (hit, a, b), sim in zip(spans, similarity, strict=True):
            if id(hit) not in best or sim > best[id(hit)][0]:
                best[id(hit)] = (float(sim), hit, a, b)
        for _, hit, a, b in best.values():
            base = int(hit.passage.meta["start"])
            hit.sentence = (base + a, base + b)


def _parts_cover(word: str, parts: tuple[str, ...]) -> bool:
    """Whether the sub-words cover every character of the word: 法律 + 明白人 say 法律明白人,
    but 工作 alone does not say 工作站, nor 示范 示范村 (a one-character word is not a part)."""
    return bool(parts) and not _left_over(word, parts)


def _left_over(word: str, parts: tuple[str, ...]) -> str:
    """The word's characters none of its sub-words covers (站 of 工作站, 村 of 示范村)."""
    covered = [False] * len(word)
    for part in parts:
        at = word.find(part)
        while at >= 0:
            covered[at : at + len(part)] = [True] * len(part)
            at = word.find(part, at + 1)
    return "".join(c for c, done in zip(word, covered, strict=True) if not done)


def _held(
    text: str, spans: list[tuple[int, int, bool]], strings: list[tuple[str, int]]
) -> list[tuple[int, int]]:
    """(span index, mask of the (string, bit)s it holds) of the spans holding some of them."""
    held = []
    for k, (a, b, _) in enumerate(spans):
        mask = 0
        for string, bit in strings:
            if text.find(string, a, b) >= 0:  # within text[a:b], without making it
                mask |= bit
        if mask:
            held.append((k, mask))
    return held


def _best_span(
    text: str,
    spans: list[tuple[int, int, bool]],
    candidates: Sequence[int],
    scores: dict[int, tuple[float, float]],
    cue: Callable[[str], object] | None,
) -> int:
    """The first of the candidate spans with the highest (cued, strict, rank, on its own) key.

    The candidates are the spans on the topic, or all when none is: one off the topic cannot
    beat one on it, so the cue (a regex search) is asked only of those. A span holding none of
    the topic's strings covers nothing (`_score`).
    """
    if len(candidates) == 1:
        return candidates[0]

    def key(k: int) -> tuple[bool, float, float, bool]:
        a, b, joined = spans[k]
        rank, strict = scores.get(k, (0.0, 0.0))
        return (cue is None or bool(cue(text[a:b])), strict, rank, not joined)

    return max(candidates, key=key)


class FazhiRetriever(BaseRetriever):
    """fazhi's hybrid retrieval as a LangChain retriever (for chains and notebooks).

    Documents carry the citation fields (township, county, province, year, section, heading,
    report_id, source, start, end) in their metadata; `page_content` is the stored passage text.
    """

    retriever: Any
    k: int = 4
    per_report: int = 3
    scope: Any = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        k = int(kwargs.get("k", self.k))
        store = self.retriever.store
        terms = self.retriever.tokenizer.content_words(query)
        vector = store.embeddings.embed_question(query)
        hits = self.retriever.search(
            vector, " ".join(terms) or query, self.scope, k=k, per_report=self.per_report
        )
        return [
            Document(
                id=hit.passage.id,
                page_content=hit.passage.text,
                metadata={**hit.passage.meta, "score": hit.score},
            )
            for hit in hits
        ]
