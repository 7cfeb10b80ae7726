"""How telling a question's word is: the rarer among a fixed reference's passages, the heavier.

The reference is the bundled reports (`SAMPLE_CORPUS`), cut into passages as `fazhi ingest`
cuts them by default, and not the store being asked. With the store's own counts a word's
weight moved as reports were added, and with it the verdicts of reports that had not changed
(issue #16: 10 of the bundled reports' grades moved when 120 recombined reports joined them;
with the reference, 2). `DecisionRule`'s shares and floors were calibrated with these weights.

A word the reference never uses weighs as much as one it uses once, or a little more: it is
specific (矛调中心, 电信诈骗), whatever the store holds. Whether the store uses a word at all
is the retriever's to say (`HybridRetriever.document_frequency`).
"""

from __future__ import annotations

import functools
import math

from app.settings import SAMPLE_CORPUS
from ingest.clean import clean_text
from ingest.errors import FazhiError
from ingest.loaders import load_document
from ingest.passages import split_passages
from ingest.sections import split_sections

# A word's share is floored at one passage in 150 (about one report in ten, at ~15 passages a
# report): rarer is no more telling. Over the bundled reports (73 passages) it does not bind.
RAREST_SHARE = 1 / 150


@functools.cache
def reference_passages() -> tuple[str, ...]:
    """The bundled reports' passages' texts (their metadata is not read: not needed)."""
    texts: list[str] = []
    for path in sorted(SAMPLE_CORPUS.glob("*.txt")):
        text = clean_text(load_document(path).text)
        texts.extend(p.text for p in split_passages(path.stem, text, split_sections(text)))
    if not texts:
        raise FazhiError(
            f"no reports in {SAMPLE_CORPUS}: question words are weighed by the bundled"
            " reports there; reinstall fazhi (`make install`) to restore them"
        )
    return tuple(texts)


@functools.lru_cache(maxsize=65536)
def passage_share(variants: tuple[str, ...]) -> float:
    """The smoothed share of reference passages holding any of `variants` (a word's forms),
    found as strings (the store's counts go by its BM25 words, and miss a few)."""
    passages = reference_passages()
    holding = sum(1 for text in passages if any(v in text for v in variants))
    return max((holding + 0.5) / (len(passages) + 1), RAREST_SHARE)


def word_weight(word: str, variants: tuple[str, ...]) -> float:
    """IDF-like weight of `word`, found in text as any of `variants`; longer words are the
    specific ones (法律明白人 vs 培养), and a word in letters (media, APP) is one word, however
    many letters it has."""
    length = 2 if word.isascii() and word.isalpha() else len(word)
    return math.log(1 + 1 / passage_share(variants)) * (1 + 0.5 * max(length - 2, 0))
