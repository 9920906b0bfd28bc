"""CallAnalysis, the interface the live pipeline drives: turns, ticks, speech signals, summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.analysis.chain import CallAnalysis
from monitor.analysis.heat import HeatState
from monitor.analysis.turn_facts import decay_reason
from monitor.events import Alert, Coach, Heat, Turn


def turn(speaker: str, text: str, start: float, end: float, **extra: object) -> Turn:
    return Turn(call="live", t=end, speaker=speaker, text=text, start=start, end=end, **extra)  # type: ignore[arg-type]


def test_on_turn_returns_the_enriched_turn_first() -> None:
    """A caller turn comes back first with raw VADER and heatmon's score, then what it caused."""
    analysis = CallAnalysis("live")
    events = analysis.on_turn(turn("caller", "nobody helped me and it is still not working", 1.0, 4.0))
    first = events[0]
    assert isinstance(first, Turn) and first.sentiment is not None
    assert first.sentiment["compound"] == 0.0 and first.sentiment["score"] < -0.3
    assert isinstance(events[1], Heat) and "problem: still not working" in events[1].reasons


def test_agent_turn_is_not_scored() -> None:
    """Agent turns come back without sentiment even if the pipeline sent one."""
    analysis = CallAnalysis("live")
    events = analysis.on_turn(turn("agent", "i hate this", 0.0, 1.0, sentiment={"compound": -0.6}))
    assert isinstance(events[0], Turn) and events[0].sentiment is None


def test_loud_fast_caller_heats_more_than_the_same_words_calmly() -> None:
    """Loudness and speech rate above the caller's own baseline add heat, with reasons."""

    def heat_after(loudness: float, rate: float) -> tuple[float, tuple[str, ...]]:
        analysis = CallAnalysis("live")
        for i in range(3):
            analysis.on_turn(
                turn(
                    "caller",
                    "i would like to check my bill",
                    i * 5.0,
                    i * 5.0 + 3,
                    loudness_db=-30.0,
                    rate_wps=2.5,
                )
            )
        events = analysis.on_turn(
            turn("caller", "why is it so high", 20.0, 22.0, loudness_db=loudness, rate_wps=rate)
        )
        reasons = tuple(r for e in events if isinstance(e, Heat) for r in e.reasons)
        return analysis.heat.value, reasons

    calm_value, _ = heat_after(-30.0, 2.5)
    loud_value, reasons = heat_after(-18.0, 4.0)
    assert loud_value > calm_value
    assert any("louder than usual (+12 dB)" in r for r in reasons)
    assert any("speaking fast" in r for r in reasons)


def test_talk_over_from_turn_times_alone() -> None:
    """Overlapping turn times are talk-over: an alert quoting the caller, and H not counted."""
    analysis = CallAnalysis("live")
    analysis.on_turn(turn("caller", "the engineer never came and i waited all day", 0.0, 6.0))
    events = analysis.on_turn(turn("agent", "i see well our policy is", 4.0, 7.0))
    alert = next(e for e in events if isinstance(e, Alert))
    assert alert.kind == "talk_over" and alert.evidence == ("the engineer never came and i waited all day",)
    assert analysis.summary()["steps_done"]["H"] is False


def test_dead_air_from_ticks_and_speech_signal() -> None:
    """Silence on a live call becomes a dead_air alert once; speech (on_speech) prevents it."""
    analysis = CallAnalysis("live")
    analysis.on_turn(turn("caller", "my bill is wrong", 0.0, 2.0))
    quiet = [e for t in range(3, 20) for e in analysis.on_tick(float(t))]
    assert [e.kind for e in quiet if isinstance(e, Alert)] == ["dead_air"]
    busy = CallAnalysis("live")
    busy.on_turn(turn("caller", "my bill is wrong", 0.0, 2.0))
    busy.on_speech("caller", 3.0, True)
    assert not [e for t in range(3, 20) for e in busy.on_tick(float(t)) if isinstance(e, Alert)]


def test_long_monologue_prompts_hear_them_out_on_a_warm_call() -> None:
    """A caller venting for over 30 s on a heated call gets the agent an H prompt."""
    analysis = CallAnalysis("live")
    analysis.on_turn(
        turn("caller", "this is unacceptable you people are useless i am sick and tired", 0.0, 5.0)
    )
    analysis.on_speech("caller", 6.0, True)
    events = [e for t in range(7, 45) for e in analysis.on_tick(float(t))]
    coach = [e for e in events if isinstance(e, Coach)]
    assert coach and coach[0].step == "H"


def test_summary_has_peak_steps_and_alerts() -> None:
    """summary() gives peak heat, steps done with times, alerts and counts for call_ended."""
    analysis = CallAnalysis("live")
    analysis.on_turn(turn("caller", "i want to speak to your manager this is ridiculous", 0.0, 4.0))
    analysis.on_turn(turn("agent", "i understand that must be frustrating", 4.5, 6.0))
    summary = analysis.summary()
    assert summary["peak_heat"] > 0 and summary["alerts"][0]["kind"] == "escalation"
    assert summary["steps_done"]["E"] is True and summary["steps_done_at"]["E"] == 6.0
    assert summary["caller_turns"] == 1 and summary["agent_turns"] == 1


def test_live_talk_over_from_speech_signal_is_reported_once() -> None:
    """Both parties speaking (on_speech) is talk-over at the next tick, not again when the turns end."""
    analysis = CallAnalysis("live")
    analysis.on_speech("caller", 1.0, True)
    analysis.on_speech("agent", 3.0, True)
    live = [e for t in (2.0, 3.0, 4.0, 5.0) for e in analysis.on_tick(t)]
    assert [e.kind for e in live if isinstance(e, Alert)] == ["talk_over"]
    later = analysis.on_turn(turn("caller", "the engineer never came", 1.0, 6.0))
    later += analysis.on_turn(turn("agent", "i see well our policy says", 3.0, 7.0))
    assert not [e for e in later if isinstance(e, Alert) and e.kind == "talk_over"]
    assert analysis.summary()["talk_overs"] == 1
    assert analysis.summary()["steps_done"]["H"] is False  # the agent's turn talked over the caller


WORDS = (
    "i",
    "you",
    "my",
    "your",
    "not",
    "no",
    "never",
    "manager",
    "supervisor",
    "cancel",
    "lawyer",
    "idiot",
    "still",
    "working",
    "third",
    "time",
    "calling",
    "hold",
    "hour",
    "sorry",
    "see",
    "understand",
    "when",
    "did",
    "right",
    "fix",
    "tomorrow",
    "name",
    "is",
    "maria",
    "the",
    "bill",
    "wrong",
    "please",
    "thanks",
)

steps = st.one_of(
    st.tuples(
        st.just("turn"),
        st.sampled_from(["caller", "agent"]),
        st.lists(st.sampled_from(WORDS), max_size=25).map(" ".join),
        st.floats(min_value=0, max_value=600, allow_nan=False),
        st.floats(min_value=0, max_value=40, allow_nan=False),
        st.one_of(st.none(), st.floats(min_value=-60, max_value=0, allow_nan=False)),
        st.one_of(st.none(), st.floats(min_value=0, max_value=1, allow_nan=False)),
    ),
    st.tuples(st.just("tick"), st.floats(min_value=0, max_value=600, allow_nan=False)),
    st.tuples(st.just("speech"), st.sampled_from(["caller", "agent"]), st.floats(0, 600), st.booleans()),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(steps, max_size=40))
def test_any_call_keeps_heat_in_bounds_and_agents_unscored(plan: list[tuple[Any, ...]]) -> None:
    """Random turns, ticks and speech signals, in any order: no crash, heat 0..100, agents unscored."""
    analysis = CallAnalysis("fuzz")
    last_t = 0.0
    for step in plan:
        if step[0] == "turn":
            _, who, text, start, length, loudness, confidence = step
            events = analysis.on_turn(
                turn(
                    str(who),
                    str(text),
                    float(start),
                    float(start) + float(length),
                    loudness_db=loudness,
                    confidence=confidence,
                )
            )
            first = events[0]
            assert isinstance(first, Turn) and (first.sentiment is None) == (who == "agent")
        elif step[0] == "tick":
            events = analysis.on_tick(float(step[1]))
        else:
            events = analysis.on_speech(str(step[1]), float(step[2]), bool(step[3]))
        for event in events[1:] if step[0] == "turn" else events:
            assert event.t >= last_t  # events never go back in time
            last_t = event.t
        for event in events:
            if isinstance(event, Heat):
                assert 0.0 <= event.value <= 100.0 and event.reasons
            event.to_json()
    summary = analysis.summary()
    assert 0.0 <= summary["peak_heat"] <= 100.0


def coach_events(events: Sequence[object]) -> list[Coach]:
    return [e for e in events if isinstance(e, Coach)]


def test_calm_call_ticks_the_step_taken_with_a_prompt_less_coach_event() -> None:
    """On a calm call, empathy ticks E in a coach event with no prompt; the same checklist is not re-sent."""
    analysis = CallAnalysis("live")
    analysis.on_turn(turn("caller", "hi my internet keeps dropping in the evenings", 0.0, 4.0))
    events = analysis.on_turn(turn("agent", "that must be annoying", 4.5, 6.0))
    assert analysis.heat.level == "calm"
    (progress,) = coach_events(events)
    assert progress.prompt == "" and tuple(progress.phrases) == ()
    assert progress.done == {"H": False, "E": True, "A": False, "T": False}
    assert progress.step == "H"  # the first step not done yet
    assert analysis.summary()["coach_prompts"] == 0  # ticking a step is not a prompt

    again = analysis.on_turn(turn("agent", "that must be annoying", 6.5, 8.0))
    again += analysis.on_turn(turn("caller", "yes it is", 8.5, 9.5))
    again += analysis.on_turn(turn("agent", "okay", 10.0, 10.5))
    assert coach_events(again) == []


def test_prompt_less_coach_event_names_the_last_step_once_all_are_done() -> None:
    """When the agent has taken every step, the progress event still names a step: the last one."""
    analysis = CallAnalysis("live")
    analysis.on_turn(turn("caller", "my internet keeps dropping in the evenings", 0.0, 4.0))
    analysis.on_turn(turn("agent", "i see that must be annoying", 4.5, 6.0))
    analysis.on_turn(turn("agent", "when did it start dropping", 6.5, 8.0))
    events = analysis.on_turn(
        turn("agent", "you are absolutely right i will send an engineer tomorrow morning", 8.5, 12.0)
    )
    (progress,) = coach_events(events)
    assert progress.prompt == "" and progress.step == "T"
    assert progress.done is not None and all(progress.done.values())


def test_falling_heat_explains_itself_in_agreement_with_the_trend_arrow() -> None:
    """Heat that fell with nothing new said while the trend over its window is still up says
    so in the arrow's own terms (never "easing off" alone beside "up +79/min"), and "cooling
    down" once the trend is down too."""

    def state(value: float, trend: float) -> HeatState:
        return HeatState(value=value, level="warm", level_changed=False, trend=trend, reasons=())

    assert decay_reason(state(66.0, 79.0), sent=70.0, window=30.0) == (
        "up over the last 30 s, easing off now",
    )
    assert decay_reason(state(40.0, -3.0), sent=45.0, window=30.0) == ("cooling down over time",)
    assert decay_reason(state(40.0, 0.0), sent=45.0, window=30.0) == ("cooling down over time",)
    assert decay_reason(state(45.0, 5.0), sent=45.0, window=30.0) == ()


def test_an_escalation_topic_is_used_up_only_by_an_alert_that_is_raised() -> None:
    """An alert refused for evidence already shown does not spend its topic: the next alert with
    new words on that topic still passes the cooldown as news."""
    from monitor.analysis.alerts import AlertBoard

    board = AlertBoard()
    assert board.raise_alert(0.0, "escalation", ("get me a manager",), "manager", ("manager",))
    assert not board.raise_alert(5.0, "escalation", ("get me a manager",), "lawyer", ("lawyer",))
    raised = board.raise_alert(9.0, "escalation", ("i will call my lawyer",), "lawyer", ("lawyer",))
    assert [n.message for n in raised] == ["Caller asks to escalate (lawyer)"]


def test_topics_are_data_a_team_can_edit() -> None:
    """The escalation topics come from models/topics.json; a malformed table is a clear error."""
    import pytest

    from monitor.analysis.topics import Topics, bundled_topics
    from monitor.errors import InputError

    assert bundled_topics().of("speak to your supervisor") == "manager"
    assert bundled_topics().of("see you in court") == "see you in court"  # no topic word: itself
    own = Topics.from_dict({"topics": {"regulator": ["ofcom", "fca"]}})
    assert own.of("i will go to ofcom") == "regulator"
    for bad in [[], {"topics": []}, {"topics": {"x": "manager"}}, {"topics": {"x": [""]}}]:
        with pytest.raises(InputError, match="topics"):
            Topics.from_dict(bad)
