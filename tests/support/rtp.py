"""RTP in a pcap file, for sipp's `play_pcap_audio`: one party's speech as a G.711 stream.

sipp replays a capture's UDP payloads at the capture's own pace, so the file only has to be
a plain libpcap file of Ethernet/IPv4/UDP packets, each carrying one RTP packet (RFC 3550
header, payload type 0 = PCMU) with 20 ms of mu-law audio. The mu-law bytes come from sox,
the same encoder a phone system's media would have been made with.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np

RATE = 8000
PTIME = 0.020
SAMPLES = int(RATE * PTIME)  # 160 samples = 160 mu-law bytes a packet
PCMU = 0


def mulaw(frames: np.ndarray) -> bytes:
    """int16 mono 8 kHz audio as G.711 mu-law bytes (encoded by sox)."""
    return subprocess.run(
        ["sox", "-t", "raw", "-r", str(RATE), "-e", "signed", "-b", "16", "-c", "1", "-",
         "-t", "raw", "-r", str(RATE), "-e", "mu-law", "-b", "8", "-c", "1", "-"],
        input=np.ascontiguousarray(frames, dtype="<i2").tobytes(),
        check=True,
        capture_output=True,
    ).stdout  # fmt: skip


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _udp_packet(payload: bytes, src_port: int, dst_port: int) -> bytes:
    udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(payload), 0) + payload  # checksum 0: none
    src = dst = bytes((127, 0, 0, 1))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    ethernet = b"\x00" * 12 + b"\x08\x00"
    return ethernet + ip + udp


def write_pcap(path: Path, audio: bytes, ssrc: int = 0x4845_4154) -> Path:
    """Write `audio` (mu-law bytes, 8 kHz) as a pcap of 20 ms RTP packets; returns `path`."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]  # libpcap, Ethernet
    for n, start in enumerate(range(0, len(audio) - SAMPLES + 1, SAMPLES)):
        rtp = struct.pack("!BBHII", 0x80, PCMU, n & 0xFFFF, (n * SAMPLES) & 0xFFFFFFFF, ssrc)
        packet = _udp_packet(rtp + audio[start : start + SAMPLES], 6000, 6000)
        micros = n * 20_000
        out.append(struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(packet), len(packet)))
        out.append(packet)
    path.write_bytes(b"".join(out))
    return path
