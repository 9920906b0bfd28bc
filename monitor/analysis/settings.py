"""Every weight of the analysis in one place: how heat moves, when a cue counts, how much
heat each cue and each kind of caller language adds, and how often each alert may fire.

Plain frozen dataclasses with the defaults that suit a typical support call; a team that
tunes heatmon changes them here (or passes its own to `CallAnalysis`). The words themselves
(the lexicon, the playbook, the escalation topics) are data files in `models/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class HeatSettings:
    """Tuning of the heat model; the defaults suit a typical support call."""

    #: Heat at which a call enters warm, hot, boiling.
    enter: tuple[float, float, float] = (25.0, 50.0, 75.0)
    #: A level is left only this far below its entry value, so it does not flap.
    hysteresis: float = 8.0
    #: Heat halves in this many seconds when nothing new happens.
    half_life: float = 90.0
    #: Heat a fully negative (score -1), full-length, fully confident caller turn adds to a cold call.
    turn_gain: float = 50.0
    #: Rise grows as |score| ** this: a mildly negative remark barely warms, a furious one does.
    turn_power: float = 1.5
    #: Words at which a turn counts in full; shorter turns count less ("no" is not a rant).
    full_turn_words: int = 12
    #: Heat taken off by a positive turn of score +1.
    positive_cooling: float = 10.0
    #: Window over which `trend` (heat per minute) is measured.
    trend_window: float = 30.0


@dataclass(frozen=True, slots=True)
class CueSettings:
    """When a timing or audio cue counts."""

    #: dB above the caller's running baseline that counts as raised voice.
    loud_db: float = 6.0
    #: Speech rate this many times the caller's baseline counts as fast.
    fast_ratio: float = 1.35
    #: Caller turns needed before a baseline is trusted.
    baseline_turns: int = 2
    #: Overlap of the two parties' speech, in seconds, that counts as talk-over.
    talk_over_s: float = 0.8
    #: Silence on a live call, in seconds, that counts as dead air.
    dead_air_s: float = 12.0
    #: A caller speaking this long without a break is a monologue (venting).
    monologue_s: float = 30.0


@dataclass(frozen=True, slots=True)
class ChainSettings:
    """Heat the chain adds for what a caller turn contains and for timing cues."""

    #: Heat added by what a caller turn contains besides its score: category -> heat.
    category_heat: Mapping[str, float] = field(
        default_factory=lambda: {"abuse": 12.0, "threat": 18.0, "escalation": 8.0, "repeat_contact": 6.0}
    )
    #: A tick emits heat only when it moved this much (or the level changed).
    tick_heat_step: float = 3.0
    #: A turn's own heat event is sent when heat moved this much.
    turn_heat_step: float = 0.5
    #: A caller turn below this score is evidence for alerts.
    evidence_below: float = -0.05
    #: From this P(angry) on, the anger layer's n-grams are a heat reason and alert evidence.
    anger_reason_at: float = 0.5
    #: Raised voice: this much heat, plus one per dB over the cue's threshold.
    loud_heat: float = 4.0
    #: Speech faster than usual.
    fast_heat: float = 4.0
    #: Talk-over by the agent, and by the caller.
    talk_over_heat: tuple[float, float] = (5.0, 3.0)
    #: Dead air: this much, plus one per ten seconds of silence.
    dead_air_heat: float = 3.0
    #: A caller turn with a `satisfaction` cue ("thanks", "thats great", "perfect") scoring above
    #: this, with no complaint in it, takes this share of the heat off: a satisfied caller ends calm.
    satisfied_above: float = 0.3
    satisfied_cooling: float = 0.6
    #: An agent's step cools only once the caller's next turn bears it out; an answer with one of
    #: these categories drops the relief whatever its score.
    relief_voided_by: frozenset[str] = frozenset({"abuse", "threat", "escalation"})


#: kind -> (severity, cooldown in seconds)
KINDS: dict[str, tuple[str, float]] = {
    "rising_fast": ("warning", 60.0),
    "hot": ("warning", 120.0),
    "boiling": ("critical", 120.0),
    "abuse": ("critical", 45.0),
    "threat": ("critical", 30.0),
    "escalation": ("warning", 60.0),
    "repeat_contact": ("info", 600.0),
    "dead_air": ("info", 60.0),
    "talk_over": ("info", 60.0),
}
