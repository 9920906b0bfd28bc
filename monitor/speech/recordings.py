"""Recorded audio: a WAV file (or a WAV per party) and raw PCM on a stream such as stdin,
read as fast as they decode or, with `realtime`, at the pace of the call."""

from __future__ import annotations

import time
import wave
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from monitor.errors import InputError
from monitor.speech.blocks import BLOCK_SECONDS, AudioBlock, ChannelRoles, check_rate, to_int16

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
                samples = to_int16(raw, wav.getsampwidth(), wav.getnchannels())
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
            samples = to_int16(raw, 2, self.channels)
            position += len(samples) / self.rate
            if self.realtime:
                _pace(started, position)
            yield AudioBlock(self.roles.split(samples))

    def close(self) -> None:
        pass
