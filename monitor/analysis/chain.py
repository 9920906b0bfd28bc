"""One call's analysis: turns and time in, enriched turns and heat/alert/coach events out.

Pure, no clocks, no I/O: the pipeline (live audio) and replay (transcripts) both drive it.
Only caller turns are scored for emotion; agent turns are read only for H.E.A.T. steps and
never carry sentiment, by policy.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from monitor.analysis.alerts import AlertBoard, AlertNote
from monitor.analysis.call_summary import call_summary
from monitor.analysis.coach import Advice, Coach
from monitor.analysis.cues import CueTracker, TimingCue
from monitor.analysis.heat import HeatModel, HeatState
from monitor.analysis.lexicon import Lexicon
from monitor.analysis.playbook import Playbook, bundled_playbook
from monitor.analysis.sentiment import TurnScore, scorer_for
from monitor.analysis.settings import ChainSettings, CueSettings, HeatSettings
from monitor.analysis.topics import Topics, bundled_topics
from monitor.analysis.turn_facts import (
    anger_label,
    decay_reason,
    first_problem,
    known_at,
    relief_share,
    situation_of,
)
from monitor.events import Alert, Event, Heat, Turn
from monitor.events import Coach as CoachEvent

#: Categories that raise an alert of the same name.
ALERTING = ("abuse", "threat", "escalation", "repeat_contact")


class CallAnalysis:
    """Scorer, cues, heat, alerts and coach for one call."""

    def __init__(
        self,
        call: str,
        *,
        playbook: Playbook | None = None,
        lexicon: Lexicon | None = None,
        topics: Topics | None = None,
        settings: ChainSettings | None = None,
        heat: HeatSettings | None = None,
        cues: CueSettings | None = None,
    ) -> None:
        self.call = call
        self.scorer = scorer_for(lexicon)
        self.playbook = playbook or bundled_playbook()
        self.topics = topics or bundled_topics()
        self.settings = settings or ChainSettings()
        self.heat = HeatModel(heat)
        self.cues = CueTracker(cues)
        self.alerts = AlertBoard()
        self.coach = Coach(self.playbook)
        self.t = 0.0
        self._sent: tuple[float, str] = (0.0, "calm")
        self._sent_done = self.coach.done()  # the checklist as the last coach event showed it
        self._last_turn: Turn | None = None
        self._last_caller: TurnScore | None = None  # the anger layer reads the previous caller turn
        self._evidence: list[str] = []
        self._anger_evidence = ""  # the anger layer's n-grams of the latest heated caller turn
        self._caller_text = ""
        self._agent_talked_over = False
        self._counts = {"caller": 0, "agent": 0, "talk_over": 0, "dead_air": 0}
        self._scores: list[float] = []
        #: The agent's steps since the caller last spoke: their relief waits for the caller's answer.
        self._pending: list[tuple[float, str]] = []
        self._last_caller_value: float | None = None

    def on_turn(self, turn: Turn) -> list[Event]:
        """A finished turn: the turn enriched, then the heat / alert / coach events it causes."""
        # Events never go back in time, even for a turn that arrives late.
        now = max(self.t, known_at(turn))
        self.t = now
        caller = turn.speaker == "caller"
        self._counts[turn.speaker] += 1
        score = self.scorer.score(turn.text, self._last_caller) if caller else None
        if score is not None:
            self._last_caller = score
        enriched = dataclasses.replace(turn, call=self.call, sentiment=score.sentiment() if score else None)
        notes: list[AlertNote] = []
        advice: list[Advice] = []
        timing = self.cues.on_turn(turn)
        if score is not None:
            notes += self._caller_turn(turn, score)
        notes += self._timing(timing, now)
        if caller:
            situation = situation_of(score, timing)
            problem_at, problems = first_problem(turn.text, score)
            advice += self.coach.on_caller_turn(
                now,
                turn.text,
                score.score if score else 0.0,
                problem_at,
                self.heat.level,
                situation,
                problems,
            )
        else:
            advice += self._agent_turn(turn, timing)
            advice += self._progress(advice)
        self._last_turn = turn
        return [
            enriched,
            *self._heat_events(now, force=True, notes=notes),
            *self._coach_events(now, advice),
        ]

    def on_tick(self, t: float) -> list[Event]:
        """Time passes without a turn: decay, dead air, a monologue still going on."""
        if t < self.t:
            return []
        self.t = t
        self.heat.decay_to(t)
        timing = self.cues.on_tick(t)
        notes = self._timing(timing, t)
        advice: list[Advice] = []
        for cue in timing:
            if cue.kind in ("monologue", "dead_air"):
                advice += self.coach.suggest(t, self.heat.level, cue.kind)
        return [*self._heat_events(t, force=False, notes=notes), *self._coach_events(t, advice)]

    def on_speech(self, speaker: str, t: float, speaking: bool) -> list[Event]:
        """A party started or stopped speaking (from partial results): finer talk-over and dead air."""
        self.cues.on_speech(speaker, t, speaking)
        return []

    def on_sound(self, t: float) -> list[Event]:
        """Someone was heard at call time `t` (from the audio level): no dead air then."""
        self.cues.on_sound(t)
        return []

    def summary(self) -> dict[str, Any]:
        """What happened in the call, for `call_ended`."""
        return call_summary(self.heat, self.coach, self.alerts, self._counts, self._scores)

    def _caller_turn(self, turn: Turn, score: TurnScore) -> list[AlertNote]:
        t = known_at(turn)
        self._scores.append(score.score)
        self._caller_text = turn.text
        angry = anger_label(score, self.settings.anger_reason_at)
        if score.score < self.settings.evidence_below:
            self._evidence = [*self._evidence[-1:], turn.text]
            self._anger_evidence = angry
        complains = any(c.valence < 0 and c.category not in ("slip", "sadness") for c in score.cues)
        # A turn that complains does not cool the call, however polite VADER finds it.
        value = min(score.score, 0.0) if complains else score.score
        self._settle_relief(t, value, score)
        self.heat.caller_turn(t, value, len(turn.text.split()), turn.confidence)
        if angry and value < 0:
            self.heat.note(angry)
        self._last_caller_value = value
        satisfied = [c.phrase for c in score.cues if c.category == "satisfaction"]
        if satisfied and not complains and value > self.settings.satisfied_above:
            # Thanks at the end of a call settle it: the call ends calm, not warm.
            cut = self.heat.value * self.settings.satisfied_cooling
            self.heat.fall(t, cut, f"caller is satisfied: {', '.join(satisfied)}")
        notes: list[AlertNote] = []
        for cue in score.cues:
            if cue.category in self.settings.category_heat:
                self.heat.rise(t, self.settings.category_heat[cue.category], cue.label())
            elif cue.valence < 0 and cue.category != "slip":
                self.heat.note(cue.label())
        for category in ALERTING:
            phrases = [c.phrase for c in score.cues if c.category == category]
            if phrases:
                topics = tuple(map(self.topics.of, phrases)) if category in ("escalation", "threat") else ()
                notes += self.alerts.raise_alert(t, category, (turn.text,), ", ".join(phrases), topics)
        return notes

    def _agent_turn(self, turn: Turn, timing: list[TimingCue]) -> list[Advice]:
        now = known_at(turn)
        last = self._last_turn
        talked_over = self._agent_talked_over or any(
            c.kind == "talk_over" and c.by == "agent" for c in timing
        )
        self._agent_talked_over = False
        let_finish = (
            last is not None
            and last.speaker == "caller"
            and turn.start >= last.end
            and (last.end - last.start >= 6.0 or len(last.text.split()) >= 15)
        )
        advice: list[Advice] = []
        names = {s.letter: s.name for s in self.playbook.steps}
        for letter in self.coach.on_agent_turn(now, turn.text, let_finish, talked_over):
            if letter.startswith("!"):
                advice += self.coach.warning(now, letter[1:], self.heat.level)
            else:
                # Anger carries into the caller's next turn only while nothing was done about it:
                # "yeah it is" after the agent empathised is an answer, not more of the rant.
                self._last_caller = None
                # Held until the caller's next turn bears it out ("uh huh i see" does not cool a
                # caller who then demands the manager again).
                self._pending.append(
                    (self.playbook.heat_relief, f"agent took step {letter}: {names[letter]}")
                )
        if talked_over:
            advice += self.coach.suggest(now, self.heat.level, "talk_over")
        return advice

    def _settle_relief(self, t: float, value: float, score: TurnScore) -> None:
        """Apply or drop the agent's pending step relief, by how the caller answered.

        In full when the answer is not heated; in part when it is heated but less than the
        caller's turn before the step (by the share the score came back toward 0); dropped
        when it is as heated or more, or it escalates, threatens or abuses.
        """
        pending, self._pending = self._pending, []
        if not pending:
            return
        voided = not score.categories().isdisjoint(self.settings.relief_voided_by)
        share = relief_share(value, self._last_caller_value, self.settings.evidence_below, voided=voided)
        for amount, reason in pending:
            if share >= 1.0:
                self.heat.fall(t, amount, reason)
            elif share > 0.0:
                self.heat.fall(t, amount * share, f"{reason} (in part: the caller is calmer, not calm)")
            else:
                self.heat.note(f"{reason}, not borne out by the caller's answer")

    def _progress(self, advice: list[Advice]) -> list[Advice]:
        """A prompt-less coach event when the agent took a step and no advice carries the news.

        The agent's checklist ticks only from coach events, and prompts come only once a call is
        warm, so without this a calm call's checklist would never show the steps the agent took.
        """
        if advice or self.coach.done() == self._sent_done:
            return []
        return [self.coach.progress()]

    def _timing(self, cues: list[TimingCue], t: float) -> list[AlertNote]:
        notes: list[AlertNote] = []
        words = tuple(self._evidence[-1:])
        weights = self.settings
        for cue in cues:
            if cue.kind == "loud":
                over = cue.amount - self.cues.settings.loud_db
                self.heat.rise(t, weights.loud_heat + over, cue.describe())
            elif cue.kind == "fast":
                self.heat.rise(t, weights.fast_heat, cue.describe())
            elif cue.kind == "talk_over":
                self._counts["talk_over"] += 1
                # Seen live (before the agent's turn ended): that turn must not count as hearing them out.
                self._agent_talked_over |= cue.by == "agent"
                by_agent, by_caller = weights.talk_over_heat
                self.heat.rise(t, by_agent if cue.by == "agent" else by_caller, cue.describe())
                spoken = (self._caller_text,) if self._caller_text else ()
                notes += self.alerts.raise_alert(
                    t, "talk_over", spoken, f"{cue.by} spoke over the other party"
                )
            elif cue.kind == "dead_air":
                self._counts["dead_air"] += 1
                self.heat.rise(t, weights.dead_air_heat + cue.amount / 10.0, cue.describe())
                notes += self.alerts.raise_alert(t, "dead_air", words, f"{cue.amount:.0f} s of silence")
            else:
                self.heat.note(cue.describe())
        return notes

    def _heat_events(self, t: float, *, force: bool, notes: list[AlertNote]) -> list[Event]:
        state = self.heat.take(clear=False)
        moved = abs(state.value - self._sent[0])
        events: list[Event] = []
        step = self.settings.turn_heat_step if force else self.settings.tick_heat_step
        if state.level_changed or moved >= step:
            self.heat.take()
            reasons = state.reasons or decay_reason(state, self._sent[0], self.heat.settings.trend_window)
            events.append(self._heat_event(t, state, reasons))
            self._sent = (state.value, state.level)
        evidence = tuple(self._evidence) + ((self._anger_evidence,) if self._anger_evidence else ())
        notes = notes + self.alerts.on_heat(
            t, state.value, state.level, state.level_changed, state.trend, evidence
        )
        events += [
            Alert(
                call=self.call,
                t=t,
                id=n.id,
                kind=n.kind,
                level=n.level,
                message=n.message,
                evidence=n.evidence,
            )
            for n in notes
        ]
        return events

    def _heat_event(self, t: float, state: HeatState, reasons: tuple[str, ...]) -> Heat:
        return Heat(
            call=self.call, t=t, value=state.value, level=state.level, trend=state.trend, reasons=reasons
        )

    def _coach_events(self, t: float, advice: list[Advice]) -> list[Event]:
        if advice:
            self._sent_done = dict(advice[-1].done)
        return [
            CoachEvent(call=self.call, t=t, step=a.step, prompt=a.prompt, phrases=a.phrases, done=a.done)
            for a in advice
        ]
