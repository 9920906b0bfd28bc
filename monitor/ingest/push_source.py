"""A live call's audio: the `AudioSource` an adapter pushes a party's PCM into.

`PushSource` is the `AudioSource` of one live call. Adapters push a party's PCM at any
time from the event loop (`feed`, never blocking); `blocks()` hands the pipeline blocks of
`BLOCK_SECONDS` with every party aligned in call time. A block goes out as soon as every
party's audio for it is in, or when the wall clock has passed it by `hold` seconds: a party
whose audio is late or lost gets a gap then, so one bad leg never stalls the other;
gaps are comfort noise at the party's line level (see `_comfort`).
While no party's audio for a block is in, nothing goes out: a peer that falls behind as a
whole (a busy network, a stall) loses nothing.
The call's clock starts with its first audio (a peer that says hello first and streams
later has not lost the time in between).
Audio that arrives for a block already handed on is late and counted (`late_samples`);
audio past the buffer's bound (decoding has fallen behind) is dropped and counted
(`dropped`, in blocks, which the pipeline reports in the call's summary).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping

import numpy as np

from monitor.speech.blocks import BLOCK_SECONDS, AudioBlock

PARTIES = ("caller", "agent")
TELEPHONE_RATE = 8000


class PushSource:
    """A live call's audio, pushed by an adapter; see the module docstring."""

    def __init__(
        self,
        rates: Mapping[str, int] | None = None,
        *,
        description: str = "",
        hold: float = 0.4,
        queue_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates: dict[str, int] = dict(rates or dict.fromkeys(PARTIES, TELEPHONE_RATE))
        self.description = description
        self.hold = hold
        self._clock = clock
        self._started: float | None = None  # the wall clock at call time 0, from the first audio
        self._bound = {p: int(r * queue_seconds) for p, r in self.rates.items()}
        self._block = {p: max(1, round(r * BLOCK_SECONDS)) for p, r in self.rates.items()}
        self._buffers = {p: bytearray() for p in self.rates}  # samples from the next block on
        self._ends = dict.fromkeys(self.rates, 0)  # per party: samples written, in call time
        self._emitted = 0  # blocks handed on
        self._closed = False
        self._lock = threading.Condition()
        # Per party: the level of its line noise (RMS), for the comfort noise that fills gaps.
        self._hiss: dict[str, float] = {}
        self._noise = np.random.default_rng(0)
        self.dropped_samples = 0
        self.late_samples = 0
        self.fed_samples = 0

    @property
    def dropped(self) -> int:
        """Audio dropped because decoding fell behind, in blocks (rounded up)."""
        block = min(self._block.values())
        return math.ceil(self.dropped_samples / block)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def buffered_seconds(self) -> float:
        """Audio waiting to be handed on, for the party that has the most."""
        with self._lock:
            return max(len(b) / 2 / self.rates[p] for p, b in self._buffers.items())

    def now(self, party: str) -> int:
        """The call's present in samples of `party`: where audio arriving now belongs (by the
        wall clock since the first audio, never before what was already handed on)."""
        with self._lock:
            base = self._emitted * self._block[party]
            if self._started is None:
                return max(base, self._ends[party])
            return max(base, int((self._clock() - self._started) * self.rates[party]))

    def position(self, party: str) -> int:
        """Call time (in samples of `party`) up to which the party's audio has been written."""
        return self._ends[party]

    def feed(self, party: str, pcm: bytes, at: int | None = None) -> None:
        """Push int16 little-endian PCM of `party`, starting at sample `at` of the call (default:
        right after the party's last audio, or now if that was already handed on). Never
        blocks for long and never raises for audio; an unknown party is a programming error."""
        if party not in self.rates:
            raise ValueError(f"no party {party!r} in this call")
        if len(pcm) % 2:
            pcm = pcm[:-1]
        n = len(pcm) // 2
        if not n:
            return
        with self._lock:
            if self._closed:
                return
            base = self._emitted * self._block[party]  # first sample still in the buffer
            start = max(self._ends[party], base) if at is None else at
            if self._started is None:
                self._started = self._clock() - max(0, start) / self.rates[party]
            if start < base:  # late: the block it belonged to was already handed on
                skip = min(n, base - start)
                self.late_samples += skip
                pcm, n, start = pcm[skip * 2 :], n - skip, base
                if not n:
                    return
            buffer = self._buffers[party]
            offset = start - base
            if offset + n > self._bound[party]:
                self.dropped_samples += n
                return
            if offset > len(buffer) // 2:  # a gap (lost packets): comfort noise in its place
                buffer.extend(self._comfort(party, offset - len(buffer) // 2))
            buffer[offset * 2 : offset * 2 + n * 2] = pcm
            self._listen(party, pcm)
            self._ends[party] = max(self._ends[party], start + n)
            self.fed_samples += n
            self._lock.notify()

    def close(self) -> None:
        """No more audio: `blocks()` hands on what it has and ends."""
        with self._lock:
            self._closed = True
            self._lock.notify()

    def blocks(self) -> Iterator[AudioBlock]:
        while True:
            with self._lock:
                while not self._ready():
                    self._lock.wait(timeout=self._wait())
                if self._closed and self._drained():
                    return
                block = self._take()
            yield block

    def _ready(self) -> bool:
        if self._closed:
            return True
        k = self._emitted + 1  # the block after the next is due
        have = [self._ends[p] >= k * self._block[p] for p in self.rates]
        if all(have):
            return True
        if self._started is None or not any(have):
            return False  # nobody's audio is in: the peer is slow, not a leg lost; wait for it
        return self._clock() - self._started >= k * BLOCK_SECONDS + self.hold

    def _wait(self) -> float:
        if self._started is None or self._ends_below_next_block():
            return 1.0  # a feed or close wakes us
        due = self._started + (self._emitted + 1) * BLOCK_SECONDS + self.hold
        return min(max(0.005, due - self._clock()), 1.0)

    def _ends_below_next_block(self) -> bool:
        k = self._emitted + 1
        return all(self._ends[p] < k * self._block[p] for p in self.rates)

    def _drained(self) -> bool:
        """Closed, and every party's audio handed on."""
        return all(self._ends[p] <= self._emitted * self._block[p] for p in self.rates)

    def _listen(self, party: str, pcm: bytes) -> None:
        """Follow the party's line noise: the quietest recent audio, rising slowly."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        rms = float(np.sqrt(np.mean(samples * samples)))
        known = self._hiss.get(party)
        self._hiss[party] = rms if known is None else min(rms, known * 1.01 + 0.01)

    def _comfort(self, party: str, samples: int) -> bytes:
        """Audio for a stretch that never came: noise at the line's own level (RFC 3389's
        comfort noise), not digital silence, which would drag the noise floor the turn
        endings are measured against far below the line's and keep turns from ending."""
        level = self._hiss.get(party)
        if not level or samples <= 0:
            return bytes(2 * max(0, samples))
        noise = self._noise.normal(0.0, level, samples).clip(-32768, 32767).astype("<i2")
        return noise.tobytes()

    def _take(self) -> AudioBlock:
        pcm: dict[str, bytes] = {}
        for party, buffer in self._buffers.items():
            size = self._block[party] * 2
            chunk = bytes(buffer[:size])
            del buffer[:size]
            pcm[party] = chunk + self._comfort(party, (size - len(chunk)) // 2)
        self._emitted += 1
        return AudioBlock(pcm)
