"""What every audio source shares: the block it yields, the source protocol, which channel
is which party, the sample rates heatmon takes, and PCM of any width to 16-bit.

Every source yields `AudioBlock`s: 16-bit little-endian mono PCM per party (`caller`,
`agent`). Sources are blocking iterators; the pipeline pulls from them in a worker thread.
The sources themselves are in `recordings.py` (WAV files, raw PCM on stdin) and `capture.py`
(live devices).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from monitor.errors import InputError

BLOCK_SECONDS = 0.1  # small enough for prompt endpointing, large enough to keep overhead low
CHANNEL_NAMES = {"left": 0, "right": 1}
#: Sample rates heatmon takes, in Hz: telephone audio (8 kHz) to studio recordings (192 kHz),
#: with room below for 4 kHz narrowband. Outside it a header or option is wrong, and Kaldi's
#: resampler would divide by zero, abort the process, or crawl along one sample per block.
MIN_RATE, MAX_RATE = 4000, 192000


def check_rate(rate: int, what: str) -> int:
    """`rate` if heatmon can decode audio at it, else an InputError naming `what` carried it."""
    if not MIN_RATE <= rate <= MAX_RATE:
        raise InputError(f"{what}: a sample rate of {rate} Hz; heatmon takes {MIN_RATE} to {MAX_RATE} Hz")
    return rate


@dataclass(frozen=True, slots=True)
class AudioBlock:
    """The next stretch of audio of one or more parties: party -> 16-bit mono PCM bytes."""

    pcm: Mapping[str, bytes]


class AudioSource(Protocol):
    """Where a call's audio comes from."""

    @property
    def description(self) -> str: ...

    @property
    def rates(self) -> Mapping[str, int]:  # party -> sample rate
        ...

    def blocks(self) -> Iterator[AudioBlock]: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ChannelRoles:
    """Which channel of a stereo stream is the caller; the other is the agent."""

    caller: int = 0

    def split(self, frames: np.ndarray) -> dict[str, bytes]:
        """Interleaved (n, channels) int16 frames to per-party mono PCM."""
        if frames.shape[1] == 1:
            return {"caller": frames[:, 0].tobytes()}
        return {
            "caller": np.ascontiguousarray(frames[:, self.caller]).tobytes(),
            "agent": np.ascontiguousarray(frames[:, 1 - self.caller]).tobytes(),
        }

    def parties(self, channels: int) -> tuple[str, ...]:
        return ("caller",) if channels == 1 else ("caller", "agent")


def to_int16(raw: bytes, width: int, channels: int) -> np.ndarray:
    """Raw PCM of any integer width to (n, channels) int16."""
    if width == 2:
        data = np.frombuffer(raw, dtype="<i2")
    elif width == 1:  # 8-bit WAV is unsigned
        data = ((np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        as32 = (
            (b[:, 0].astype(np.int32) << 8)
            | (b[:, 1].astype(np.int32) << 16)
            | (b[:, 2].astype(np.int32) << 24)
        )
        data = (as32 >> 16).astype(np.int16)
    elif width == 4:
        data = (np.frombuffer(raw, dtype="<i4") >> 16).astype(np.int16)
    else:
        raise InputError(f"unsupported sample width: {width * 8} bits")
    usable = len(data) - len(data) % channels
    return data[:usable].reshape(-1, channels)
