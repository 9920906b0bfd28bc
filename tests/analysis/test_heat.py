"""The heat model: bounds, decay, hysteresis, monotonicity (Hypothesis), and its reasons."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.analysis.heat import LEVELS, HeatModel, level_for
from monitor.analysis.settings import HeatSettings

scores = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)
words = st.integers(min_value=0, max_value=200)
gaps = st.floats(min_value=0.0, max_value=120.0, allow_nan=False)
confidences = st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0, allow_nan=False))
amounts = st.floats(min_value=0.0, max_value=500.0, allow_nan=False)

#: One step of a call: a caller turn, a rise (abuse, talk-over, ...) or a fall (an agent step).
steps = st.one_of(
    st.tuples(st.just("turn"), gaps, scores, words, confidences),
    st.tuples(st.just("rise"), gaps, amounts),
    st.tuples(st.just("fall"), gaps, amounts),
)


def play(model: HeatModel, plan: list[tuple[Any, ...]]) -> list[float]:
    """Apply steps in time order; return the heat after each."""
    t = 0.0
    seen = []
    for step in plan:
        kind, gap = step[0], float(step[1])
        t += gap
        if kind == "turn":
            model.caller_turn(t, float(step[2]), int(step[3]), step[4])
        elif kind == "rise":
            model.rise(t, float(step[2]), "test")
        else:
            model.fall(t, float(step[2]), "test")
        seen.append(model.value)
    return seen


@given(st.lists(steps, max_size=40))
def test_heat_stays_within_0_and_100(plan: list[tuple[object, ...]]) -> None:
    """Whatever happens on a call, heat stays within 0..100 and the level matches a known name."""
    model = HeatModel()
    for value in play(model, plan):
        assert 0.0 <= value <= 100.0
    assert model.level in LEVELS


@given(st.lists(steps, max_size=30))
def test_heat_decays_to_calm_with_time_and_no_input(plan: list[tuple[object, ...]]) -> None:
    """With no new input, any call is calm again after enough time (here 20 minutes)."""
    model = HeatModel()
    play(model, plan)
    before = model.value
    model.decay_to(model.t + 60.0)
    assert model.value <= before
    model.decay_to(model.t + 1200.0)
    assert model.level == "calm"
    assert model.value < 1.0


@given(st.floats(min_value=0, max_value=100, allow_nan=False), st.sampled_from(LEVELS))
def test_hysteresis_needs_the_gap_to_step_down(value: float, current: str) -> None:
    """A level is entered at its threshold but left only below threshold minus the gap."""
    s = HeatSettings()
    new = level_for(value, current, s)
    index, new_index = LEVELS.index(current), LEVELS.index(new)
    if new_index > index:
        assert value >= s.enter[new_index - 1]
    if new_index < index:
        assert value < s.enter[index - 1] - s.hysteresis
    # Just under the entry value of the current level is not enough to leave it.
    if index > 0:
        assert level_for(s.enter[index - 1] - s.hysteresis / 2, current, s) == current


@given(st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=2, max_size=60))
def test_levels_do_not_flap_around_a_threshold(values: list[float]) -> None:
    """Heat wobbling within the hysteresis band around a threshold changes level at most once."""
    s = HeatSettings()
    band = [s.enter[1] - s.hysteresis / 2 + (v / 100) * (s.hysteresis / 2 + 1) for v in values]
    level, changes = "warm", 0
    for value in band:
        new = level_for(value, level, s)
        changes += new != level
        level = new
    assert changes <= 1


@settings(max_examples=200)
@given(scores, scores, words, confidences, st.floats(min_value=0, max_value=99, allow_nan=False))
def test_heat_is_monotone_in_the_negativity_of_a_turn(
    a: float, b: float, n: int, confidence: float | None, start: float
) -> None:
    """A more negative caller turn never leaves the call cooler than a less negative one."""
    low, high = min(a, b), max(a, b)
    results = []
    for score in (low, high):
        model = HeatModel()
        model.rise(0.0, start, "start")
        model.caller_turn(5.0, score, n, confidence)
        results.append(model.value)
    assert results[0] >= results[1]


def test_long_confident_turn_heats_more_than_short_or_unsure_one() -> None:
    """Negative turns weigh by how much was said and by ASR confidence."""

    def heat_after(words: int, confidence: float | None) -> float:
        model = HeatModel()
        model.caller_turn(1.0, -0.8, words, confidence)
        return model.value

    assert heat_after(20, 0.95) > heat_after(2, 0.95)
    assert heat_after(20, 0.95) > heat_after(20, 0.4)


def test_reasons_are_collected_and_cleared() -> None:
    """Each update carries the reasons since the last one, then starts afresh."""
    model = HeatModel()
    model.caller_turn(3.0, -0.9, 15)
    model.rise(3.0, 12.0, "abuse: idiot")
    state = model.take()
    assert state.reasons == ("negative caller turn (score -0.90)", "abuse: idiot")
    assert state.value > 0 and state.trend > 0
    assert model.take().reasons == ()


def test_agent_steps_cool_the_call() -> None:
    """A fall (an agent's H.E.A.T. step) lowers heat at once, never below zero."""
    model = HeatModel()
    model.rise(1.0, 60.0, "x")
    model.fall(2.0, 8.0, "agent took step E: Empathize")
    assert model.value < 60.0
    model.fall(3.0, 500.0, "y")
    assert model.value == 0.0


def test_levels_and_peak_follow_the_value() -> None:
    """Entering boiling is reported as a level change; the peak and its time are kept."""
    model = HeatModel()
    model.rise(10.0, 90.0, "x")
    state = model.take()
    assert state.level == "boiling" and state.level_changed
    assert model.peak == model.value and model.peak_t == 10.0
