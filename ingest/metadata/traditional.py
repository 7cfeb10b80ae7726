"""Reports in traditional characters (繁體): converted to simplified for matching names only.

The stored text, the title and citation offsets stay as the file has them; only the copies that
metadata matches against the gazetteer are converted (OpenCC's t2s table).
"""

from __future__ import annotations

from functools import cache

# a simplified text converts to itself but for a few characters t2s also maps (乾 → 干):
# convert only text where enough characters change to be traditional writing
_MIN_CHANGED = 2


@cache
def _converter():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """`text` in simplified characters if it is written in traditional ones, else unchanged."""
    if not text or text.isascii():
        return text
    converted = _converter().convert(text)
    if len(converted) != len(text):
        return converted
    changed = sum(1 for a, b in zip(text, converted, strict=True) if a != b)
    return converted if changed >= _MIN_CHANGED else text
