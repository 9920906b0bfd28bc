"""Asterisk AudioSocket: the wire protocol, as a pure incremental reader (no I/O).

AudioSocket is a plain TCP stream of messages, each a kind byte, a 2-byte big-endian payload
length and the payload:

    0x00  hang-up (no payload)        0x01  the call's UUID (16 bytes), always first
    0x03  a DTMF digit (1 byte)       0x10  audio: signed linear 16-bit little-endian, 8 kHz
    0xff  an error (1 byte: 0x01 hang-up, 0x02 frame forwarding, 0x04 memory)

Asterisk 20+ may also send signed linear at higher rates (0x11 = 12 kHz ... 0x18 = 192 kHz).
Asterisk 22 usually ends a call by closing the socket, older versions with a 0x00 message;
both end the stream here.

Nothing on the socket is trusted: AudioSocket has no authentication, so a peer may send any
bytes at all. `AudioSocketReader` turns bytes into typed messages or raises
`AudioSocketError` (one line, saying what was wrong), and never anything else.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from monitor.errors import InputError

HANGUP = 0x00
UUID = 0x01
DTMF = 0x03
AUDIO = 0x10
ERROR = 0xFF

# Signed linear audio kinds and their sample rates (res_audiosocket's table).
AUDIO_RATES = {
    0x10: 8000,
    0x11: 12000,
    0x12: 16000,
    0x13: 24000,
    0x14: 32000,
    0x15: 44100,
    0x16: 48000,
    0x17: 96000,
    0x18: 192000,
}
PEER_ERRORS = {0x01: "the call hung up", 0x02: "frame forwarding failed", 0x04: "out of memory"}
DTMF_DIGITS = frozenset(b"0123456789*#ABCD")
HEADER = 3

# 20 ms of 8 kHz audio is 320 bytes; Asterisk sends 20 or 30 ms. 8 KiB is 256 ms at 8 kHz and
# 85 ms at 48 kHz: room for any frame size a channel uses, and a bound on what one message
# can make us hold.
MAX_PAYLOAD = 8192


class AudioSocketError(InputError):
    """The peer broke the AudioSocket protocol: the connection is refused and closed."""


@dataclass(frozen=True, slots=True)
class Identified:
    """The call's UUID: the first message of every stream."""

    uuid: uuid.UUID


@dataclass(frozen=True, slots=True)
class Audio:
    """A frame of signed linear 16-bit little-endian mono PCM at `rate` Hz."""

    pcm: bytes
    rate: int


@dataclass(frozen=True, slots=True)
class Digit:
    """A DTMF digit the caller pressed."""

    digit: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """The peer ended the stream (a 0x00 message)."""


@dataclass(frozen=True, slots=True)
class PeerError:
    """Asterisk reported an error; the stream ends with it."""

    code: int

    @property
    def reason(self) -> str:
        return PEER_ERRORS.get(self.code, f"error code {self.code:#04x}")


Message = Identified | Audio | Digit | Hangup | PeerError


@dataclass
class AudioSocketReader:
    """Bytes in, AudioSocket messages out, for one connection.

    Checks what the protocol requires: the UUID first and only once, a known kind, a
    length within `max_payload` and fitting the kind, nothing after the end.
    """

    max_payload: int = MAX_PAYLOAD
    _buffer: bytearray = field(default_factory=bytearray, repr=False)
    _identified: bool = False
    _ended: bool = False
    _rate: int | None = None

    @property
    def identified(self) -> bool:
        return self._identified

    @property
    def ended(self) -> bool:
        """A hang-up or an error message arrived: the stream is over."""
        return self._ended

    @property
    def pending(self) -> int:
        """Bytes of an incomplete message held, waiting for the rest."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        """Take bytes from the socket (any amount; messages may be cut anywhere)."""
        if self._ended and data:
            raise AudioSocketError("data after the end of the stream")
        self._buffer += data

    def messages(self) -> Iterator[Message]:
        """The complete messages held, in order. A broken one raises when it is reached, so the
        good messages before it are still handed on."""
        while len(self._buffer) >= HEADER and not self._ended:
            kind = self._buffer[0]
            length = int.from_bytes(self._buffer[1:3], "big")
            self._check_header(kind, length)
            if len(self._buffer) < HEADER + length:
                return
            payload = bytes(self._buffer[HEADER : HEADER + length])
            del self._buffer[: HEADER + length]
            yield self._message(kind, payload)
        if self._ended and self._buffer:
            raise AudioSocketError("data after the end of the stream")

    def read(self, data: bytes) -> list[Message]:
        """`feed` then every complete message, as a list."""
        self.feed(data)
        return list(self.messages())

    def _check_header(self, kind: int, length: int) -> None:
        # Checked before the payload is waited for: a bad header is refused at once, not after
        # we have buffered whatever length it claims.
        if kind not in AUDIO_RATES and kind not in (HANGUP, UUID, DTMF, ERROR):
            raise AudioSocketError(f"unknown message kind {kind:#04x}")
        if length > self.max_payload:
            raise AudioSocketError(f"a {length}-byte message is over the {self.max_payload}-byte limit")
        if not self._identified and kind not in (UUID, HANGUP, ERROR):
            raise AudioSocketError(f"message kind {kind:#04x} before the call's UUID")
        if kind == UUID and self._identified:
            raise AudioSocketError("a second UUID on the same stream")
        expected = {HANGUP: 0, UUID: 16, DTMF: 1, ERROR: 1}.get(kind)
        if expected is not None and length != expected:
            raise AudioSocketError(f"message kind {kind:#04x} must carry {expected} bytes, not {length}")
        if kind in AUDIO_RATES and length % 2:
            raise AudioSocketError(f"audio of odd length {length}: not 16-bit samples")

    def _message(self, kind: int, payload: bytes) -> Message:
        if kind == UUID:
            self._identified = True
            return Identified(uuid.UUID(bytes=payload))
        if kind in AUDIO_RATES:
            rate = AUDIO_RATES[kind]
            if self._rate is not None and rate != self._rate:
                raise AudioSocketError(f"audio changed rate mid-stream ({self._rate} -> {rate} Hz)")
            self._rate = rate
            return Audio(payload, rate)
        if kind == DTMF:
            if payload[0] not in DTMF_DIGITS:
                raise AudioSocketError(f"DTMF digit {payload[0]:#04x} is not one of 0-9 * # A-D")
            return Digit(chr(payload[0]))
        self._ended = True
        return Hangup() if kind == HANGUP else PeerError(payload[0])


def encode(kind: int, payload: bytes = b"") -> bytes:
    """One AudioSocket message (for peers in tests and benchmarks, and for our hang-up)."""
    if not 0 <= kind <= 0xFF or len(payload) > 0xFFFF:
        raise ValueError("kind is one byte and a payload at most 65535 bytes")
    return bytes((kind,)) + len(payload).to_bytes(2, "big") + payload
