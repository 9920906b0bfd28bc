"""The terminal view's lines for coach events: prompts with phrases, and steps ticked without a prompt."""

from __future__ import annotations

from monitor.console import ConsoleView
from monitor.events import Coach

DONE = {"H": True, "E": True, "A": False, "T": False}


def test_coach_prompt_reads_as_step_prompt_and_phrases() -> None:
    """A prompt shows its step, what to do and the phrases to say."""
    event = Coach(call="c1", t=12.0, step="A", prompt="Ask what happened.", phrases=("When?", "Where?"))
    assert ConsoleView.format(event) == "[c1 00:12.0] COACH A: Ask what happened.  say: When? | Where?"


def test_progress_only_coach_event_lists_the_steps_done_not_an_empty_prompt() -> None:
    """A prompt-less coach event is not shown as a prompt: it lists the steps done and the next one."""
    event = Coach(call="c1", t=12.0, step="A", prompt="", done=DONE)
    assert ConsoleView.format(event) == "[c1 00:12.0] STEPS done: H, E; next A"
    finished = Coach(call="c1", t=30.0, step="T", prompt="", done=dict.fromkeys("HEAT", True))
    assert ConsoleView.format(finished) == "[c1 00:30.0] STEPS done: H, E, A, T"
