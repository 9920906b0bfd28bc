"""Audio levels: a turn's loudness, and ending a turn when the party goes quiet."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from monitor.speech.levels import SILENCE_DB, SPEECH_ABOVE_FLOOR, LevelTrack, QuietEnd, SilenceGate, block_db

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


def test_leading_digital_silence_does_not_hide_the_line_noise() -> None:
    """A leg that starts with digital silence (a phone system's leg not connected yet) and then
    hisses: quiet back at the hiss after speech still ends the turn, at the 4th quiet block."""
    levels = [SILENCE_DB] * 10 + [-60.0] * 10 + [-20.0] * 15 + [-60.0] * 20
    assert _feed(QuietEnd(0.4), levels) == [38]


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
    if levels and max(levels) - min(levels) < SPEECH_ABOVE_FLOOR:
        assert ends == []


def _through_gate(
    gate: SilenceGate, levels: list[float], busy: frozenset[int] = frozenset()
) -> tuple[list[int], int]:
    """Feed a block per level (its index as a marker in the PCM); close the gate whenever it is
    idle, except on `busy` blocks (the recogniser still has an utterance open).
    Returns the markers of the blocks that reached the recogniser, and the samples dropped."""
    passed: list[int] = []
    dropped = 0
    for i, db in enumerate(levels):
        audio, lost = gate.admit(np.full(800, i, dtype="<i2").tobytes(), db)
        dropped += lost
        passed += sorted(set(np.frombuffer(audio, dtype="<i2").tolist()))
        if gate.idle and i not in busy:
            gate.close()
    return passed, dropped


def test_gate_drops_long_silence_and_keeps_the_lead_in() -> None:
    """After 0.6 s without sound the gate closes; sound opens it with 0.5 s of pre-roll first."""
    levels = [-70.0] * 3 + [-20.0] * 5 + [-70.0] * 20 + [-20.0] * 5
    passed, dropped = _through_gate(SilenceGate(8000), levels)
    # 6 quiet blocks after the speech (8-13) are decoded, then 14-22 dropped, 23-27 the pre-roll
    assert passed == list(range(0, 14)) + list(range(23, 33))
    assert dropped == 9 * 800


def test_gate_stays_open_while_the_recogniser_has_an_utterance() -> None:
    """The recogniser decides: while it still has words open, nothing is dropped."""
    levels = [-70.0] * 3 + [-20.0] * 5 + [-70.0] * 20
    passed, dropped = _through_gate(SilenceGate(8000), levels, busy=frozenset(range(28)))
    assert passed == list(range(28)) and dropped == 0


def test_soft_speech_opens_the_gate() -> None:
    """Sound 9 dB above the line noise is enough: a soft voice is never dropped."""
    levels = [-70.0] * 20 + [-60.0] * 3 + [-70.0] * 3
    passed, _ = _through_gate(SilenceGate(8000), levels)
    assert {20, 21, 22} <= set(passed)


@given(st.lists(st.floats(min_value=-90, max_value=0), max_size=200))
def test_gate_accounts_for_every_block(levels: list[float]) -> None:
    """Every block is decoded once and in order, dropped, or still held as pre-roll (at most 0.5 s)."""
    passed, dropped = _through_gate(SilenceGate(8000), levels)
    held = len(levels) - len(passed) - dropped // 800
    assert passed == sorted(set(passed))
    assert 0 <= held <= 5
