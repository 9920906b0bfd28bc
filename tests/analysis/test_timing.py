"""Coach and heat timing, pinned on held-out written calls (tests/analysis/calls) and short lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.analysis.chain import CallAnalysis
from monitor.analysis.coach import Coach
from monitor.analysis.lexicon import BUNDLED_LEXICON, Lexicon
from monitor.analysis.playbook import BUNDLED_PLAYBOOK, Playbook, bundled_playbook
from monitor.analysis.sentiment import TurnScorer
from monitor.errors import InputError
from monitor.events import Alert, CallEnded, Event, Heat, Turn
from monitor.events import Coach as CoachEvent
from monitor.transcripts.replay import Replay

CALLS = Path(__file__).parent / "calls"
ABUSE = bundled_playbook().abuse_prompt
DEFENSIVE = getattr(bundled_playbook(), "defensive_message", "")


def replay(name: str) -> list[Event]:
    turns = []
    for line in (CALLS / f"{name}.jsonl").read_text().splitlines():
        raw = json.loads(line)
        turns.append(Turn(call=raw["call"], t=raw["end"], speaker=raw["speaker"], text=raw["text"],
                          start=raw["start"], end=raw["end"]))  # fmt: skip
    return list(Replay(turns, name, agent="sam").events())


def prompts(events: list[Event]) -> list[CoachEvent]:
    return [e for e in events if isinstance(e, CoachEvent) and e.prompt]


def test_abuse_advice_does_not_wait_behind_the_prompt_cooldown() -> None:
    """The limit-setting advice goes out at the first abusive turn, though a prompt went out 12 s before."""
    events = replay("abuse-after-listening")
    abuse_at = next(e.t for e in events if isinstance(e, Alert) and e.kind == "abuse")
    assert [p.t for p in prompts(events) if p.prompt == ABUSE][:1] == [abuse_at]


def test_a_satisfied_caller_ends_the_call_calm() -> None:
    """Thanks and "perfect" after the agent owned the problem settle a boiling call to calm."""
    events = replay("abuse-after-listening")
    end = events[-1]
    assert isinstance(end, CallEnded) and end.summary is not None
    assert end.summary["peak_heat"] >= 75
    assert end.summary["final_level"] == "calm"
    last = [e for e in events if isinstance(e, Heat)][-1]
    assert any(r.startswith("caller is satisfied") for r in last.reasons)


def test_a_satisfied_word_in_a_complaint_does_not_cool() -> None:
    """ "thanks" inside a complaint is no sign of a settled call: no satisfied cooling."""
    analysis = CallAnalysis("c")
    analysis.on_turn(
        Turn(
            call="c", t=5, speaker="caller", text="this is ridiculous it is still not working", start=1, end=5
        )
    )
    events = analysis.on_turn(
        Turn(call="c", t=9, speaker="caller", text="thanks but it is still not working", start=7, end=9)
    )
    reasons = [r for e in events if isinstance(e, Heat) for r in e.reasons]
    assert not any(r.startswith("caller is satisfied") for r in reasons)


def test_at_a_boiling_peak_the_coach_moves_on_to_e_then_t() -> None:
    """H was prompted and not taken: at boiling the coach prompts E, then T, not H again."""
    coach = Coach(bundled_playbook())
    assert [a.step for a in coach.suggest(0.0, "hot")] == ["H"]
    assert [a.step for a in coach.suggest(25.0, "boiling")] == ["E"]
    assert [a.step for a in coach.suggest(50.0, "boiling")] == ["T"]
    assert [a.step for a in coach.suggest(100.0, "hot")] == ["H"]  # below boiling: the method's order


def _turn(speaker: str, text: str, start: float, end: float) -> Turn:
    return Turn(call="c", t=end, speaker=speaker, text=text, start=start, end=end)


def _heat_after(events: list[Event]) -> float | None:
    values = [e.value for e in events if isinstance(e, Heat)]
    return values[-1] if values else None


def test_a_step_cools_only_once_the_callers_next_turn_bears_it_out() -> None:
    """ "uh huh i see" after a manager demand cools nothing at once, nor when the caller demands again."""
    analysis = CallAnalysis("c")
    analysis.on_turn(
        _turn("caller", "this is ridiculous i have been waiting a week and it is still broken", 1, 6)
    )
    analysis.on_turn(_turn("caller", "i want to speak to a manager right now", 7, 9.5))
    before = analysis.heat.value
    assert _heat_after(analysis.on_turn(_turn("agent", "uh huh i see", 10, 11))) is None
    assert analysis.heat.value > before - 1  # only decay over a second
    events = analysis.on_turn(_turn("caller", "get me a manager now this is unacceptable", 11.5, 14))
    reasons = [r for e in events if isinstance(e, Heat) for r in e.reasons]
    assert any("step H" in r and "not borne out" in r for r in reasons)
    assert not any(r == "agent took step H: Hear them out" for r in reasons)


def test_a_step_borne_out_by_a_calm_answer_cools_in_full() -> None:
    """The same step followed by a calm answer takes the playbook's relief off at that answer."""
    analysis = CallAnalysis("c")
    analysis.on_turn(
        _turn("caller", "this is ridiculous i have been waiting a week and it is still broken", 1, 6)
    )
    analysis.on_turn(_turn("agent", "that must be so frustrating i understand why you are upset", 6.5, 9))
    before = analysis.heat.value
    events = analysis.on_turn(_turn("caller", "yes it has been", 9.5, 10.5))
    reasons = [r for e in events if isinstance(e, Heat) for r in e.reasons]
    assert "agent took step E: Empathize" in reasons
    assert analysis.heat.value < before - 7


def test_empathy_taken_back_or_said_over_the_caller_is_not_credited() -> None:
    """ "i understand why but ..." and empathy said over the caller do not tick E; plain empathy does."""
    coach = Coach(bundled_playbook())
    assert "E" not in coach.on_agent_turn(1.0, "i understand why but thats how it works", False, False)
    assert "E" not in coach.on_agent_turn(2.0, "i am so sorry to hear that", False, True)
    assert "H" not in coach.on_agent_turn(3.0, "i understand but", False, False)
    assert "E" in coach.on_agent_turn(4.0, "i am so sorry to hear that", False, False)


def test_defensive_agent_lines_raise_the_never_fight_back_warning() -> None:
    """Each defensive line (system shows, not my department, calm down) is warned and takes no step."""
    events = replay("defensive-agent")
    warned = {p.t for p in prompts(events) if p.prompt == DEFENSIVE}
    assert warned == {11.6, 18.7, 28.4}
    end = events[-1]
    assert isinstance(end, CallEnded) and end.summary is not None
    assert end.summary["steps_done_at"]["H"] == 23.4  # "uh huh i see", not the line that argued


def test_the_stronger_of_two_readings_of_a_phrase_wins() -> None:
    """ "dont talk to me" is under anger (-2.0) and refusal (-3.5): it counts at -3.5."""
    cues = TurnScorer().score("dont talk to me").cues
    assert [(c.category, c.valence) for c in cues] == [("refusal", -3.5)]


def test_lexicon_mends_from_the_error_analysis() -> None:
    """A negated "like" is a dislike; direct debits, "excuse me could i" and "im afraid so" are not anger."""
    scorer = TurnScorer()
    dislike = scorer.score("i dont like this")
    # The filler rule keeps VADER's negative reading (the learned layer may only deepen it).
    assert dislike.compound < 0 and dislike.score <= dislike.compound
    assert scorer.score("i like this the way it is").score == scorer.score("i this the way it is").score
    for polite in (
        "stop my direct debit",
        "excuse me could i ask something",
        "what are we supposed to call you",
    ):
        assert scorer.score(polite).score >= 0, polite
    afraid = scorer.score("i'm afraid so")
    assert afraid.score == 0.0 and "politeness" in afraid.categories()


def test_malformed_timing_and_mend_keys_are_refused_with_a_clear_error() -> None:
    """Misshapen playbook `defensive` or `at_boiling`, or lexicon `when_negated`: an InputError."""
    playbook = json.loads(BUNDLED_PLAYBOOK.read_text())
    for bad in ({"defensive": ["calm down"]}, {"coaching": {"at_boiling": ["X"]}}):
        with pytest.raises(InputError, match="playbook"):
            Playbook.from_dict({**playbook, **bad})
    lexicon = json.loads(BUNDLED_LEXICON.read_text())
    lexicon["slips"] = {**lexicon["slips"], "when_negated": "like"}
    with pytest.raises(InputError, match="when_negated"):
        Lexicon.from_dict(lexicon)


def test_a_statement_with_a_verb_before_a_subject_is_not_a_question() -> None:
    """ "i can do that best if ..." sets a limit and does not tick A; a real question does."""
    coach = Coach(bundled_playbook())
    coach.on_caller_turn(0.0, "it is still not working", -0.5, None, "warm", "default")
    assert "A" not in coach.on_agent_turn(1.0, "i can do that best if we keep this respectful", False, False)
    assert "A" not in coach.on_agent_turn(2.0, "it was the router all along", False, False)
    assert "A" in coach.on_agent_turn(3.0, "and do you have the account number", False, False)
