"""Python's cycle collector held off while an answer is composed.

A corpus-wide answer at 10,000 reports makes ~100,000 objects that live until it is done (hits,
citations, verdicts); their number alone set off full collections, each rescanning every passage
made from the snapshot since it was opened (0.1-0.5 s a question). Reference counting frees
them when the answer is done, so the collector waits until no answer is being composed.

When it resumes, what the answer left alive (the answer itself, passages read from the
snapshot) would still be scanned by the next young collection (0.1-0.3 s after an answer at
50,000 reports): it is frozen instead (`gc.freeze`), and every full collection unfreezes what
is frozen before it begins, so garbage cycles are still found (a `gc.collect()` included). A
program that freezes objects of its own would see them unfrozen by full collections.

The pause is process-wide. Answers that overlap without end (a busy web app) would hold it off
for good, so each answer that ends while others go on collects the young generations, and every
FULL_EVERY such ends a full collection runs. Never hold the pause across a `yield`: a stream
abandoned by its reader would leave the collector off.
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

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self.lock:
            if self.composing == 0:
                self.was_enabled = gc.isenabled()
                gc.disable()
            self.composing += 1
        try:
            yield
        finally:
            generation = None
            with self.lock:
                self.composing -= 1
                if self.composing == 0 and self.was_enabled:
                    gc.freeze()
                    gc.enable()
                elif self.was_enabled:
                    self.overlapped += 1
                    full = self.overlapped >= FULL_EVERY
                    self.overlapped = 0 if full else self.overlapped
                    generation = 2 if full else 1
            if generation is not None:  # outside the lock: a finalizer may start an answer
                gc.collect(generation)


def _thaw_before_full(phase: str, info: dict[str, int]) -> None:
    if phase == "start" and info["generation"] == 2:
        gc.unfreeze()


collection_paused = _Pause()
gc.callbacks.append(_thaw_before_full)
