"""Python's cycle collector held off while an answer is composed.

A corpus-wide answer at 10,000 reports makes ~100,000 objects that live until it is done (hits,
citations, verdicts); their number alone set off full collections, each rescanning every passage
made from the snapshot since it was opened (0.1-0.5 s a question). They form no cycles, and
reference counting frees them when the answer is done, so the collector waits until no answer
is being composed.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator


class _Pause:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.composing = 0  # answers being composed, in any thread
        self.was_enabled = False

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
            with self.lock:
                self.composing -= 1
                if self.composing == 0 and self.was_enabled:
                    gc.enable()
                elif self.was_enabled:
                    # answers overlapping without end (a busy web app) would hold the collector
                    # off for good: what the others made lately is still looked at (cheap)
                    gc.collect(1)


collection_paused = _Pause()
