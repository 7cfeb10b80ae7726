"""Reading the JSON fazhi writes for the store's reports and the snapshot's passages.

A corpus-wide answer at 50,000 reports reads 100,000s of these records; orjson (a dependency
of chromadb) reads them twice as fast as `json`. What it refuses (NaN, lone surrogates) is read
by `json`, as before. (orjson reads an integer beyond 64 bits as a float; fazhi's records hold
none: offsets, years and counts.)
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(data: bytes | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)
