"""RTP (RFC 3550) for recorded G.711 streams: header parsing and placement in call time.

`RtpStream` turns packets into (call sample, PCM) pieces for `PushSource.feed`: each
packet's place comes from its RTP timestamp relative to the stream's first packet, so
packets reordered or delayed on the way land where they belong (the source's hold time is
the jitter buffer), lost ones leave a gap, and duplicates are dropped by sequence number.
A jump of the timestamp by more than `MAX_JUMP` seconds (a new source, a restart) starts
the stream's clock again at the present.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from monitor.ingest.g711 import RTP_DECODERS

RATE = 8000
MAX_JUMP = 10.0  # seconds of RTP timestamp between packets that we still believe
MAX_PAYLOAD = 1600  # bytes of G.711: 200 ms


class RtpError(Exception):
    """A datagram that is not RTP we can use; the text is the reason."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False


def parse(data: bytes) -> RtpPacket:
    """One RTP packet from a datagram; RtpError if it is not RTP version 2."""
    if len(data) < 12:
        raise RtpError(f"{len(data)} bytes is too short for RTP")
    first, second = data[0], data[1]
    if first >> 6 != 2:
        raise RtpError(f"RTP version {first >> 6}, not 2")
    offset = 12 + 4 * (first & 0x0F)  # CSRCs
    if first & 0x10:  # header extension
        if len(data) < offset + 4:
            raise RtpError("truncated RTP header extension")
        offset += 4 + 4 * int.from_bytes(data[offset + 2 : offset + 4], "big")
    end = len(data)
    if first & 0x20:  # padding, its length in the last byte
        end -= data[-1]
    if offset > end:
        raise RtpError("RTP header longer than the packet")
    payload = data[offset:end]
    if len(payload) > MAX_PAYLOAD:
        raise RtpError(f"RTP payload of {len(payload)} bytes is over {MAX_PAYLOAD}")
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=int.from_bytes(data[2:4], "big"),
        timestamp=int.from_bytes(data[4:8], "big"),
        ssrc=int.from_bytes(data[8:12], "big"),
        payload=payload,
        marker=bool(second & 0x80),
    )


@dataclass
class RtpStream:
    """One recorded stream's packets, placed in call time (see the module docstring)."""

    payload_type: int  # the G.711 type the SDP answer took (0 or 8)
    received: int = 0
    duplicates: int = 0
    reordered: int = 0
    refused: int = 0  # other payload types (comfort noise, DTMF events) and malformed packets
    _ssrc: int | None = None
    _origin: int = 0  # call sample of RTP timestamp `_base`
    _base: int = 0  # RTP timestamp of the first packet (or of the last restart)
    _last_ext: int = 0  # extended timestamp of the newest packet
    _highest_seq: int = -1
    _seen: deque[int] = field(default_factory=lambda: deque(maxlen=64))

    def place(self, packet: RtpPacket, now: int) -> tuple[int, bytes] | None:
        """(call sample, PCM) for a packet; `now` is the call's present, in samples, where a
        new or restarted stream begins. None for a packet to skip."""
        decode = RTP_DECODERS.get(packet.payload_type)
        if decode is None or packet.payload_type != self.payload_type:
            self.refused += 1
            return None
        if packet.ssrc != self._ssrc:
            self._restart(packet, now)
        elif packet.sequence in self._seen:
            self.duplicates += 1
            return None
        ext = self._extend(packet.timestamp)
        if abs(ext - self._last_ext) > MAX_JUMP * RATE:
            self._restart(packet, now)
            ext = packet.timestamp
        if ext < self._last_ext:
            self.reordered += 1
        self._last_ext = max(self._last_ext, ext)
        self._seen.append(packet.sequence)
        self.received += 1
        return self._origin + (ext - self._base), decode(packet.payload)

    def _restart(self, packet: RtpPacket, now: int) -> None:
        self._ssrc = packet.ssrc
        self._base = self._last_ext = packet.timestamp
        self._origin = now
        self._seen.clear()

    def _extend(self, timestamp: int) -> int:
        """A 32-bit timestamp unwrapped to the one nearest the newest packet's."""
        candidate = (self._last_ext & ~0xFFFFFFFF) | timestamp
        if candidate - self._last_ext > 0x80000000:
            candidate -= 0x100000000
        elif self._last_ext - candidate > 0x80000000:
            candidate += 0x100000000
        return candidate
