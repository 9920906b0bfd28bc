"""Short pauses from Python's cyclic garbage collector on a busy hub.

A hub with a few thousand connections holds a few hundred thousand long-lived objects, most
of them the websockets library's per-connection tasks, futures and buffers. CPython's full
collection walks every one of them: 100-200 ms on a small machine, several times a minute
at 4,000 events/s, and every event in flight waits that long (the capacity benchmark's p99:
about 150-230 ms with the pauses, 37 ms with the collector off).

So what survived a full collection is frozen (`gc.freeze()`): later passes walk only what is
newer. Reference counting still frees frozen objects the moment nothing uses them; only
garbage *cycles* among them wait, until the frozen objects are handed back (`thaw`, every
`thaw_every` seconds) for one full pass that reclaims them. That trades one long pause every
ten minutes, and a little cyclic garbage held meanwhile, for short ones all the time.

Process-wide, like the collector itself: several hubs in one process (tests) share it.
"""

from __future__ import annotations

import gc
from typing import Any


class CollectorPacing:
    """Freeze what survives each full collection; thaw every `thaw_every` seconds."""

    def __init__(self, thaw_every: float = 600.0) -> None:
        self.thaw_every = thaw_every
        self.thawed_at = 0.0
        self.freezes = 0
        self.thaws = 0

    def start(self, now: float) -> None:
        self.thawed_at = now
        gc.callbacks.append(self._after_collection)

    def stop(self) -> None:
        """Leave the collector as it was: nothing frozen by us stays frozen."""
        if self._after_collection in gc.callbacks:
            gc.callbacks.remove(self._after_collection)
        gc.unfreeze()

    def tick(self, now: float) -> None:
        """Called now and then: hand the frozen objects back once `thaw_every` has passed, so
        the next full collection reclaims the cycles among them (and then freezes again)."""
        if now - self.thawed_at >= self.thaw_every:
            self.thawed_at = now
            self.thaws += 1
            gc.unfreeze()

    def _after_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            self.freezes += 1
            gc.freeze()
