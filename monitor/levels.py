"""Speech loudness per party: block energies kept briefly so a turn's level can be read back."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

SILENCE_DB = -90.0


class LevelTrack:
    """Mean power of one party's recent audio blocks, by call time.

    A turn is final only after its audio has gone by, so we keep the last few minutes of
    block powers (three floats a block) instead of the audio itself.
    """

    def __init__(self, rate: int, keep_seconds: float = 180.0) -> None:
        self._rate = rate
        self._keep = keep_seconds
        self._blocks: deque[tuple[float, float, float]] = deque()  # (start, end, mean power)
        self.position = 0.0

    def add(self, pcm: bytes) -> None:
        """Record the next block of 16-bit mono PCM."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        if not len(samples):
            return
        start, self.position = self.position, self.position + len(samples) / self._rate
        self._blocks.append((start, self.position, float(np.mean(samples * samples))))
        while self._blocks and self._blocks[0][1] < self.position - self._keep:
            self._blocks.popleft()

    def loudness_db(self, start: float, end: float) -> float | None:
        """dBFS of the audio between `start` and `end`; None when it is no longer kept."""
        powers = [p for s, e, p in self._blocks if e > start and s < end]
        if not powers:
            return None
        mean = sum(powers) / len(powers)
        return round(10 * math.log10(mean), 1) if mean > 0 else SILENCE_DB
