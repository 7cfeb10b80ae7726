"""The offline model's tokenizer for a few short texts, without loading its 250,000 pieces.

`tokenizers` takes ~0.8 s to read the built model's 16 MB `tokenizer.json` (building the trie of
its 250,000 unigram pieces is most of it): a third of what is left of a fresh `fazhi ask`. A
question only ever uses the pieces that are substrings of its own words, and a unigram
tokenizer's best split of a text is found among exactly those pieces (with the same scores,
and the lowest score of the whole vocabulary, which prices an unknown character). So the
pieces are kept once in an SQLite table beside fazhi's other caches, and each text is
tokenised by a unigram model of the pieces its words hold, built in microseconds, with the
full tokenizer's normaliser and pre-tokenizer; its ids are mapped back to the full
vocabulary's and framed by the template's <s> … </s>.

The table is rebuilt whenever `tokenizer.json` changes (path, size, modification time, inode;
`tokenizers`' version); a text naming a special token, or longer than the truncation length,
goes through the full tokenizer, loaded then.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

from vectorstore.sqlite_file import built, read_only

FORMAT = 1
_log = logging.getLogger(__name__)


class UnsupportedTokenizer(ValueError):
    """A tokenizer.json this reader does not reproduce (then the full tokenizer is used)."""


def _identity(source: Path) -> str:
    import tokenizers

    stat = source.stat()
    about = [FORMAT, str(source.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino]
    return json.dumps([*about, tokenizers.__version__])


def _special(spec: dict[str, Any], name: str) -> int:
    ids = spec["special_tokens"][name]["ids"]
    if len(ids) != 1:
        raise UnsupportedTokenizer(f"special token {name} has ids {ids}")
    return int(ids[0])


def _build(source: Path, target: Path, identity: str) -> None:
    """Write the pieces and the tokenizer's settings of `source` into the SQLite file `target`."""
    data = json.loads(source.read_text(encoding="utf-8"))
    model, post = data.get("model") or {}, data.get("post_processor") or {}
    if (
        model.get("type") != "Unigram"
        or model.get("byte_fallback")
        or post.get("type") != ("TemplateProcessing")
    ):
        raise UnsupportedTokenizer(f"{source}: not a unigram tokenizer with a template")
    single = [
        next(iter(item.values()))["id"] if "SpecialToken" in item else "$A"
        for item in post["single"]
    ]
    if len(single) != 3 or single[1] != "$A":
        raise UnsupportedTokenizer(f"{source}: template {single} is not <s> $A </s>")
    pieces = model["vocab"]
    if len({piece for piece, _ in pieces}) != len(pieces):
        raise UnsupportedTokenizer(f"{source}: a piece is listed twice")
    unk = int(model["unk_id"])
    lowest = min(range(len(pieces)), key=lambda i: pieces[i][1])
    skeleton = {**data, "added_tokens": [], "post_processor": None, "decoder": None}
    skeleton["model"] = {**model, "vocab": [pieces[unk]], "unk_id": 0}
    settings = {
        "identity": identity,
        "skeleton": json.dumps(skeleton, ensure_ascii=False),
        "unk": [unk, *pieces[unk]],
        "lowest": [lowest, *pieces[lowest]],
        "bos": _special(post, single[0]),
        "eos": _special(post, single[2]),
        "added": [t["content"] for t in data.get("added_tokens") or []],
        "longest": max(len(p) for p, _ in pieces),
        "count": len(pieces),
    }
    with built(target) as db:
        db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)")
        db.execute(
            "CREATE TABLE pieces (piece TEXT PRIMARY KEY, id INTEGER, score REAL) WITHOUT ROWID"
        )
        db.executemany(
            "INSERT INTO settings VALUES (?, ?)",
            [(k, json.dumps(v, ensure_ascii=False)) for k, v in settings.items()],
        )
        db.executemany(
            "INSERT INTO pieces VALUES (?, ?, ?)",
            ((piece, i, float(score)) for i, (piece, score) in enumerate(pieces)),
        )


class QuestionTokenizer:
    """`encode(text)` gives the ids `Tokenizer.from_file(source)` (truncation at `max_length`)
    gives, reading only the pieces `text` can use."""

    def __init__(self, source: Path, cache_dir: Path, max_length: int) -> None:
        self.source = Path(source)
        self.max_length = max_length
        self._full: Any = None
        identity = _identity(self.source)
        key = hashlib.sha256(identity.encode()).hexdigest()[:16]
        self.path = Path(cache_dir) / f"question-tokenizer-{key}.sqlite"
        settings = self._settings(identity)
        if settings is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _build(self.source, self.path, identity)
            settings = self._settings(identity)
            if settings is None:
                raise UnsupportedTokenizer(f"{self.path}: unreadable after it was written")
        from tokenizers import Tokenizer

        self._template = Tokenizer.from_str(settings["skeleton"])
        # the unknown piece, and the lowest-scored one (it prices an unknown character)
        self._always = [
            (int(i), str(p), float(s)) for i, p, s in (settings["unk"], settings["lowest"])
        ]
        self._unk = self._always[0][0]
        self._bos, self._eos = int(settings["bos"]), int(settings["eos"])
        self._added = [str(t) for t in settings["added"]]
        self._longest = int(settings["longest"])

    def _settings(self, identity: str) -> dict[str, Any] | None:
        """The table's settings if it was built from this very tokenizer.json, else None."""
        if not self.path.is_file():
            return None
        try:
            with contextlib.closing(self._connect()) as db:
                rows = dict(db.execute("SELECT key, value FROM settings").fetchall())
            settings = {key: json.loads(value) for key, value in rows.items()}
        except (sqlite3.Error, ValueError) as exc:
            _log.warning("rebuilding the question tokenizer table %s (%s)", self.path, exc)
            return None
        return settings if settings.get("identity") == identity else None

    def _connect(self) -> sqlite3.Connection:
        return read_only(self.path)

    def encode(self, text: str) -> list[int]:
        if any(token in text for token in self._added):
            return self._full_ids(text)  # special tokens are split off before normalising
        normalized = self._template.normalizer.normalize_str(text)
        if any(token in normalized for token in self._added):
            return self._full_ids(text)
        words = [w for w, _ in self._template.pre_tokenizer.pre_tokenize_str(normalized)]
        parts = {
            word[i:j]
            for word in words
            for i in range(len(word))
            for j in range(i + 1, min(len(word), i + self._longest) + 1)
        }
        from tokenizers import Tokenizer
        from tokenizers.models import Unigram

        try:
            found = self._pieces(parts)
        except sqlite3.Error as exc:  # the cache file removed or damaged while running
            _log.warning(
                "question tokenizer table %s unreadable (%s): full tokenizer", self.path, exc
            )
            return self._full_ids(text)
        pieces = {i: (piece, score) for i, piece, score in [*self._always, *found]}
        ids = sorted(pieces)
        local = [pieces[i] for i in ids]
        small = Tokenizer(Unigram(local, unk_id=ids.index(self._unk), byte_fallback=False))
        small.normalizer = self._template.normalizer
        small.pre_tokenizer = self._template.pre_tokenizer
        got = small.encode(text, add_special_tokens=False).ids
        if len(got) + 2 > self.max_length:
            return self._full_ids(text)  # truncated: let the full tokenizer decide how
        return [self._bos, *(ids[i] for i in got), self._eos]

    def _pieces(self, parts: set[str]) -> list[tuple[int, str, float]]:
        """(id, piece, score) of those of `parts` that are pieces."""
        out: list[tuple[int, str, float]] = []
        ordered = sorted(parts)
        with contextlib.closing(self._connect()) as db:
            for start in range(0, len(ordered), 900):
                chunk = ordered[start : start + 900]
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT id, piece, score FROM pieces WHERE piece IN ({marks})"
                out += db.execute(sql, chunk).fetchall()
        return out

    def _full_ids(self, text: str) -> list[int]:
        if self._full is None:
            from tokenizers import Tokenizer

            self._full = Tokenizer.from_file(str(self.source))
            self._full.enable_truncation(self.max_length)
        return list(self._full.encode(text).ids)
