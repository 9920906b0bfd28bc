"""Scenarios: realistic written calls through the whole chain, asserting alerts and coach steps in order."""

from __future__ import annotations

from typing import Any

from monitor.events import Alert, CallEnded, Coach, Event, Heat, Turn
from monitor.transcripts.replay import Replay


def call(*lines: tuple[str, str, float, float]) -> list[Turn]:
    """Turns from (speaker, text, start, end) lines, as a recognizer writes them."""
    return [
        Turn(call="c", t=end, speaker=who, text=text, start=start, end=end) for who, text, start, end in lines
    ]


def run(turns: list[Turn]) -> list[Event]:
    return list(Replay(turns, "c", agent="sam").events())


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events if isinstance(e, Alert)]


def prompts(events: list[Event]) -> list[Coach]:
    """The coach events that prompt the agent (progress-only ones, with an empty prompt, just tick steps)."""
    return [e for e in events if isinstance(e, Coach) and e.prompt]


def steps(events: list[Event]) -> list[str]:
    return [e.step for e in prompts(events)]


def summary(events: list[Event]) -> dict[str, Any]:
    end = events[-1]
    assert isinstance(end, CallEnded) and end.summary is not None
    return dict(end.summary)


ESCALATES_THEN_CALMED = call(
    ("agent", "thanks for calling northline this is sam how can i help", 0.5, 3.5),
    ("caller", "my name is dana and my internet has been down for three days", 4.2, 8.0),
    ("caller", "this is the third time calling and nobody helped me it is still not working", 9.0, 14.5),
    ("caller", "i have been on hold for an hour this is absolutely ridiculous and unacceptable", 15.3, 20.0),
    ("caller", "you people are useless i am sick and tired of this", 20.8, 24.5),
    ("agent", "i hear you", 25.0, 26.0),
    ("caller", "i want a refund and if this is not fixed today i will cancel my account", 26.8, 31.5),
    ("agent", "that must be so frustrating dana i understand why you are upset", 32.2, 36.0),
    ("caller", "yeah it is", 36.6, 37.5),
    ("agent", "when did the connection first drop and are the lights on the router red", 38.2, 42.5),
    ("caller", "sunday night and yes the light is red", 43.0, 45.5),
    (
        "agent",
        "you are absolutely right this should never have happened i will send an engineer tomorrow morning",
        46.3,
        52.0,
    ),
    ("caller", "okay thank you that is great i really appreciate it", 52.8, 56.0),
)


def test_escalating_caller_is_calmed_by_heat_steps() -> None:
    """Heat climbs with complaints to hot with alerts, the coach leads H, E, A, T, and heat falls."""
    events = run(ESCALATES_THEN_CALMED)
    alerts = kinds(events)
    assert alerts.index("repeat_contact") < alerts.index("hot")
    assert "escalation" in alerts and "abuse" in alerts
    escalation = next(e for e in events if isinstance(e, Alert) and e.kind == "escalation")
    assert "cancel my account" in escalation.evidence[0]
    coached = steps(events)
    assert coached and coached == sorted(coached, key="HEAT".index)  # in method order
    assert coached[0] == "H"
    result = summary(events)
    assert result["steps_done"] == {"H": True, "E": True, "A": True, "T": True}
    assert result["caller_name"] == "Dana"
    assert result["peak_heat"] >= 50 and result["final_heat"] < result["peak_heat"] / 2
    heats = [e for e in events if isinstance(e, Heat)]
    assert any("agent took step T" in r for e in heats for r in e.reasons)


CALM = call(
    ("agent", "good morning northline this is sam how can i help", 0.5, 3.5),
    ("caller", "hi i am moving house next month and want to move my broadband", 4.2, 8.0),
    ("agent", "no problem at all what is the new postcode", 8.6, 11.0),
    ("caller", "it is one two three four and the move is on the twentieth", 11.8, 15.5),
    ("agent", "lovely i have booked the move for the twentieth", 16.0, 19.0),
    ("caller", "no worries that sounds great thank you", 19.6, 22.0),
)


def test_calm_call_gets_no_alerts_and_no_prompts() -> None:
    """A calm call stays calm: no alert, no coach prompt, heat near zero."""
    events = run(CALM)
    assert kinds(events) == [] and steps(events) == []
    assert summary(events)["peak_heat"] < 10
    assert all(e.level == "calm" for e in events if isinstance(e, Heat))


ABUSIVE = call(
    ("agent", "northline support this is sam", 0.5, 2.5),
    ("caller", "my tv has not worked all week", 3.0, 5.5),
    ("agent", "i am sorry to hear that can you tell me what you see on the screen", 6.0, 9.5),
    ("caller", "a black screen you stupid idiot what do you think", 10.0, 13.0),
    ("caller", "you are all useless morons shut up and fix it", 13.8, 16.5),
    ("caller", "i swear this is the worst company in the world go to hell", 17.2, 20.5),
)


def test_abusive_caller_raises_abuse_alert_and_limit_setting_prompt() -> None:
    """Abuse raises an abuse alert with the caller's words, heat boils, the coach says set a limit."""
    events = run(ABUSIVE)
    alerts = [e for e in events if isinstance(e, Alert)]
    assert alerts[0].kind == "abuse" and "stupid idiot" in alerts[0].evidence[0]
    assert "boiling" in kinds(events)
    assert kinds(events).count("abuse") <= 2  # cooldown: no flood
    said = [e.prompt for e in prompts(events)]
    assert said and "abuse" in said[0].lower()


SUPERVISOR = call(
    ("agent", "thank you for calling this is sam", 0.5, 2.5),
    ("caller", "i need to speak to a supervisor please", 3.0, 5.5),
    ("agent", "i can help you with that can you tell me what happened", 6.0, 9.0),
    ("caller", "no i have explained this three times already i want to speak to your manager now", 9.6, 14.0),
    ("agent", "i understand", 14.5, 15.5),
    ("caller", "get me your supervisor or i am calling my lawyer", 16.0, 19.0),
)


def test_supervisor_request_raises_escalation_alert_with_evidence() -> None:
    """A supervisor request alerts at once, quoting the caller; a repeat does not, a new topic does."""
    events = run(SUPERVISOR)
    alerts = [e for e in events if isinstance(e, Alert)]
    assert alerts[0].kind == "escalation"
    assert alerts[0].evidence == ("i need to speak to a supervisor please",)
    assert "supervisor" in alerts[0].message
    escalations = [e for e in alerts if e.kind == "escalation"]
    # Asking for a manager again within the cooldown is not news; a lawyer is.
    assert [e.message for e in escalations] == [
        "Caller asks to escalate (supervisor)",
        "Caller asks to escalate (your supervisor, lawyer)",
    ]
    first_turn_t = next(e.t for e in events if isinstance(e, Turn) and e.speaker == "caller")
    assert alerts[0].t == first_turn_t


def test_agent_turns_never_carry_sentiment() -> None:
    """Policy: the agent's turns are never scored for emotion; caller turns always are."""
    for event in run(ESCALATES_THEN_CALMED):
        if isinstance(event, Turn):
            assert (event.sentiment is None) == (event.speaker == "agent")


def test_every_step_taken_reaches_the_checklist_once() -> None:
    """Prompt-less coach events only carry news: each changes the checklist the last coach event showed,
    and together the coach events end with the summary's steps done."""
    for scenario in (ESCALATES_THEN_CALMED, CALM, ABUSIVE, SUPERVISOR):
        events = run(scenario)
        shown: dict[str, bool] = {letter: False for letter in "HEAT"}
        for event in events:
            if isinstance(event, Coach):
                assert event.prompt or dict(event.done or {}) != shown, event
                shown = dict(event.done or {})
        assert shown == summary(events)["steps_done"]
