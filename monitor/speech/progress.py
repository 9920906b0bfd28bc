"""A download progress bar for stderr: one rewritten line on a terminal, plain lines in a log."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

MB = 1_000_000


def format_progress(done: int, total: int | None, elapsed: float) -> str:
    """`' 42%  17.3 / 41.2 MB  5.1 MB/s'`; without a known total, just the megabytes and the rate."""
    rate = done / elapsed / MB if elapsed > 0 else 0.0
    if total:
        percent = min(100, done * 100 // total)
        return f"{percent:3d}%  {done / MB:.1f} / {total / MB:.1f} MB  {rate:.1f} MB/s"
    return f"{done / MB:.1f} MB  {rate:.1f} MB/s"


class ProgressBar:
    """Reports `update(done, total)` calls on `stream`, at most every `interval` seconds on a
    terminal (the line is rewritten in place) and at every tenth of the download otherwise."""

    def __init__(
        self,
        label: str,
        stream: TextIO,
        *,
        is_tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        interval: float = 0.2,
    ) -> None:
        self._label = label
        self._stream = stream
        self._tty = stream.isatty() if is_tty is None else is_tty
        self._clock = clock
        self._interval = interval
        self._started = clock()
        self._last_draw = float("-inf")
        self._last_tenth = -1
        self._drawn = False

    def update(self, done: int, total: int | None) -> None:
        """Record that `done` of `total` bytes have arrived."""
        now = self._clock()
        line = f"{self._label} {format_progress(done, total, now - self._started)}"
        if self._tty:
            if now - self._last_draw >= self._interval or (total and done >= total):
                self._stream.write(f"\r{line}\x1b[K")
                self._stream.flush()
                self._last_draw = now
                self._drawn = True
            return
        tenth = done * 10 // total if total else int(done // (10 * MB))
        if tenth != self._last_tenth:
            self._stream.write(line + "\n")
            self._stream.flush()
            self._last_tenth = tenth

    def close(self) -> None:
        """End the rewritten line so the next message starts on its own."""
        if self._tty and self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False
