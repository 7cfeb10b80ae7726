"""Chinese tokenisation for BM25 and term matching: jieba with place names and domain terms.

Township, county and province names from the store go into jieba's dictionary so a place name
is never split (石桥镇 stays one token), alongside the domain terms these reports use.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

from app import jieba_words
from app.jieba_words import WordFrequencies
from vectorstore.embeddings import fazhi_cache_dir

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # jieba imports the deprecated pkg_resources
    import jieba

jieba.setLogLevel(logging.WARNING)

DOMAIN_TERMS = tuple(
    [
        "法治政府",
        "依法行政",
        "行政执法",
        "综合执法",
        "执法能力",
        "执法水平",
        "执法人员",
        "执法记录仪",
        "法律顾问",
        "法律明白人",
        "合法性审查",
        "规范性文件",
        "重大行政决策",
        "集体讨论",
        "政务公开",
        "矛盾纠纷",
        "人民调解",
        "调解员",
        "信访",
        "普法",
        "普法宣传",
        "法治宣传",
        "法治宣传教育",
        "学法用法",
        "领导干部",
        "第一责任人",
        "网格员",
        "网格化",
        "行政复议",
        "行政应诉",
        "行政诉讼",
        "法律援助",
        "营商环境",
        "司法所",
        "派出所",
        "综治办",
        "村两委",
        "法治意识",
        "法律素养",
        "法治思维",
        "法治能力",
        "法治素养",
        "贵和",
        "贵和工作室",
        "老娘舅茶室",
        "小院讲堂",
        "小院",
        "微解纷",
        "尚书学堂",
        "尚书播报",
        "法治骨干",
        "宪法宣传周",
        "宪法日",
        "习近平法治思想",
        "理论学习中心组",
        "执法队伍",
        "队伍建设",
        "法治队伍",
        "专业人员",
        "执法证",
        "持证上岗",
        "亮证执法",
        "法治培训",
        "信息公开",
        "村务公开",
        "安全生产",
        "扫黑除恶",
        "禁毒",
        "反诈",
        "新媒体",
        "抖音",
        "微信",
        "公众号",
        "赋权执法",
        "柔性执法",
        "文明执法",
        "规范执法",
        "严格执法",
        "公正执法",
        "一案双审",
    ]
)

_STOPWORDS_TEXT = """
    的 了 和 与 及 或 在 是 有 把 将 对 为 以 于 从 由 等 其 之 而 也 都 就 并 还 被 给 让 向
    这 那 这些 那些 哪 哪些 哪个 哪几个 哪几 什么 怎么 怎样 如何 多少 几 吗 呢 吧 啊 么 个 名 次 件 起
    一 些 一些 各 每 该 本 我 我们 你 他们 自己 别的 其他 其它 有没有 是否 是不是 能 可以 可 会 要 应
    上 下 里 中 内 外 一下 一共 共 具体 情况 方面 工作 问题 报告 乡镇 镇 乡 街道 县 区 市 省 年 年度
    哪里 谁 提到 提出 提及 说 讲 写 写明 列 列为 作为 当作 认为 觉得 承认 反映 存在 相关 有关
    开展 进行 加强 推进 部署 做好 抓好 着力 做 做法 做到 搞 怎么样 情况下 想 看看 看 知道 请问 请 列出 所有 全部
    已经 每个 力度 一步 下一步 几个 镇里 村里 具体做法 镇有 除了 用场 派上 各有 几名 给出 数量 起来 得到
    之前 环节 地方 接地 接地气 总结 哪家 哪位 什么样 多大 多少次 多少名 多少个 多少起 多少件 多少场
    结果 怎样 一年 全年 今年 去年 例子 借鉴 参考 能够 抓 抓的 挂钩 拿到 等次 时候 第一张
    这类 这种 用在 用来 主要 渠道 区县 县区 县市 市县 地带
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
_ALTERNATIVE = frozenset(["或", "或者", "还是", "、", "/"])
_CATEGORY = frozenset(["这类", "这种", "这些", "之类", "等", "等等", "一类"])

_TOKEN_OK = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
# A one-character verb with its aspect particle or a measure word (办过, 建了, 受过, 建个):
# like the verb alone, too short to carry a topic (为了, 通过 are function words anyway).
_WITH_ASPECT = re.compile(r".[了过着个]")
# A number with its measure word (一人, 两次, 每项): how many, not what (一人多岗 is 一人 + 多岗,
# and 一人's paraphrases 人士, 一项 said nothing of the question)
_COUNTED = re.compile(r"[一二两三四五六七八九十几每半][人次项支名位件起条批家户场]")
# Parts of speech (jieba's dictionary tags) that never carry a question's topic: adverbs
# (必须, 真正, 进一步), prepositions (由, 借着), pronouns (有人, 别的), conjunctions, particles,
# interjections, onomatopoeia. Words jieba's dictionary does not know (domain terms) are kept.
_FUNCTION_TAGS = frozenset(
    ["d", "p", "r", "c", "u", "uj", "ul", "uz", "ug", "uv", "ud", "y", "e", "o"]
)
# Numbered policy terms (双随机一公开, 三项制度, 一法律顾问): a numeral, or one with 项, and the
# word it numbers, kept whole; their numbers are what they are, not how many
_NUMERALS = "一二两三四五六七八九十百千双"
_NUMERAL_WORD = re.compile(rf"[{_NUMERALS}]+项?")
_NUMBERED_PART = re.compile(r"[\u4e00-\u9fff]+")
_SLOGAN_SEGMENT = re.compile(rf"[{_NUMERALS}]+[^{_NUMERALS}]+")


class Tokenizer:
    """A private jieba tokenizer (no global dictionary state) with fazhi's vocabulary."""

    def __init__(self, extra_words: Iterable[str] = ()) -> None:
        self._jieba = jieba.Tokenizer()
        # its dictionary is read a word at a time (jieba_words) until a lot of text is cut
        if not WordFrequencies.install(self._jieba):
            jieba_words.initialize(self._jieba)
        self.add_words((*DOMAIN_TERMS, *_CATEGORY, *extra_words))

    def add_words(self, words: Iterable[str], *, counted: bool = True) -> None:
        """Make `words` whole words of the dictionary. Without `counted` the dictionary's total
        stays as it was, so every other word's chance is unchanged: a store's place names
        (one per report) would otherwise outweigh jieba's dictionary as the store grows, and
        cut the same text differently at 1,000 reports than at five (不一罚 as 不一/罚)."""
        for word in words:
            if not word:
                continue
            freq = self._jieba.FREQ
            if isinstance(freq, WordFrequencies):
                freq.add(word, 200000, counted=counted)
            else:
                self._jieba.add_word(word, freq=200000)
                if not counted:
                    self._jieba.total -= 200000

    def cut(self, text: str) -> list[str]:
        """Whole words (jieba's precise mode), punctuation included."""
        return list(self._jieba.cut(text))

    def words(self, text: str) -> list[str]:
        """Search-mode tokens (long words plus their parts), without punctuation."""
        return [t for t in self._jieba.cut_for_search(text) if _TOKEN_OK.search(t)]

    def word_groups(self, text: str, drop: frozenset[str] = frozenset()) -> list[tuple[str, ...]]:
        """Content words, with alternatives grouped: "干部或执法人员培训" → (干部, 执法人员), (培训).

        Words joined by 或/或者/还是/、 are alternatives, and so is a category named after
        examples ("微信、抖音这类新媒体"). Words in `drop` are left out.
        """
        groups: list[list[str]] = []
        join = False  # the next word joins the last group
        adjacent = False  # nothing but dropped words since the last group's word
        previous = ""
        for token in _numbered_terms(self.cut(text)):
            token, negated = token.strip(), previous == "不"
            previous = token
            if token in _ALTERNATIVE or token in _CATEGORY:
                join = adjacent
                continue
            if token in drop or (negated and "不" + token in drop):
                # "法律意识淡薄或普法宣传": 淡薄 does not separate the alternatives; jieba cuts
                # 不规范 into 不 + 规范
                continue
            token = _strip_affix(token, drop)  # 力量薄弱 → 力量
            if not self.is_content(token) or token in _function_words():
                join = adjacent = False  # "力量薄弱、缺少懂法律": 、 joins clauses, not words
                continue
            if any(token in g for g in groups):
                join = adjacent = False
                continue
            if join:
                groups[-1].append(token)
            else:
                groups.append([token])
            join, adjacent = False, True
        return [tuple(g) for g in groups]

    def is_content(self, token: str) -> bool:
        return (
            len(token) >= 2
            and token not in STOPWORDS
            and bool(_TOKEN_OK.search(token))
            and not token.isdigit()
            and not _WITH_ASPECT.fullmatch(token)
            and not _COUNTED.fullmatch(token)
        )

    def content_words(self, text: str) -> list[str]:
        """The words that carry a question's topic: no stopwords, no single characters."""
        return [w for group in self.word_groups(text) for w in group]


@functools.cache
def _function_words() -> frozenset[str]:
    """The words jieba's dictionary tags with a function tag (no tagging of context)."""
    return _dictionary_words(
        f"function-{sorted(_FUNCTION_TAGS)}", lambda _, tag: tag in _FUNCTION_TAGS
    )


# a word this frequent in jieba's dictionary is an everyday word (平安 1,438, 和平 7,998, 长安
# 5,355), whatever place it also names (宝丰 34, 石柱 407, 浦东 267)
COMMON_WORD_FREQUENCY = 500


@functools.cache
def common_words() -> frozenset[str]:
    """jieba's everyday words of two to four characters (`COMMON_WORD_FREQUENCY`)."""
    return _dictionary_words(
        f"common-{COMMON_WORD_FREQUENCY}",
        lambda word, _tag: 2 <= len(word) <= 4,
        min_frequency=COMMON_WORD_FREQUENCY,
    )


def _dictionary_words(
    kind: str, keep: Callable[[str, str], bool], *, min_frequency: int = 0
) -> frozenset[str]:
    """The words of jieba's dict.txt that `keep(word, tag)` keeps, at least `min_frequency`
    frequent: read once and kept in fazhi's cache (a few ms after), rather than importing
    `jieba.posseg`, which loads every word's tag (~0.5 s on each `fazhi ask`)."""
    source = Path(jieba.__file__).with_name("dict.txt")
    stat = source.stat()
    about = f"{source}|{stat.st_size}|{stat.st_mtime_ns}|{kind}"
    key = hashlib.sha256(about.encode()).hexdigest()[:12]
    cached = fazhi_cache_dir() / f"jieba-{kind.split('-')[0]}-words-{key}.json"
    with contextlib.suppress(OSError, ValueError):
        saved = json.loads(cached.read_text(encoding="utf-8"))
        if isinstance(saved, list) and all(isinstance(w, str) for w in saved):
            return frozenset(saved)
    words: set[str] = set()
    with source.open(encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) == 3 and int(parts[1]) >= min_frequency and keep(parts[0], parts[2]):
                words.add(parts[0])
    tmp = cached.with_name(f".{cached.name}.{os.getpid()}")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(sorted(words), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, cached)
    except OSError:  # a cache that cannot be written: dict.txt is read in each process
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return frozenset(words)


def _numbers(tokens: list[str], at: int) -> bool:
    """Whether tokens[at] is a numeral numbering the word after it (双 of 双随机, 三项 of 三项制度)."""
    if at + 1 >= len(tokens) or not _NUMERAL_WORD.fullmatch(tokens[at]):
        return False
    word = tokens[at + 1]
    return bool(_NUMBERED_PART.fullmatch(word)) and word not in STOPWORDS


def _numbered_terms(tokens: list[str]) -> list[str]:
    """`tokens` with numbered policy terms joined: 双/随机/一/公开 → 双随机一公开 (written
    “双随机、一公开” too), 三项/制度 → 三项制度. Apart, 随机 is an adverb and 一 a number,
    and the term would be read as 公开 alone."""
    out: list[str] = []
    at = 0
    while at < len(tokens):
        if not _numbers(tokens, at):
            out.append(tokens[at])
            at += 1
            continue
        term = tokens[at] + tokens[at + 1]
        at += 2
        while True:
            nxt = at + 1 if at < len(tokens) and tokens[at] == "、" else at
            if not _numbers(tokens, nxt):
                break
            term += tokens[nxt] + tokens[nxt + 1]
            at = nxt + 2
        out.append(term)
    return out


def term_forms(word: str) -> tuple[str, ...]:
    """How the reports may write a numbered policy term: 双随机一公开 and 双随机、一公开."""
    segments = _SLOGAN_SEGMENT.findall(word)
    if len(segments) >= 2 and "".join(segments) == word:
        return (word, "、".join(segments))
    return (word,)


def content_words_identity() -> str:
    """Changes when what counts as a content word does (`Tokenizer.is_content`): the index's
    vocabulary, from which paraphrases are chosen, was filtered by it."""
    payload = "\n".join([*sorted(STOPWORDS), _WITH_ASPECT.pattern, _COUNTED.pattern])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _strip_affix(word: str, affixes: frozenset[str]) -> str:
    """The word without a leading or trailing affix from `affixes`, if two characters remain.

    Longest affixes first, so the result does not depend on set order (不到位 before 到位).
    """
    for affix in sorted(affixes, key=lambda a: (-len(a), a)):
        if len(word) - len(affix) >= 2:
            if word.endswith(affix):
                return word[: -len(affix)]
            if word.startswith(affix):
                return word[len(affix) :]
    return word


class PassageTokens:
    """Passages' BM25 tokens, kept between snapshots and, for a local store, on disk.

    Tokenising every passage is most of a snapshot's load (~100 s of ~130 s at 10,000
    reports), and a passage id always names the same text, so its tokens are reused. They stay
    valid while the tokenizer's added words (place names) are the same; a passage holding a
    word added or gone since is tokenised again.
    """

    FORMAT = 1
    MAX_CHANGED_WORDS = 200  # beyond this, checking every passage for them costs more than
    # tokenising it again

    def __init__(self, tokenizer: Tokenizer, path: Path | None = None) -> None:
        self.tokenizer = tokenizer
        self.path = path
        self._words: set[str] = set()  # the words added to the tokenizer
        self._cached: dict[str, list[str]] = {}
        self._cached_words: set[str] = set()  # the added words the cached tokens were made with
        self._loaded = path is None

    def tokens(self, passages: list[tuple[str, str]], words: Iterable[str]) -> list[list[str]]:
        """Tokens of each (id, text), with `words` (place names) in the tokenizer's dictionary."""
        self.add_words(words)
        if not self._loaded:
            self._loaded = True
            self._load()
        changed = self._words ^ self._cached_words
        if len(changed) > self.MAX_CHANGED_WORDS:
            self._cached = {}
        elif changed and self._cached:
            texts = dict(passages)
            self._cached = {
                pid: tokens
                for pid, tokens in self._cached.items()
                if pid in texts and not any(w in texts[pid] for w in changed)
            }
        self._cached_words = set(self._words)
        out, computed = [], 0
        fresh: dict[str, list[str]] = {}
        for pid, text in passages:
            tokens = self._cached.get(pid)
            if tokens is None:
                tokens = self.tokenizer.words(text)
                computed += 1
            fresh[pid] = tokens
            out.append(tokens)
        dropped = len(self._cached) - (len(fresh) - computed)
        self._cached = fresh  # passages no longer stored are forgotten
        if computed or dropped:
            self._save()
        return out

    def add_words(self, words: Iterable[str]) -> None:
        """Put `words` (place names) in the tokenizer's dictionary."""
        words = {w for w in words if w}
        self.tokenizer.add_words(words - self._words, counted=False)
        self._words |= words

    def identity(self) -> str:
        """Changes when fazhi's own dictionary or jieba does (tokens made before are stale)."""
        # "places uncounted": place names leave the dictionary's total as it was
        payload = "\n".join(
            [jieba.__version__, "places uncounted", *DOMAIN_TERMS, *sorted(_CATEGORY)]
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != self.FORMAT or data.get("tokenizer") != self.identity():
                return
            self._cached = {pid: t.split(_SEP) if t else [] for pid, t in data["passages"].items()}
            self._cached_words = set(data["words"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            _log.warning("ignoring the passage token cache %s (%s); rebuilding it", self.path, exc)
            self._cached, self._cached_words = {}, set()

    def _save(self) -> None:
        if self.path is None:
            return
        data = {
            "format": self.FORMAT,
            "tokenizer": self.identity(),
            "words": sorted(self._cached_words),
            "passages": {pid: _SEP.join(tokens) for pid, tokens in self._cached.items()},
        }
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.path)  # readers see the old file or the new one, never half
        except OSError as exc:  # a read-only store still answers; it just loads slower
            _log.warning("cannot save the passage token cache %s: %s", self.path, exc)
            with contextlib.suppress(OSError):
                tmp.unlink()


_SEP = "\x1f"  # tokens hold letters and digits (see Tokenizer.words), never this
_log = logging.getLogger(__name__)
