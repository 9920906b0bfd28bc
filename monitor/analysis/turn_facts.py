"""Facts read off one turn for the call's analysis: when it became known, what situation it
puts the call in, where its problem is, what the anger layer says of it, why heat fell.

Pure functions of a turn and its score; `monitor.analysis.chain` acts on them.
"""

from __future__ import annotations

from monitor.analysis.cues import TimingCue
from monitor.analysis.heat import HeatState
from monitor.analysis.lexicon import tokens_of
from monitor.analysis.sentiment import TurnScore
from monitor.events import Turn


def known_at(turn: Turn) -> float:
    """When the turn became known: its event time (live: after endpointing), never before its end.

    Events a turn causes carry this time, so they never come before the turn itself.
    """
    return max(turn.t, turn.end)


def anger_label(score: TurnScore, reason_at: float) -> str:
    """The anger layer's explanation of a turn it finds angry ("sounds angry: joke, you people"),
    or "" when it is not confident or no n-gram stands out."""
    reading = score.anger
    if reading is None or not reading.ngrams or reading.probability < reason_at:
        return ""
    return reading.label()


def situation_of(score: TurnScore | None, timing: list[TimingCue]) -> str:
    categories = score.categories() if score else frozenset()
    for situation in ("abuse", "threat", "escalation", "repeat_contact"):
        if situation in categories:
            return "abuse" if situation == "threat" else situation
    for cue in timing:
        if cue.kind in ("monologue", "talk_over"):
            return cue.kind
    return "default"


def first_problem(text: str, score: TurnScore | None) -> tuple[int | None, int]:
    """Index of the turn's first word of a `problem` cue, and how many it has (summary-back line)."""
    if score is None:
        return None, 0
    phrases = [c.phrase.split() for c in score.cues if c.category == "problem"]
    if not phrases:
        return None, 0
    words = tokens_of(text)
    starts = [i for p in phrases for i in range(len(words)) if words[i : i + len(p)] == p]
    return (min(starts) if starts else None), len(phrases)


def decay_reason(state: HeatState, sent: float, window: float) -> tuple[str, ...]:
    """Why heat fell with nothing new said. Shown beside the trend arrow (heat per minute over
    the last `window` seconds), so it must say the same: soon after a rise that trend is still
    up while heat eases off, and the reason names both, in the arrow's terms."""
    if state.value >= sent:
        return ()
    if state.trend <= 0:
        return ("cooling down over time",)
    return (f"up over the last {window:.0f} s, easing off now",)


def relief_share(value: float, before: float | None, heated_below: float, *, voided: bool) -> float:
    """How much of an agent's step relief the caller's answer bears out (0..1).

    In full when the answer (`value`) is not heated; in part when it is heated but less than
    the caller's turn before the step (`before`), by the share the score came back toward 0;
    none when it is as heated or more, or it escalates, threatens or abuses (`voided`).
    """
    if not voided and value >= heated_below:
        return 1.0
    if not voided and before is not None and before < 0 and value > before:
        return 1.0 - value / before
    return 0.0
