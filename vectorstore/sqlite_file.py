"""SQLite files fazhi reads without writing (Chroma's, its own caches) and caches it builds whole.

A cache table is built in a temporary file beside its place and moved there in one step, so a
reader (another process) sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def read_only(path: Path, **options: Any) -> sqlite3.Connection:
    """A connection that cannot write `path` (nor create it)."""
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, **options)


@contextlib.contextmanager
def built(target: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a new file that becomes `target` when the block ends without error."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(tmp)) as db, db:
            yield db
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
