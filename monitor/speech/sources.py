"""Audio sources: WAV files, raw PCM on stdin, live devices.

Every source yields `AudioBlock`s: 16-bit little-endian mono PCM per party (`caller`,
`agent`). Sources are blocking iterators; the pipeline pulls from them in a worker thread.
sounddevice is imported only by `DeviceSource`, so files and pipes work on machines
without PortAudio.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import time
import wave
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np

from monitor.errors import DeviceError, InputError

log = logging.getLogger("heatmon")

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


def _to_int16(raw: bytes, width: int, channels: int) -> np.ndarray:
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


_STREAMING_LENGTH = 0x7FFF0000  # bytes: a WAV data length this big is a streaming placeholder


def _open_wav(path: Path) -> wave.Wave_read:
    """Open a WAV with a clear error for every way it can be wrong."""
    try:
        wav = wave.open(str(path), "rb")  # noqa: SIM115 (returned open; its owner closes it)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a WAV file") from None
    except (wave.Error, EOFError) as err:
        reason = str(err)
        if "unknown format" in reason:
            code = reason.rsplit(":", 1)[-1].strip()
            kind = {"3": "32-bit float", "6": "A-law", "7": "mu-law", "65534": "extensible"}.get(code, code)
            reason = f"unsupported sample format ({kind}); convert it: sox IN.wav -b 16 -e signed OUT.wav"
        elif "RIFF" in reason or "WAVE" in reason:
            reason = "not a WAV file"
        elif isinstance(err, EOFError):
            reason = "truncated WAV header"
        raise InputError(f"{path}: {reason}") from err
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror}") from err
    if wav.getnchannels() not in (1, 2):
        channels = wav.getnchannels()
        wav.close()
        raise InputError(
            f"{path}: {channels} channels; heatmon takes mono (caller) or stereo (caller + agent)"
        )
    if wav.getsampwidth() not in (1, 2, 3, 4):
        width = wav.getsampwidth()
        wav.close()
        raise InputError(f"{path}: unsupported sample width {width * 8} bits")
    try:
        check_rate(wav.getframerate(), f"{path}: its header gives")
    except InputError:
        wav.close()
        raise
    return wav


def _pace(started: float, audio_seconds: float) -> None:
    """Sleep until the wall clock catches up with the audio (for --realtime)."""
    ahead = audio_seconds - (time.monotonic() - started)
    if ahead > 0:
        time.sleep(ahead)


@dataclass
class WavSource:
    """A recorded call: one mono WAV (caller only), one stereo WAV, or a WAV per party."""

    files: Mapping[str, Path]  # party -> file; a stereo file is given as {"call": path}
    roles: ChannelRoles = field(default_factory=ChannelRoles)
    realtime: bool = False
    description: str = ""
    rates: dict[str, int] = field(init=False)
    #: Once the audio has been read: why a file held less audio than its header promised.
    truncated: str | None = field(init=False, default=None)
    _wavs: dict[str, wave.Wave_read] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._wavs = {}
        try:
            for party, path in self.files.items():
                self._wavs[party] = _open_wav(Path(path))
        except InputError:
            self.close()
            raise
        if "call" in self._wavs:
            wav = self._wavs["call"]
            self.rates = dict.fromkeys(self.roles.parties(wav.getnchannels()), wav.getframerate())
        else:
            for party, wav in self._wavs.items():
                if wav.getnchannels() != 1:
                    raise InputError(f"{self.files[party]}: the {party}'s file must be mono")
            self.rates = {party: wav.getframerate() for party, wav in self._wavs.items()}
        if not self.description:
            self.description = " + ".join(str(p) for p in self.files.values())

    def blocks(self) -> Iterator[AudioBlock]:
        started, position = time.monotonic(), 0.0
        while True:
            pcm: dict[str, bytes] = {}
            for party, wav in self._wavs.items():
                frames = wav.getframerate()
                raw = self._read(party, wav, max(1, int(frames * BLOCK_SECONDS)))
                if not raw:
                    continue
                samples = _to_int16(raw, wav.getsampwidth(), wav.getnchannels())
                if party == "call":
                    pcm.update(self.roles.split(samples))
                else:
                    pcm[party] = samples.tobytes()
            if not pcm:
                self.truncated = self._truncation()
                return
            position += BLOCK_SECONDS
            if self.realtime:
                _pace(started, position)
            yield AudioBlock(pcm)

    def _truncation(self) -> str | None:
        """A recording cut off (a crashed recorder, a partial copy) is decoded up to the cut,
        and then reported: what was heard is still worth having, but the call is incomplete."""
        for party, wav in self._wavs.items():
            promised, found = wav.getnframes(), wav.tell()
            # Writers that stream a WAV to a pipe put a placeholder length near 2**31 or 2**32.
            unknown = promised * wav.getsampwidth() * wav.getnchannels() >= _STREAMING_LENGTH
            if found < promised and not unknown:
                rate = wav.getframerate()
                return (
                    f"{self.files[party]}: truncated WAV: its header promises {promised / rate:.1f} s of "
                    f"audio but the file ends after {found / rate:.1f} s (decoded up to there)"
                )
        return None

    def _read(self, party: str, wav: wave.Wave_read, frames: int) -> bytes:
        try:
            return wav.readframes(frames)
        except (wave.Error, EOFError, OSError) as err:
            raise InputError(f"{self.files[party]}: corrupt WAV data: {err}") from err

    def close(self) -> None:
        for wav in self._wavs.values():
            wav.close()


@dataclass
class PcmSource:
    """Raw signed 16-bit little-endian PCM from a stream (stdin), mono or stereo."""

    stream: BinaryIO
    rate: int
    channels: int = 1
    roles: ChannelRoles = field(default_factory=ChannelRoles)
    realtime: bool = False
    description: str = "stdin"
    rates: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        if self.channels not in (1, 2):
            raise InputError(f"--channels must be 1 or 2, not {self.channels}")
        check_rate(self.rate, "--rate")
        self.rates = dict.fromkeys(self.roles.parties(self.channels), self.rate)

    def blocks(self) -> Iterator[AudioBlock]:
        frame_bytes = 2 * self.channels
        want = int(self.rate * BLOCK_SECONDS) * frame_bytes
        started, position, carry = time.monotonic(), 0.0, b""
        first = True
        while True:
            raw = self.stream.read(want)
            if not raw:
                return
            if first and raw[:4] == b"RIFF" and raw[8:12] == b"WAVE":
                # Its header would be decoded as a click of noise, its rate and channels ignored.
                raise InputError("stdin carries a WAV file, not raw PCM: give the file's path instead of '-'")
            first = False
            raw, carry = carry + raw, b""
            cut = len(raw) - len(raw) % frame_bytes
            raw, carry = raw[:cut], raw[cut:]
            if not raw:
                continue
            samples = _to_int16(raw, 2, self.channels)
            position += len(samples) / self.rate
            if self.realtime:
                _pace(started, position)
            yield AudioBlock(self.roles.split(samples))

    def close(self) -> None:
        pass


@dataclass
class DeviceSource:
    """Live capture: one stereo device (caller + agent) or a device per party.

    The PortAudio callback must never block, so it only copies into a bounded queue; when
    the consumer falls behind, blocks are dropped and counted (`dropped`) instead of
    stalling the audio thread.
    """

    devices: Mapping[str, str | int]  # party -> device; {"call": dev} for one stereo device
    rate: int = 16000
    roles: ChannelRoles = field(default_factory=ChannelRoles)
    queue_seconds: float = 5.0
    description: str = ""
    rates: dict[str, int] = field(init=False)
    dropped: int = field(init=False, default=0)
    _queue: queue.Queue[tuple[str, bytes] | None] = field(init=False, repr=False)
    _streams: list[Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_rate(self.rate, "--rate")
        sd = import_sounddevice()
        self._queue = queue.Queue(maxsize=max(1, int(self.queue_seconds / BLOCK_SECONDS)) * len(self.devices))
        self._streams = []
        self.rates = {}
        try:
            for party, device in self.devices.items():
                channels = 2 if party == "call" else 1
                self._streams.append(self._open(sd, party, _device_index(sd, device), channels))
                parties = self.roles.parties(2) if party == "call" else (party,)
                self.rates.update(dict.fromkeys(parties, self.rate))
        except Exception:
            self.close()
            raise
        if not self.description:
            self.description = ", ".join(
                f"{'caller + agent' if p == 'call' else p} on device {d}" for p, d in self.devices.items()
            )

    def _open(self, sd: Any, party: str, device: int, channels: int) -> Any:
        def callback(indata: Any, frames: int, when: Any, status: Any) -> None:
            try:
                self._queue.put_nowait((party, bytes(indata)))
            except queue.Full:
                self.dropped += 1

        try:
            stream = sd.RawInputStream(
                device=device,
                channels=channels,
                samplerate=self.rate,
                dtype="int16",
                blocksize=int(self.rate * BLOCK_SECONDS),
                callback=callback,
            )
        except sd.PortAudioError as err:
            raise DeviceError(f"cannot open input device {device} for the {party}: {err}") from err
        return stream

    def blocks(self) -> Iterator[AudioBlock]:
        # Streams start only now, when someone reads: audio captured while the model was
        # still loading would only overflow the queue.
        for stream in self._streams:
            stream.start()
        first = True
        while True:
            item = self._queue.get()
            if first:
                log.info("capturing audio from %s", self.description)
                first = False
            if item is None:
                return
            party, raw = item
            if party == "call":
                yield AudioBlock(self.roles.split(_to_int16(raw, 2, 2)))
            else:
                yield AudioBlock({party: raw})

    def close(self) -> None:
        for stream in self._streams:
            stream.stop()
            stream.close()
        self._streams = []
        if hasattr(self, "_queue"):
            with contextlib.suppress(queue.Full):  # a full queue wakes the consumer anyway
                self._queue.put_nowait(None)  # wakes a consumer blocked in blocks()


def import_sounddevice() -> Any:
    """sounddevice, or a clear DeviceError when PortAudio is missing."""
    try:
        import sounddevice
    except OSError as err:  # raised when libportaudio2 is not installed
        raise DeviceError(f"live audio needs PortAudio (apt install libportaudio2): {err}") from err
    return sounddevice


def _device_index(sd: Any, device: str | int) -> int:
    """A device given by number or (part of its) name to its PortAudio index."""
    inputs = [(i, d) for i, d in enumerate(sd.query_devices()) if d["max_input_channels"] > 0]
    if isinstance(device, int) or str(device).isdigit():
        index = int(device)
        if any(i == index for i, _ in inputs):
            return index
        raise DeviceError(f"no input device number {index}; see `heatmon devices`")
    exact = [i for i, d in inputs if d["name"] == device]
    matches = exact or [i for i, d in inputs if str(device).lower() in d["name"].lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DeviceError(f"no input device matches {device!r}; see `heatmon devices`")
    raise DeviceError(f"{device!r} matches several input devices; use its number from `heatmon devices`")


def list_devices() -> list[dict[str, Any]]:
    """Input devices: index, name, host API, channels, default rate."""
    sd = import_sounddevice()
    apis = sd.query_hostapis()
    return [
        {
            "index": i,
            "name": d["name"],
            "hostapi": apis[d["hostapi"]]["name"],
            "channels": d["max_input_channels"],
            "default_rate": int(d["default_samplerate"]),
        }
        for i, d in enumerate(sd.query_devices())
        if d["max_input_channels"] > 0
    ]
