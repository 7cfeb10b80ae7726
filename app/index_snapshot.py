"""The retrieval index on disk, so a new process answers without rebuilding it from the store.

A folder per store version under the store's index folder (`snapshot/<version>/`, see
`PassageStore.index_dir`): passage vectors and word vectors as .npy files, the BM25 index in
bm25s's own files, passage texts and metadata as one byte file each with offsets, the metadata
columns filters use, each passage's start offset and sentences (format 2, SENTENCE_KINDS; an
older folder gets them made again on first read, `_upgrade`). Everything large is
memory-mapped on load, so opening it costs milliseconds and processes on one machine share its
pages.

A folder is written whole into a temporary folder and renamed into place, and it is only ever
used for the store version it is named after: a store that changed since (an ingest, a removal, a
metadata edit) has another version, and the index is built again. A folder that fails to load
(a missing or truncated file) is logged and rebuilt.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import json
import logging
import mmap
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import bm25s
import numpy as np

from app.sentences import quotable_rows, section_title, sentence_rows
from vectorstore import StoredPassage, fastjson

if TYPE_CHECKING:
    from app.retrieval import Snapshot

FORMAT = 2  # 2: the passages' start offsets and sentences (1 is upgraded)
# which kinds of sentence the sentence arrays tell apart (`sentences.SECTION_TITLE` since 2): a
# stamp key, not a format, so an older fazhi still reads the folder (as headings) rather than
# rebuilding it and replacing this one's
SENTENCE_KINDS = 2
STAMP = "snapshot.json"  # written last: a folder without it is incomplete
STRING_COLUMNS = ("township", "county", "province", "report_id", "section")
# between passage texts (in the texts file and in `PassageTable.joined`): no word holds it, so
# no word searched for spans two passages
SEPARATOR = "\x1f"
_SEP = SEPARATOR.encode()
_HEADING_KEY = b'"heading": "'  # in a passage's record, as `json.dumps` writes it
_TEMP_PREFIX = ".building-"
_TEMP_EXPIRES = 3600  # a temporary folder this old is from a writer that died
# a scan of the texts (`PassageTable.count_containing`) is cut into parts of at least this
# many bytes, scanned side by side
SCAN_PART = 64 << 20
# passages kept once made (their text and metadata decoded when read, ~2.5 KB each): ~1 GB at
# most, the passages of ~8 corpus-wide questions at 50,000 reports
MADE_KEPT = 400_000
_log = logging.getLogger(__name__)


class PassageTable(Sequence[StoredPassage]):
    """The snapshot's passages, made into `StoredPassage`s when first asked for.

    Texts and metadata stay encoded in two byte buffers (memory-mapped files, or bytes for a
    snapshot that could not be saved); `text_starts[i]` is where passage i's text begins and
    `text_starts[i + 1] - 1` where it ends (a separator byte follows each text). A passage's
    metadata is decoded when first read. What a corpus-wide question reads of every candidate
    is kept as arrays: where each passage starts in its report (`report_offsets`) and its
    sentences (`sentences`: rows of start, end, kind in the passage's text, as
    `sentences.sentence_rows` gives them; passage i's are rows `sentence_starts[i]` to
    `sentence_starts[i + 1]`), from which the quotable ones follow.
    """

    def __init__(
        self,
        texts: bytes | mmap.mmap,
        text_starts: np.ndarray,
        records: bytes | mmap.mmap,
        record_starts: np.ndarray,
        *,
        report_offsets: np.ndarray,
        sentences: np.ndarray,
        sentence_starts: np.ndarray,
    ) -> None:
        self.texts = texts
        self.text_starts = text_starts
        self.records = records
        self.record_starts = record_starts
        self.report_offsets = report_offsets
        self.sentences = sentences
        self.sentence_starts = sentence_starts
        self._made: list[StoredPassage | None] = [None] * (len(text_starts) - 1)
        self._made_count = 0  # passages made since the list was last emptied (MADE_KEPT)

    @classmethod
    def of(cls, passages: Sequence[StoredPassage]) -> PassageTable:
        texts = [p.text.encode("utf-8") for p in passages]
        records = [json.dumps([p.id, p.meta], ensure_ascii=False).encode("utf-8") for p in passages]
        table = cls(
            _SEP.join([*texts, b""]),
            starts_of(texts),
            b"\n".join([*records, b""]),
            starts_of(records),
            **sentence_arrays((p.text, section_title(p.meta)) for p in passages),
            report_offsets=report_offsets(p.meta for p in passages),
        )
        table._made = list(passages)
        return table

    def __len__(self) -> int:
        return len(self._made)

    @overload
    def __getitem__(self, i: int) -> StoredPassage: ...
    @overload
    def __getitem__(self, i: slice) -> list[StoredPassage]: ...
    def __getitem__(self, i: int | slice) -> StoredPassage | list[StoredPassage]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        made = self._made[i]
        if made is None:
            made = _MappedPassage(self, i)
            if self._made_count >= MADE_KEPT:
                # a long-running server would in time hold every passage it ever read, with
                # its text: the list lets go of those made so far (those an answer still holds
                # live on). Threads racing here at worst make a passage twice: harmless
                self._made = [None] * len(self._made)
                self._made_count = 0
            self._made[i] = made
            self._made_count += 1
        return made

    def __iter__(self) -> Iterator[StoredPassage]:
        return (self[i] for i in range(len(self)))

    def text(self, i: int) -> str:
        return self._slice(self.texts, self.text_starts, i).decode("utf-8")

    def joined(self, rows: np.ndarray) -> tuple[str, np.ndarray]:
        """The texts of passages `rows` joined with a separator, and where each begins in it
        (`starts[p]`; text p ends at `starts[p + 1] - 1`)."""
        rows = np.asarray(rows, dtype=np.int64)
        first, last = self.text_starts[rows], self.text_starts[rows + 1] - 1
        texts = self.texts  # slices of the mapped file are copied out faster than viewed
        # decoded one by one, their lengths are the offsets (no split of the joined text,
        # which a text holding the separator itself would throw off)
        pieces = [texts[a:b].decode() for a, b in zip(first.tolist(), last.tolist(), strict=True)]
        return SEPARATOR.join(pieces), starts_of(pieces)

    def sentences_of(self, i: int) -> list[tuple[int, int]]:
        """Passage i's sentences (`sentence_spans` of its text)."""
        rows = self.sentences[int(self.sentence_starts[i]) : int(self.sentence_starts[i + 1])]
        return [(a, b) for a, b, _ in rows.tolist()]

    def sentence_table(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sentences of passages `rows` (start, end, kind), one passage after another,
        and how many each has."""
        first, last = self.sentence_starts[rows], self.sentence_starts[rows + 1]
        counts = last - first
        at = np.arange(int(counts.sum())) + np.repeat(first - (np.cumsum(counts) - counts), counts)
        return self.sentences[at], counts

    def quotable_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The quotable sentences of passages `rows`, one after another, and how many each has."""
        return quotable_rows(*self.sentence_table(rows))

    def heading_of(self, i: int) -> str:
        """Passage i's `heading` metadata, read from its record without decoding the rest (a
        practice question asks it of 10,000s of candidates, most never cited)."""
        record = self._slice(self.records, self.record_starts, i)
        at = record.find(_HEADING_KEY)
        if at >= 0:
            start = at + len(_HEADING_KEY)
            end = record.find(b'"', start)
            value = record[start:end]
            if end >= 0 and b"\\" not in value:  # an escape in it: decoded properly below
                return value.decode("utf-8")
        return str(self[i].meta.get("heading", ""))

    @staticmethod
    def _slice(buffer: bytes | mmap.mmap, starts: np.ndarray, i: int) -> bytes:
        return buffer[int(starts[i]) : int(starts[i + 1]) - 1]

    def count_containing(self, variants: Sequence[str]) -> int:
        """How many passages contain any of the strings (a scan of the text bytes, in parts
        side by side where C's memmem does the scan: it lets other threads run)."""
        if any(not v for v in variants):
            return len(self)
        needles = [v.encode("utf-8") for v in variants]
        # a part holds whole passages: a string running over the separator is sought in one
        parts = (
            self._scan_parts() if not any(_SEP in n for n in needles) else [(0, len(self.texts))]
        )
        if len(parts) == 1:
            return len(self._holding(needles, *parts[0]))
        with ThreadPoolExecutor(len(parts)) as pool:
            held = pool.map(lambda part: self._holding(needles, *part), parts)
            return len(set().union(*held))

    def _scan_parts(self) -> list[tuple[int, int]]:
        """The texts' bytes cut into one range per CPU (at least SCAN_PART bytes each), each
        holding whole passages."""
        size = len(self.texts)
        n = min(_cpus(), size // SCAN_PART) if _MEMMEM is not None else 1
        if n <= 1:
            return [(0, size)]
        near = np.searchsorted(self.text_starts, np.linspace(0, size, n + 1)[1:-1])
        bounds = [0, *self.text_starts[near].tolist(), size]
        return list(itertools.pairwise(bounds))

    def _holding(self, needles: list[bytes], start: int, stop: int) -> set[int]:
        """The passages in bytes `start` to `stop` of the texts that hold any of the needles."""
        found: set[int] = set()
        ends = self.text_starts
        find = _finder(self.texts)
        for needle in needles:
            at = find(needle, start, stop)
            while at >= 0:
                i = int(np.searchsorted(ends, at, side="right")) - 1
                found.add(i)
                at = find(needle, int(ends[i + 1]), stop)  # on in the next passage
        return found


class _MappedPassage(StoredPassage):
    """A snapshot passage whose id, text and metadata are decoded from the mapped files when
    first read: a corpus-wide question makes a passage of each report's best candidates and
    reads the text or metadata of few."""

    def __init__(self, table: PassageTable, i: int) -> None:
        self._table, self._i = table, i
        self.embedding = None

    def _record(self) -> bytes:
        return self._table._slice(self._table.records, self._table.record_starts, self._i)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled or copied, it is a plain passage (the mapped files stay behind)
        return (StoredPassage, (self.id, self.text, self.meta, self.embedding))

    @property  # type: ignore[override]
    def id(self) -> str:
        if "_id" not in self.__dict__:
            record = self._record()
            end = record.find(b'"', 2)  # the record is ["<id>", {...}]
            pid = record[2:end]
            if end < 0 or b"\\" in pid:  # an id with escapes: decode it properly
                self._id = str(json.loads(record)[0])
            else:
                self._id = pid.decode("utf-8")
        return self._id

    @id.setter
    def id(self, value: str) -> None:
        self._id = value

    @property  # type: ignore[override]
    def text(self) -> str:
        if "_text" not in self.__dict__:
            self._text = self._table.text(self._i)
        return self._text

    @text.setter
    def text(self, value: str) -> None:
        self._text = value

    @property  # type: ignore[override]
    def meta(self) -> dict[str, Any]:
        if "_meta" not in self.__dict__:
            self._meta = fastjson.loads(self._record())[1]
        return self._meta

    @meta.setter
    def meta(self, value: dict[str, Any]) -> None:
        self._meta = value


def report_offsets(metas: Iterable[dict[str, Any]]) -> np.ndarray:
    """Where each passage starts in its report (its metadata's `start`)."""
    return np.array([int(m.get("start", 0)) for m in metas], dtype=np.int64)


def sentence_arrays(passages: Iterable[tuple[str, str]]) -> dict[str, np.ndarray]:
    """The sentences of passages (text, `section_title`) as arrays: `sentences` and
    `sentence_starts` (see `PassageTable`)."""
    rows: list[tuple[int, int, int]] = []
    counts = [0]
    for text, section in passages:
        sentences = sentence_rows(text, section)
        rows.extend(sentences)
        counts.append(len(sentences))
    return {
        "sentences": np.array(rows, dtype=np.int32).reshape(-1, 3),
        "sentence_starts": np.cumsum(counts, dtype=np.int64),
    }


def starts_of(chunks: Sequence[Sized]) -> np.ndarray:
    """Start offsets of chunks joined with one separator after each (and the end): bytes in
    the texts file, characters in `PassageTable.joined`."""
    starts = np.zeros(len(chunks) + 1, dtype=np.int64)
    np.cumsum([len(c) + 1 for c in chunks], out=starts[1:])
    return starts


def columns_of(passages: Sequence[StoredPassage]) -> dict[str, np.ndarray]:
    """The metadata columns filters use: strings (object arrays) and the year (int32)."""
    columns = {
        key: np.array([p.meta.get(key, "") for p in passages], dtype=object)
        for key in STRING_COLUMNS
    }
    columns["year"] = np.array([int(p.meta.get("year") or 0) for p in passages], dtype=np.int32)
    return columns


# -- on disk ---------------------------------------------------------------------------------
def write(root: Path, snap: Snapshot, identity: dict[str, Any]) -> Path | None:
    """Save `snap` as `root/<version>/`, atomically; None (and a log line) if it cannot be.

    `identity` says what else the index depends on (the tokenizer); a folder whose identity
    differs is not used.
    """
    target = root / snap.version
    try:
        root.mkdir(parents=True, exist_ok=True)
        work = root / f"{_TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        work.mkdir()
    except OSError as exc:
        _log.warning("cannot save the index snapshot in %s (%s); it is kept in memory", root, exc)
        return None
    try:
        _write_files(work, snap, identity)
        with contextlib.suppress(FileNotFoundError):
            # a folder of the same version there is one that failed to load: move it aside
            os.replace(target, root / f"{_TEMP_PREFIX}old-{uuid.uuid4().hex[:8]}")
        os.replace(work, target)
    except OSError as exc:
        _log.warning("cannot save the index snapshot in %s (%s); it is kept in memory", root, exc)
        shutil.rmtree(work, ignore_errors=True)
        return None
    _remove_others(root, keep=target.name)
    return target


def _write_files(work: Path, snap: Snapshot, identity: dict[str, Any]) -> None:
    table = snap.passages if isinstance(snap.passages, PassageTable) else None
    if table is None:
        table = PassageTable.of(snap.passages)
    (work / "texts.bin").write_bytes(bytes(table.texts))
    np.save(work / "text_starts.npy", table.text_starts)
    (work / "records.bin").write_bytes(bytes(table.records))
    np.save(work / "record_starts.npy", table.record_starts)
    _write_sentences(work, table)
    np.save(work / "vectors.npy", np.ascontiguousarray(snap.vectors, dtype=np.float32))
    np.save(work / "report_index.npy", np.asarray(snap.report_index, dtype=np.int64))
    np.save(work / "word_vectors.npy", np.asarray(snap.word_vectors, dtype=np.float32))
    labels: dict[str, list[str]] = {}
    for key in STRING_COLUMNS:
        values, codes = np.unique(snap.meta_columns[key].astype(str), return_inverse=True)
        labels[key] = values.tolist()
        np.save(work / f"column_{key}.npy", codes.astype(np.int32))
    np.save(work / "column_year.npy", snap.meta_columns["year"].astype(np.int32))
    if snap.bm25 is not None:
        snap.bm25.save(work / "bm25", show_progress=False)
    _write_json(work / "labels.json", labels)
    _write_json(work / "vocabulary.json", snap.vocabulary)
    files = {
        str(p.relative_to(work)): p.stat().st_size for p in sorted(work.rglob("*")) if p.is_file()
    }
    stamp = {
        "format": FORMAT,
        "sentence_kinds": SENTENCE_KINDS,
        "version": snap.version,
        "passages": len(snap.passages),
        **identity,
        "files": files,
    }
    _write_json(work / STAMP, stamp)


SENTENCE_FILES = ("report_offsets.npy", "sentences.npy", "sentence_starts.npy")


def _write_sentences(folder: Path, table: PassageTable) -> None:
    """The passages' report offsets and sentences, each file written aside and moved into
    place: a process mapping the folder's copy keeps reading its own (a file emptied under a
    mapping kills the process)."""
    arrays = (
        np.asarray(table.report_offsets, dtype=np.int64),
        np.asarray(table.sentences, dtype=np.int32),
        np.asarray(table.sentence_starts, dtype=np.int64),
    )
    for name, values in zip(SENTENCE_FILES, arrays, strict=True):
        aside = folder / f".{name}.{uuid.uuid4().hex[:8]}"
        try:
            with aside.open("wb") as f:
                np.save(f, values)
            os.replace(aside, folder / name)
        finally:
            aside.unlink(missing_ok=True)


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")


def _remove_others(root: Path, *, keep: str) -> None:
    """Delete the folders of other versions (stale now) and abandoned temporary folders.

    A process still using an older version keeps its memory-mapped files until it lets go.
    """
    now = time.time()
    for entry in root.iterdir():
        if entry.name == keep or not entry.is_dir():
            continue
        building = entry.name.startswith(_TEMP_PREFIX) and not entry.name.startswith(
            f"{_TEMP_PREFIX}old-"
        )
        with contextlib.suppress(OSError):
            if building and now - entry.stat().st_mtime < _TEMP_EXPIRES:
                continue  # another process is writing it
            shutil.rmtree(entry, ignore_errors=True)


def read(root: Path, version: str, identity: dict[str, Any]) -> Snapshot | None:
    """The snapshot saved for store `version`, memory-mapped; None if there is none to use.

    A folder for this version that does not load (a file missing, truncated or unreadable) is
    logged and ignored, to be written again.
    """
    folder = root / version
    stamp_path = folder / STAMP
    if not stamp_path.is_file():
        return None
    try:
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
        if stamp.get("format") not in (1, FORMAT) or any(
            stamp.get(k) != v for k, v in identity.items()
        ):
            return None  # made by another fazhi or tokenizer: rebuilt, not an error
        if stamp["version"] != version:
            raise ValueError(f"it is stamped with store version {stamp['version']}")
        for name, size in stamp["files"].items():
            got = (folder / name).stat().st_size
            if got != size:
                raise ValueError(f"{name} has {got} bytes, {size} were written")
        if stamp["format"] != FORMAT or stamp.get("sentence_kinds") != SENTENCE_KINDS:
            return _upgrade(folder, stamp)
        return _read_files(folder, stamp)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        _log.warning(
            "the index snapshot in %s is unusable (%s: %s); rebuilding it",
            folder,
            type(exc).__name__,
            exc,
        )
        return None


def _read_files(
    folder: Path, stamp: dict[str, Any], *, table: PassageTable | None = None
) -> Snapshot:
    from app.retrieval import Snapshot

    def array(name: str) -> np.ndarray:
        # np.asarray: a plain ndarray over the mapped pages (results of arithmetic on it too)
        try:
            return np.asarray(np.load(folder / name, mmap_mode="r", allow_pickle=False))
        except ValueError:  # an empty array cannot be mapped
            return np.load(folder / name, allow_pickle=False)

    n = int(stamp["passages"])
    if table is None:
        table = PassageTable(
            _map(folder / "texts.bin"),
            array("text_starts.npy"),
            _map(folder / "records.bin"),
            array("record_starts.npy"),
            report_offsets=array("report_offsets.npy"),
            sentences=array("sentences.npy"),
            sentence_starts=array("sentence_starts.npy"),
        )
    if not (len(table.report_offsets) == len(table.sentence_starts) - 1 == n):
        raise ValueError(f"its sentence files disagree on the number of passages ({n} stamped)")
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    columns = {
        key: np.asarray(labels[key] or [""], dtype=object)[array(f"column_{key}.npy")]
        for key in STRING_COLUMNS
    }
    columns["year"] = array("column_year.npy")
    vectors = array("vectors.npy")
    report_index = array("report_index.npy")
    if not (len(table) == len(vectors) == len(report_index) == n):
        raise ValueError(f"its files disagree on the number of passages ({n} stamped)")
    bm25 = None
    if (folder / "bm25").is_dir():
        bm25 = bm25s.BM25.load(folder / "bm25", mmap=True, show_progress=False)
    return Snapshot(
        table,
        vectors,
        bm25,
        str(stamp["version"]),
        columns,
        report_index,
        vocabulary=json.loads((folder / "vocabulary.json").read_text(encoding="utf-8")),
        word_vectors=array("word_vectors.npy"),
    )


def _upgrade(folder: Path, stamp: dict[str, Any]) -> Snapshot:
    """A folder written by an older fazhi (format 1: no sentence arrays; format 2 before
    SENTENCE_KINDS: no section titles among them): they are made from its passages and
    written, so a large index is not built again (~3 s per 10,000 reports instead of minutes).
    A folder that cannot be written to gets them in memory, each time it is opened. Two
    processes upgrading at once write the same files; each moves its own into place."""
    started = time.perf_counter()
    texts, text_starts = _map(folder / "texts.bin"), np.load(folder / "text_starts.npy")
    records, record_starts = _map(folder / "records.bin"), np.load(folder / "record_starts.npy")
    rows = range(len(text_starts) - 1)
    metas = (fastjson.loads(PassageTable._slice(records, record_starts, i))[1] for i in rows)
    starts, sections = [], []  # of every metadata, only these two are kept
    for meta in metas:
        starts.append({"start": meta.get("start", 0)})
        sections.append(section_title(meta))
    upgraded = PassageTable(
        texts,
        text_starts,
        records,
        record_starts,
        report_offsets=report_offsets(starts),
        **sentence_arrays(
            (PassageTable._slice(texts, text_starts, i).decode(), sections[i]) for i in rows
        ),
    )
    work = folder / f".{STAMP}.{uuid.uuid4().hex[:8]}"
    try:
        _write_sentences(folder, upgraded)
        files = {name: (folder / name).stat().st_size for name in SENTENCE_FILES}
        stamp = {
            **stamp,
            "format": FORMAT,
            "sentence_kinds": SENTENCE_KINDS,
            "files": {**stamp["files"], **files},
        }
        _write_json(work, stamp)
        os.replace(work, folder / STAMP)
    except OSError as exc:
        work.unlink(missing_ok=True)
        _log.warning("cannot add the sentence arrays to %s (%s); made in memory", folder, exc)
        return _read_files(folder, stamp, table=upgraded)
    _log.info(
        "index snapshot %s upgraded to format %d in %.1f s",
        folder.name,
        FORMAT,
        time.perf_counter() - started,
    )
    return _read_files(folder, stamp)


def _libc_memmem() -> Any:
    """C's memmem, where the C library has it (glibc, musl, macOS; not Windows), else None."""
    if os.name != "posix":
        return None
    try:
        memmem = ctypes.CDLL(None).memmem  # the C library the interpreter is linked with
    except (OSError, AttributeError, TypeError):
        return None
    memmem.restype = ctypes.c_void_p
    memmem.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t)
    return memmem


_MEMMEM = _libc_memmem()


def _finder(buffer: bytes | mmap.mmap) -> Callable[[bytes, int, int], int]:
    """`buffer.find(needle, start, stop)`, by C's memmem when there is one: two to three times
    faster over a whole snapshot's texts (a word no passage holds is looked for in all of
    them: ~0.25 s over 50,000 reports with `find`), and other threads run meanwhile."""
    if _MEMMEM is None or not len(buffer):
        return buffer.find
    view = np.frombuffer(buffer, dtype=np.uint8)
    base = view.ctypes.data

    def find(needle: bytes, start: int, stop: int, view: np.ndarray = view) -> int:
        # `view` is kept with the function: the buffer cannot be closed while it is in use
        if start >= stop:
            return -1
        at = _MEMMEM(base + start, stop - start, needle, len(needle))
        return at - base if at else -1

    return find


def _cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _map(path: Path) -> bytes | mmap.mmap:
    with path.open("rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return b""  # an empty file cannot be mapped
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
