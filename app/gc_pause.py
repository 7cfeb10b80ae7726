"""Python's cycle collector held off while an answer is composed.

A corpus-wide answer at 10,000 reports makes ~100,000 objects that live until it is done (hits,
citations, verdicts); their number alone set off full collections, each rescanning every passage
made from the snapshot since it was opened (0.1-0.5 s a question). Reference counting frees
them when the answer is done, so the collector waits until no answer is being composed.

When it resumes, what the answer left alive (the answer itself, passages read from the snapshot)
would be scanned by the next young collection and again by older ones (0.05-0.2 s after an
answer at 50,000 reports). It is frozen instead (`gc.freeze`, as the retriever freezes what it
loads). Garbage cycles are still freed:
- what was made between two answers is collected (young generations only) when the next one
  begins, before that answer's end freezes it;
- every FULL_EVERY answers that end alone, everything is unfrozen, collected in full and frozen
  again (the cost of one full collection, 0.3-0.8 s at 50,000 reports).

The pause is process-wide. Answers that overlap without end (a busy web app) would hold it off
for good, so each answer that ends while others go on collects the young generations, and every
FULL_EVERY such ends a full collection runs. Never hold the pause across a `yield`: a stream
abandoned by its reader would leave the collector off. A program that freezes objects of its
own would see them unfrozen, collected and frozen again every FULL_EVERY answers.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

FULL_EVERY = 50


class _Pause:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.composing = 0  # answers being composed, in any thread
        self.was_enabled = False
        self.overlapped = 0  # answers that ended while others went on, since a full collection
        self.alone = 0  # answers that ended with none going on, since a full collection

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        young = False
        with self.lock:
            if self.composing == 0:
                self.was_enabled = young = gc.isenabled()
                gc.disable()
            self.composing += 1
        if young:  # outside the lock (a finalizer may start an answer); the collector is off
            gc.collect(1)
        try:
            yield
        finally:
            generation = None
            thaw = False
            with self.lock:
                self.composing -= 1
                if self.composing == 0 and self.was_enabled:
                    self.alone += 1
                    thaw = self.alone >= FULL_EVERY
                    self.alone = 0 if thaw else self.alone
                    if not thaw:
                        gc.freeze()
                    gc.enable()
                elif self.was_enabled:
                    self.overlapped += 1
                    full = self.overlapped >= FULL_EVERY
                    self.overlapped = 0 if full else self.overlapped
                    generation = 2 if full else 1
            if thaw:  # outside the lock, as below
                gc.unfreeze()
                gc.collect()
                gc.freeze()
            if generation is not None:  # outside the lock: a finalizer may start an answer
                gc.collect(generation)


collection_paused = _Pause()
