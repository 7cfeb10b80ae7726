"""Reports in traditional characters (繁體): converted to simplified for matching names only.

The stored text, the title and citation offsets stay as the file has them; only the copies that
metadata matches against the gazetteer are converted (OpenCC's t2s table).
"""

from __future__ import annotations

from functools import cache

# a simplified text converts to itself but for a few characters t2s also maps, some of them
# in place names (藉口镇 → 借口镇, 乾县 → 干县): convert only text where enough characters change
# to be traditional writing (there, a third of the characters or more)
_MIN_CHANGED = 2
_MIN_SHARE = 0.1


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
    chinese = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    traditional = changed >= _MIN_CHANGED and changed >= _MIN_SHARE * chinese
    return converted if traditional else text
