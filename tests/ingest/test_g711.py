"""G.711 decoding tables against the standard's reference points and an independent encoder."""

from __future__ import annotations

import numpy as np

from monitor.ingest.g711 import ALAW, ULAW, alaw_decode, ulaw_decode


def ulaw_encode(sample: int) -> int:
    """The G.711 mu-law encoder, written out from the standard's segment rule (for tests only)."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def alaw_encode(sample: int) -> int:
    """The G.711 A-law encoder, written out from the standard's segment rule (for tests only)."""
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(abs(sample) if sample >= 0 else abs(sample) - 1, 32767) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (sign | code) ^ 0x55


def test_ulaw_reference_points() -> None:
    """mu-law codes decode to G.711's values: 0xFF and 0x7F are zero, 0x80/0x00 the extremes."""
    assert ULAW[0xFF] == 0 and ULAW[0x7F] == 0
    assert ULAW[0x80] == 32124 and ULAW[0x00] == -32124
    assert ULAW[0xFE] == 8 and ULAW[0x7E] == -8
    assert ULAW[0xEF] == 132  # the first step of segment 1 (33 in 14 bits; G.711 table 2a)


def test_alaw_reference_points() -> None:
    """A-law codes decode to G.711's values: 0xD5/0x55 are +/-8, 0xAA/0x2A the extremes."""
    assert ALAW[0xD5] == 8 and ALAW[0x55] == -8
    assert ALAW[0xAA] == 32256 and ALAW[0x2A] == -32256
    assert ALAW[0xC5] == 264  # the first step of segment 1 (33 in 13 bits; G.711 table 1a)


def test_round_trip_through_an_independent_encoder() -> None:
    """Every code survives decode then encode, and decoding is monotonic in the sample value."""
    for table, encode in ((ULAW, ulaw_encode), (ALAW, alaw_encode)):
        for code in range(256):
            value = int(table[code])
            if value == 0:
                continue  # mu-law has two zeros; the encoder picks one
            assert encode(value) == code, (code, value)
        samples = sorted(set(table.tolist()))
        assert len(samples) >= 255


def test_quantisation_error_is_bounded() -> None:
    """Speech-range samples come back within G.711's step size (about 3% of the value)."""
    rng = np.random.default_rng(0)
    for sample in rng.integers(-30000, 30000, 2000):
        for table, encode in ((ULAW, ulaw_encode), (ALAW, alaw_encode)):
            back = int(table[encode(int(sample))])
            assert abs(back - sample) <= max(16, abs(int(sample)) * 0.035), (sample, back)


def test_decoders_give_int16_little_endian_bytes() -> None:
    """A frame of codes becomes two bytes a sample, in order."""
    pcm = np.frombuffer(ulaw_decode(bytes([0xFF, 0x80, 0x00])), dtype="<i2")
    assert pcm.tolist() == [0, 32124, -32124]
    pcm = np.frombuffer(alaw_decode(bytes([0xD5, 0x2A])), dtype="<i2")
    assert pcm.tolist() == [8, -32256]
