"""Live capture from audio devices, and the list of them: the only sounddevice import.

sounddevice is imported only when a device is opened or listed, so files and pipes work
on machines without PortAudio.
"""

from __future__ import annotations

import contextlib
import logging
import queue
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.errors import DeviceError
from monitor.speech.blocks import BLOCK_SECONDS, AudioBlock, ChannelRoles, check_rate, to_int16

log = logging.getLogger("heatmon")


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
                yield AudioBlock(self.roles.split(to_int16(raw, 2, 2)))
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
