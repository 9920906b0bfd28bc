"""SDP (RFC 4566) as a SIPREC recording server reads and answers it: audio streams only.

An offer from a recording client has one `m=audio` line per recorded stream, each
`a=sendonly` with an `a=label` that the recording metadata refers to. The answer mirrors
every m-line (RFC 3264): a G.711 stream gets our RTP port and `a=recvonly`; a stream we
cannot decode (another codec, video) gets port 0, which declines it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from monitor.ingest.sip import SipError

#: Payload types we decode (RFC 3551 static numbers), and their rtpmap names.
G711 = {0: "PCMU", 8: "PCMA"}
MAX_STREAMS = 8


@dataclass
class Stream:
    """One m= line of an offer."""

    media: str
    port: int
    proto: str
    formats: list[str]
    label: str = ""
    direction: str = "sendrecv"
    address: str = ""
    rtpmap: dict[int, str] = field(default_factory=dict)  # payload type -> "PCMU/8000"

    def g711(self) -> int | None:
        """The payload type to take this stream as (PCMU first), or None if it has no G.711."""
        for fmt in self.formats:
            if not fmt.isdigit():
                continue
            pt = int(fmt)
            name = self.rtpmap.get(pt, f"{G711.get(pt, '')}/8000" if pt in G711 else "")
            if name.upper() in ("PCMU/8000", "PCMA/8000"):
                return pt
        return None

    def codec(self, pt: int) -> str:
        """PCMU or PCMA for a payload type this stream was taken as."""
        return self.rtpmap.get(pt, f"{G711.get(pt, '?')}/8000").split("/")[0].upper()


def parse(text: str) -> tuple[str, list[Stream]]:
    """(session connection address, streams) from an SDP offer; SipError if malformed."""
    address = ""
    streams: list[Stream] = []
    if not text.lstrip().startswith("v=0"):
        raise SipError("SDP must start with v=0")
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if not line:
            continue
        if len(line) < 2 or line[1] != "=":
            raise SipError(f"malformed SDP line {line[:40]!r}")
        kind, value = line[0], line[2:]
        if kind == "m":
            parts = value.split()
            if len(parts) < 4 or not parts[1].split("/")[0].isdigit():
                raise SipError(f"malformed m= line {line[:60]!r}")
            port = int(parts[1].split("/")[0])
            if port > 65535:
                raise SipError(f"m= port {port} is out of range")
            streams.append(Stream(parts[0], port, parts[2], parts[3:]))
            if len(streams) > MAX_STREAMS:
                raise SipError(f"more than {MAX_STREAMS} m= lines")
        elif kind == "c":
            parts = value.split()
            if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
                raise SipError(f"malformed c= line {line[:60]!r}")
            if streams:
                streams[-1].address = parts[2].split("/")[0]
            else:
                address = parts[2].split("/")[0]
        elif kind == "a" and streams:
            name, _, rest = value.partition(":")
            if name in ("sendonly", "recvonly", "sendrecv", "inactive"):
                streams[-1].direction = name
            elif name == "label":
                streams[-1].label = rest.strip()[:64]
            elif name == "rtpmap":
                found = re.match(r"(\d{1,3})\s+([\w.-]+/\d+)", rest)
                if found is None:
                    raise SipError(f"malformed rtpmap {line[:60]!r}")
                streams[-1].rtpmap[int(found.group(1))] = found.group(2)
    if not streams:
        raise SipError("SDP without an m= line")
    return address, streams


def answer(offer: Sequence[Stream], ports: Sequence[int | None], address: str, session_id: int) -> str:
    """The SDP answer: one m= line per offered stream, taken (our port, recvonly) or declined."""
    ip = "IP6" if ":" in address else "IP4"
    lines = [
        "v=0",
        f"o=heatmon {session_id} {session_id} IN {ip} {address}",
        "s=heatmon recording",
        f"c=IN {ip} {address}",
        "t=0 0",
    ]
    for stream, port in zip(offer, ports, strict=True):
        pt = stream.g711() if stream.media == "audio" else None
        if port is None or pt is None:
            lines.append(f"m={stream.media} 0 {stream.proto} {' '.join(stream.formats)}")
        else:
            lines.append(f"m=audio {port} RTP/AVP {pt}")
            lines.append(f"a=rtpmap:{pt} {stream.codec(pt)}/8000")
            lines.append("a=recvonly")
        if stream.label:
            lines.append(f"a=label:{stream.label}")
    return "\r\n".join(lines) + "\r\n"
