"""Audio levels: a turn's loudness, and ending a turn when the party goes quiet."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from monitor.levels import SILENCE_DB, LevelTrack, QuietEnd, block_db

BLOCK = 0.1


def _tone(db: float, seconds: float = BLOCK, rate: int = 8000) -> bytes:
    amplitude = 32768 * 10 ** (db / 20) * np.sqrt(2)
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes()


def test_block_db_measures_full_scale_decibels() -> None:
    """A sine at -20 dBFS reads as -20 dBFS; digital silence as the silence floor."""
    assert abs(block_db(_tone(-20)) - -20) < 0.2
    assert block_db(b"\0\0" * 800) == SILENCE_DB


def test_level_track_reads_back_a_turns_loudness() -> None:
    """Loudness of a time span is the mean power of the blocks inside it."""
    track = LevelTrack(8000)
    for db in (-60, -20, -20, -60):
        track.add(_tone(db))
    assert abs(track.loudness_db(0.1, 0.3) - -20) < 0.3  # type: ignore[operator]
    assert track.loudness_db(5.0, 6.0) is None


def _feed(detector: QuietEnd, levels: list[float]) -> list[int]:
    return [i for i, db in enumerate(levels) if detector.update(db, BLOCK)]


def test_quiet_after_speech_ends_the_turn_once() -> None:
    """Speech well above the noise, then 0.4 s back at the noise floor: one end, at the 4th quiet block."""
    levels = [-60.0] * 10 + [-20.0] * 15 + [-60.0] * 20
    assert _feed(QuietEnd(0.4), levels) == [28]


def test_short_pauses_inside_speech_do_not_end_the_turn() -> None:
    """A 0.3 s dip between words is not the end when 0.4 s of quiet is asked for."""
    levels = [-60.0] * 10 + ([-20.0] * 5 + [-60.0] * 3) * 4 + [-20.0] * 5
    assert _feed(QuietEnd(0.4), levels) == []


def test_noise_alone_never_ends_a_turn() -> None:
    """A line that only hisses (or is digitally silent) never counts as speech."""
    rng = np.random.default_rng(3)
    assert _feed(QuietEnd(0.4), list(-60 + rng.normal(0, 2, 200))) == []
    assert _feed(QuietEnd(0.4), [SILENCE_DB] * 50 + [-70.0] * 5 + [SILENCE_DB] * 20) == []


def test_reset_forgets_the_speech() -> None:
    """After the recogniser ended the turn itself, quiet alone does not end another."""
    detector = QuietEnd(0.4)
    _feed(detector, [-60.0] * 10 + [-20.0] * 5)
    detector.reset()
    assert _feed(detector, [-60.0] * 10) == []


@given(st.lists(st.floats(min_value=-90, max_value=0), max_size=300), st.floats(min_value=0.1, max_value=2.0))
def test_ends_need_speech_and_enough_quiet(levels: list[float], quiet_for: float) -> None:
    """Ends are at least quiet_for apart, and a level that never rises 12 dB above the rest ends nothing."""
    ends = _feed(QuietEnd(quiet_for), levels)
    need = round(quiet_for / BLOCK)
    assert all(b - a >= need for a, b in itertools.pairwise(ends))
    assert not ends or ends[0] + 1 >= need
    if levels and max(levels) - min(levels) < QuietEnd.SPEECH_ABOVE_FLOOR:
        assert ends == []
