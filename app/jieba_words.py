"""jieba's word frequencies read a word at a time, so a fresh process need not load them all.

jieba keeps its dictionary as one dict of ~600,000 words and their prefixes (`FREQ`), loaded
from its marshal cache in ~0.6 s: the largest fixed cost left in a fresh `fazhi ask`, which
cuts one question and so looks up a few thousand words. `WordFrequencies` stands in for that
dict: each word is read from an SQLite copy of it (built once per jieba dictionary, in fazhi's
cache) the first time it is asked for. Words a tokenizer adds (`add`) are kept as jieba's
`add_word` keeps them, with their prefixes counting 0 where the dictionary has none, so every
lookup gives what the whole dict would. After `LOAD_ALL_AFTER` words read from the table (an
index being built cuts every passage), the whole dict is loaded and put in its place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import threading
import warnings
from pathlib import Path
from typing import Any

from app.gc_pause import collection_paused
from vectorstore.embeddings import fazhi_cache_dir
from vectorstore.sqlite_file import built, read_only

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # jieba imports the deprecated pkg_resources
    import jieba

FORMAT = 1
LOAD_ALL_AFTER = 20_000  # words read from the table before the whole dictionary is loaded
_log = logging.getLogger(__name__)


def _identity() -> str:
    source = Path(jieba.__file__).with_name("dict.txt")
    stat = source.stat()
    about = [FORMAT, jieba.__version__, str(source), stat.st_size, stat.st_mtime_ns, stat.st_ino]
    return json.dumps(about)


def initialize(owner: jieba.Tokenizer) -> None:
    """Load jieba's whole dictionary into `owner`, as `jieba.Tokenizer.initialize` does."""
    # ~600,000 objects: with the collector running their creation sets off full collections
    with collection_paused():
        owner.initialize()


def _whole_dictionary() -> tuple[dict[str, int], int]:
    """jieba's own dictionary (FREQ, total)."""
    loaded = jieba.Tokenizer()
    initialize(loaded)
    return loaded.FREQ, loaded.total


_unwritable: set[Path] = set()  # cache folders this process could not write


def table(cache_dir: Path | None = None) -> Path:
    """The SQLite copy of jieba's dictionary for this jieba and dict.txt, built if missing."""
    identity = _identity()
    key = hashlib.sha256(identity.encode()).hexdigest()[:16]
    path = (cache_dir or fazhi_cache_dir()) / f"jieba-words-{key}.sqlite"
    if _settings(path) == identity:
        return path
    if path.parent in _unwritable:
        raise OSError(f"{path.parent} could not be written earlier in this process")
    try:  # before the 1 s load: a cache that cannot be written falls back once, not twice
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.probe")
        probe.touch()
        probe.unlink()
    except OSError:
        _unwritable.add(path.parent)
        raise
    words, total = _whole_dictionary()
    with built(path) as db:
        db.execute("CREATE TABLE settings (identity TEXT, total INTEGER)")
        db.execute("CREATE TABLE words (word TEXT PRIMARY KEY, freq INTEGER) WITHOUT ROWID")
        db.execute("INSERT INTO settings VALUES (?, ?)", (identity, total))
        db.executemany("INSERT INTO words VALUES (?, ?)", words.items())
    return path


def _connect(path: Path) -> sqlite3.Connection:
    return read_only(path, check_same_thread=False)


def _settings(path: Path) -> str | None:
    """The identity of the dictionary the table at `path` was built from (None: no table)."""
    if not path.is_file():
        return None
    try:
        with contextlib.closing(_connect(path)) as db:
            row = db.execute("SELECT identity FROM settings").fetchone()
        return str(row[0]) if row else None
    except sqlite3.Error as exc:
        _log.warning("rebuilding jieba's word table %s (%s)", path, exc)
        return None


class WordFrequencies(dict):  # type: ignore[type-arg]
    """A jieba tokenizer's `FREQ`, reading the dictionary's words from `table` as asked.

    The dict itself holds the words added (`add`); words read from the table are kept in
    `_read` (a word the table lacks, as None).
    """

    def __init__(self, owner: jieba.Tokenizer, path: Path) -> None:
        super().__init__()
        self._owner = owner
        self._db = _connect(path)
        self._lock = threading.Lock()
        self._read: dict[str, int | None] = {}
        self._prefixes: set[str] = set()  # of added words: 0 where the dictionary has none
        row = self._db.execute("SELECT identity, total FROM settings").fetchone()
        if row is None or row[0] != _identity():
            raise sqlite3.DatabaseError(f"{path} is not a table of this jieba dictionary")
        self.total = int(row[1])

    @classmethod
    def install(cls, owner: jieba.Tokenizer) -> bool:
        """Give `owner` (not initialised) these frequencies; False if the table is unusable
        (then the caller initialises it as jieba does)."""
        try:
            words = cls(owner, table())
        except (OSError, sqlite3.Error) as exc:
            _log.warning("loading jieba's whole dictionary (%s)", exc)
            return False
        owner.FREQ, owner.total, owner.initialized = words, words.total, True
        return True

    def add(self, word: str, freq: int, *, counted: bool = True) -> None:
        """What `jieba.Tokenizer.add_word(word, freq)` does (no tag, freq > 0); without
        `counted`, the dictionary's total stays as it was."""
        dict.__setitem__(self, word, freq)
        if counted:
            self._owner.total += freq
        self._prefixes.update(word[: i + 1] for i in range(len(word)))

    def _find(self, word: str) -> int | None:
        if dict.__contains__(self, word):
            return int(dict.__getitem__(self, word))
        if word in self._read:
            found = self._read[word]
        else:
            with self._lock:
                row = self._db.execute("SELECT freq FROM words WHERE word = ?", (word,)).fetchone()
                found = self._read[word] = None if row is None else int(row[0])
                if len(self._read) == LOAD_ALL_AFTER:
                    self._load_all()
        if found is None and word in self._prefixes:
            return 0
        return found

    def _load_all(self) -> None:
        """Put the whole dictionary, with the words added, in the owner's place of this one."""
        words, _ = _whole_dictionary()
        words.update(dict(self.items()))
        for prefix in self._prefixes:
            words.setdefault(prefix, 0)
        self._owner.FREQ = words  # from its next lookup on, jieba reads a plain dict

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._find(word) is not None

    def __getitem__(self, word: str) -> int:
        found = self._find(word)
        if found is None:
            raise KeyError(word)
        return found

    def get(self, word: str, default: Any = None) -> Any:  # type: ignore[override]
        found = self._find(word)
        return default if found is None else found
