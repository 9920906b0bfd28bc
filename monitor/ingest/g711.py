"""G.711 mu-law and A-law to 16-bit linear PCM, by 256-entry tables (ITU-T G.711).

The tables are computed once from the standard's expansion rules; decoding a frame is one
numpy lookup. (The standard library's `audioop` did this until Python 3.13 removed it.)
"""

from __future__ import annotations

import numpy as np


def _ulaw_table() -> np.ndarray:
    codes = np.arange(256, dtype=np.int32)
    u = ~codes & 0xFF  # mu-law codes are sent inverted
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> np.ndarray:
    codes = np.arange(256, dtype=np.int32)
    a = codes ^ 0x55  # even bits are sent inverted
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    return np.where(a & 0x80, magnitude, -magnitude).astype(np.int16)


#: code -> int16 sample
ULAW = _ulaw_table()
ALAW = _alaw_table()


def ulaw_decode(data: bytes) -> bytes:
    """mu-law bytes (one sample each) to int16 little-endian PCM."""
    return ULAW[np.frombuffer(data, dtype=np.uint8)].astype("<i2").tobytes()


def alaw_decode(data: bytes) -> bytes:
    """A-law bytes (one sample each) to int16 little-endian PCM."""
    return ALAW[np.frombuffer(data, dtype=np.uint8)].astype("<i2").tobytes()


#: RTP static payload types (RFC 3551) -> decoder
RTP_DECODERS = {0: ulaw_decode, 8: alaw_decode}
