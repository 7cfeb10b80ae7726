"""A local store's few records a fresh question needs, read from Chroma's SQLite file directly.

A fresh `fazhi ask` over a store whose index snapshot is current reads only three things from
Chroma: the settings that built the store, its version token and whether it has passages.
Importing chromadb and langchain-chroma and opening the client for that costs ~1.5 s of a
~5 s process, so a local folder store reads them from `chroma.sqlite3` with Python's sqlite3,
read-only, and opens Chroma only when something else is needed.

This reads Chroma's own tables (chromadb 1.x: `collections`, `segments`, `embeddings`,
`embedding_metadata`, and its write log `embeddings_queue` with `max_seq_id`). Anything not as
expected gives None and the caller asks Chroma, so a changed schema costs speed, never a wrong
answer; so does a record Chroma has logged but not yet applied to the table read here (a
write under way in another process), which would otherwise read stale.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from vectorstore.sqlite_file import read_only

FILE = "chroma.sqlite3"
_DATABASE = ("default_tenant", "default_database")  # where a PersistentClient keeps collections
T = TypeVar("T")


def _connect(folder: Path) -> sqlite3.Connection | None:
    path = Path(folder) / FILE
    if not path.is_file():
        return None
    try:
        return read_only(path, timeout=10)
    except sqlite3.Error:
        return None


def _segment(db: sqlite3.Connection, collection: str) -> str | None:
    """The id of `collection`'s metadata segment, if its table holds every logged write."""
    rows = db.execute(
        "SELECT s.id, c.id FROM segments s JOIN collections c ON c.id = s.collection "
        "JOIN databases d ON d.id = c.database_id "
        "WHERE d.tenant_id = ? AND d.name = ? AND c.name = ? AND s.scope = 'METADATA'",
        (*_DATABASE, collection),
    ).fetchall()
    if len(rows) != 1:
        return None
    segment, collection_id = rows[0]
    applied = db.execute(
        "SELECT seq_id FROM max_seq_id WHERE segment_id = ?", (segment,)
    ).fetchall()
    logged = db.execute(
        "SELECT max(seq_id) FROM embeddings_queue WHERE topic LIKE ?", (f"%/{collection_id}",)
    ).fetchone()[0]
    done = applied[0][0] if applied else None
    if logged is not None and not (isinstance(done, int) and done >= logged):
        return None  # a write is logged but not yet in the table read here
    return str(segment)


def _record(db: sqlite3.Connection, segment: str, record_id: str) -> dict[str, Any] | None:
    rows = db.execute(
        "SELECT m.key, m.string_value, m.int_value, m.float_value, m.bool_value "
        "FROM embeddings e JOIN embedding_metadata m ON m.id = e.id "
        "WHERE e.segment_id = ? AND e.embedding_id = ?",
        (segment, record_id),
    ).fetchall()
    out: dict[str, Any] = {}
    for key, text, integer, real, flag in rows:
        values = [v for v in (text, integer, real) if v is not None]
        if flag is not None:
            values.append(bool(flag))
        if len(values) != 1:
            raise ValueError(f"metadata {key!r} of {record_id!r} holds {len(values)} values")
        out[key] = values[0]
    return out or None


def records(folder: Path, collection: str, ids: list[str]) -> dict[str, Any] | None:
    """{id: its metadata, or None if there is no such record}, or None when the file cannot be
    read this way (then ask Chroma)."""
    return _read(folder, collection, lambda db, seg: {i: _record(db, seg, i) for i in ids})


def count(folder: Path, collection: str) -> int | None:
    """How many records `collection` holds, or None (then ask Chroma)."""

    def rows(db: sqlite3.Connection, segment: str) -> int:
        sql = "SELECT count(*) FROM embeddings WHERE segment_id = ?"
        return int(db.execute(sql, (segment,)).fetchone()[0])

    return _read(folder, collection, rows)


def _read(folder: Path, collection: str, read: Callable[[sqlite3.Connection, str], T]) -> T | None:
    db = _connect(folder)
    if db is None:
        return None
    try:
        with db:  # one read transaction: the records and the log check see the same state
            db.execute("BEGIN")
            segment = _segment(db, collection)
            return None if segment is None else read(db, segment)
    except (sqlite3.Error, ValueError, TypeError):
        return None
    finally:
        db.close()
