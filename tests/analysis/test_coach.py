"""The H.E.A.T. coach: step detection from agent turns, prompts, name and summary line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.analysis.coach import Coach
from monitor.analysis.playbook import BUNDLED_PLAYBOOK, Playbook, bundled_playbook, is_question
from monitor.errors import InputError


@pytest.fixture
def coach() -> Coach:
    return Coach(bundled_playbook())


def complain(coach: Coach, t: float = 10.0, level: str = "hot") -> list[object]:
    """A caller complaint that raises a problem (so questions count) on a heated call."""
    return list(coach.on_caller_turn(t, "my internet is still not working", -0.7, 3, level, "default"))


def test_hear_done_by_back_channel_or_letting_the_caller_finish(coach: Coach) -> None:
    """H counts with back-channel words ("uh huh") or after a long caller turn the agent let finish."""
    assert coach.on_agent_turn(5.0, "uh huh", let_finish=False, talked_over=False) == ["H"]
    other = Coach(bundled_playbook())
    assert other.on_agent_turn(5.0, "okay", let_finish=True, talked_over=False) == ["H"]


def test_talking_over_the_caller_is_not_hearing_them(coach: Coach) -> None:
    """An agent turn that talked over the caller does not count as H, even with "i see"."""
    assert "H" not in coach.on_agent_turn(5.0, "i see but", let_finish=True, talked_over=True)


def test_empathy_phrase_marks_e_and_sympathy_earns_a_warning(coach: Coach) -> None:
    """Empathy phrases mark E; joining in blaming the company returns a warning for E."""
    assert "E" in coach.on_agent_turn(5.0, "that must be really frustrating", False, False)
    marks = coach.on_agent_turn(9.0, "i know right they are useless here", False, False)
    assert "!E" in marks
    advice = coach.warning(9.0, "E", "hot")
    assert advice and "sympathy" in advice[0].prompt.lower()
    assert advice[0].step == "E"


@pytest.mark.parametrize(
    "said",
    [
        "i completely understand thats really frustrating",  # "thats frustrating" with a stress word
        "oh that is so frustrating",
        "im really so sorry you went through that",
        "oh im sorry about that let me take a look",
    ],
)
def test_empathy_survives_stress_words_between_its_words(said: str) -> None:
    """Intensifiers (playbook data) may sit inside an empathy phrase; other words may not."""
    assert "E" in Coach(bundled_playbook()).on_agent_turn(5.0, said, False, False)


def test_only_intensifiers_may_sit_inside_a_phrase() -> None:
    """ "thats not frustrating" is no empathy: only the playbook's intensifiers are skipped."""
    coach = Coach(bundled_playbook())
    assert "E" not in coach.on_agent_turn(5.0, "well thats not frustrating at all", False, False)
    plain = Playbook.from_dict({**json.loads(BUNDLED_PLAYBOOK.read_text()), "intensifiers": []})
    assert "E" not in Coach(plain).on_agent_turn(5.0, "thats really frustrating", False, False)


def test_questions_are_recognised_without_punctuation(coach: Coach) -> None:
    """A question word or verb leading a clause is a question, no '?' needed."""
    assert is_question(["and", "when", "did", "it", "stop", "working"])
    assert is_question(["are", "the", "lights", "on", "the", "modem", "red"])
    assert not is_question(["i", "will", "check", "that", "for", "you", "now"])
    complain(coach)
    assert "A" in coach.on_agent_turn(12.0, "when did this start exactly", False, False)


def test_greeting_question_does_not_count_as_ask(coach: Coach) -> None:
    """ "how can i help you" at the start of a call is not a clarifying question."""
    assert "A" not in coach.on_agent_turn(2.0, "northline this is priya how can i help you", False, False)
    complain(coach)
    assert "A" not in coach.on_agent_turn(12.0, "how can i help", False, False)


def test_take_responsibility_needs_ownership_and_a_next_step(coach: Coach) -> None:
    """T counts only once the agent owns the problem and says what happens next (across turns)."""
    assert "T" not in coach.on_agent_turn(
        5.0, "youre absolutely right this should never have happened", False, False
    )
    assert "T" in coach.on_agent_turn(9.0, "i have booked an engineer for tomorrow at eight", False, False)


def test_no_prompt_on_a_calm_call(coach: Coach) -> None:
    """The coach stays silent while the call is calm."""
    assert coach.on_caller_turn(5.0, "i would like to upgrade my plan", 0.3, None, "calm", "default") == []
    assert coach.suggest(6.0, "calm") == []


def test_prompts_are_rate_limited_and_done_steps_not_asked_again(coach: Coach) -> None:
    """After a prompt the coach waits; a step once done is never suggested again."""
    first = coach.suggest(10.0, "hot")
    assert [a.step for a in first] == ["H"]
    assert coach.suggest(15.0, "hot") == []  # global cooldown
    coach.on_agent_turn(16.0, "i see go on", False, False)
    nxt = coach.suggest(40.0, "hot")
    assert [a.step for a in nxt] == ["E"]
    assert nxt[0].done == {"H": True, "E": False, "A": False, "T": False}
    assert all(a.step != "H" for a in coach.suggest(200.0, "boiling"))


def test_phrases_fit_the_situation(coach: Coach) -> None:
    """A repeat caller gets repeat-contact phrases; an abusive one gets the limit-setting prompt."""
    coach.on_agent_turn(1.0, "uh huh", False, False)
    advice = coach.on_caller_turn(
        10.0, "this is the third time i am calling", -0.5, None, "hot", "repeat_contact"
    )
    assert advice[0].step == "E"
    assert any("call again" in p or "more than once" in p for p in advice[0].phrases)
    other = Coach(bundled_playbook())
    abuse = other.on_caller_turn(10.0, "you idiot", -0.9, None, "hot", "abuse")
    assert "abuse" in abuse[0].prompt.lower()
    assert 2 <= len(abuse[0].phrases) <= 3


def test_caller_name_is_captured_and_used(coach: Coach) -> None:
    """ "my name is maria" gives the name, which the suggested phrases then use."""
    coach.on_caller_turn(3.0, "hi my name is maria and my bill is wrong", -0.3, None, "calm", "default")
    assert coach.caller_name == "Maria"
    coach.on_agent_turn(4.0, "uh huh", False, False)
    advice = coach.suggest(20.0, "hot")
    assert any("Maria" in p for p in advice[0].phrases)


def test_name_given_after_the_agent_asks_for_it(coach: Coach) -> None:
    """When the agent asks for the name, the caller's answer starts with it ("its marcus bell")."""
    coach.on_agent_turn(3.0, "can i get your name please", False, False)
    coach.on_caller_turn(5.0, "its marcus bell", 0.0, None, "calm", "default")
    assert coach.caller_name == "Marcus"


def test_summary_line_uses_the_callers_own_words(coach: Coach) -> None:
    """The summary-back line repeats the complaint clause, turned from "my" to "your"."""
    coach.on_caller_turn(
        3.0, "i lost a day of pay and my internet still doesnt work", -0.7, 8, "hot", "default"
    )
    line = coach.summary_line()
    assert "your internet still doesn't work" in line
    coach.on_agent_turn(4.0, "uh huh", False, False)
    coach.on_agent_turn(5.0, "that must be hard", False, False)
    advice = coach.suggest(40.0, "hot")
    assert advice[0].step == "A" and advice[0].phrases[0] == line


def test_team_playbook_can_make_a_apologize(tmp_path: Path) -> None:
    """A team's playbook file (A = Apologize) changes the letters, detection and phrases."""
    data = json.loads(BUNDLED_PLAYBOOK.read_text(encoding="utf-8"))
    data["steps"][2] = {
        "letter": "A",
        "name": "Apologize",
        "prompt": "Apologize sincerely for the trouble.",
        "detect": {"kind": "phrases", "phrases": ["i apologize", "im sorry for"]},
        "phrases": {"default": ["I apologize for the trouble this has caused.", "I'm sorry for the wait."]},
    }
    path = tmp_path / "playbook.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    coach = Coach(Playbook.from_file(path))
    coach.on_agent_turn(1.0, "uh huh", False, False)
    coach.on_agent_turn(2.0, "that must be hard", False, False)
    advice = coach.suggest(30.0, "hot")
    assert advice[0].prompt == "Apologize sincerely for the trouble."
    assert "A" in coach.on_agent_turn(31.0, "i apologize for that", False, False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(steps=[]), "non-empty 'steps'"),
        (lambda d: d["steps"][0].pop("prompt"), "missing 'prompt'"),
        (lambda d: d["steps"][1]["detect"].update(kind="telepathy"), "detect.kind"),
        (lambda d: d["steps"][1].update(letter="H"), "unique"),
        (lambda d: d["coaching"].update(min_level="tepid"), "min_level"),
    ],
)
def test_bad_playbook_is_a_clear_error(tmp_path: Path, change: object, message: str) -> None:
    """A playbook with a missing or misshapen key raises InputError saying which."""
    data = json.loads(BUNDLED_PLAYBOOK.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match=message):
        Playbook.from_file(path)


def test_excuses_earn_a_take_responsibility_warning_once_per_cooldown(coach: Coach) -> None:
    """ "company policy" on a heated call earns a T warning at once, but not again within the cooldown."""
    coach.suggest(10.0, "hot")
    marks = coach.on_agent_turn(12.0, "theres nothing i can do its company policy", False, False)
    assert "!T" in marks
    first = coach.warning(12.0, "T", "hot")
    assert first and first[0].step == "T" and "excuses" in first[0].prompt
    coach.on_agent_turn(20.0, "its company policy", False, False)
    assert coach.warning(20.0, "T", "hot") == []
    assert coach.warning(60.0, "T", "hot") != []
