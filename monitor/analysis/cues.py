"""Cues from audio and timing: loudness and speech rate against the caller's own baseline,
talk-over, dead air and long caller monologues.

Pure: times come in as arguments. Turn start/end times are enough for every cue; the
optional `on_speech` signal (from partial results) only makes talk-over and dead air finer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.analysis.settings import CueSettings
from monitor.events import Turn


@dataclass(frozen=True, slots=True)
class TimingCue:
    """One cue: its kind, when, how strong (dB, ratio or seconds) and who caused it."""

    kind: str  # "loud", "fast", "talk_over", "dead_air", "monologue"
    t: float
    amount: float
    by: str = "caller"

    def describe(self) -> str:
        if self.kind == "loud":
            return f"caller louder than usual (+{self.amount:.0f} dB)"
        if self.kind == "fast":
            return f"caller speaking fast ({self.amount:.1f}x usual)"
        if self.kind == "talk_over":
            return f"talk-over: {self.by} spoke over the other party ({self.amount:.1f} s)"
        if self.kind == "dead_air":
            return f"dead air ({self.amount:.0f} s of silence)"
        return f"long caller monologue ({self.amount:.0f} s)"


@dataclass
class _Baseline:
    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)
        del self.values[:-20]  # a running baseline: the caller's last 20 turns

    def median(self) -> float:
        ordered = sorted(self.values)
        return ordered[len(ordered) // 2]


class CueTracker:
    """Turns and ticks in, timing and audio cues out, for one call."""

    def __init__(self, settings: CueSettings | None = None) -> None:
        self.settings = settings or CueSettings()
        self._loudness = _Baseline()
        self._rate = _Baseline()
        self._last_turn: dict[str, Turn] = {}
        self._speaking_since: dict[str, float] = {}
        self._last_speech_end = 0.0
        self._dead_air_reported = False
        self._monologue_reported_at: float | None = None
        #: When a talk-over seen live (from `on_speech`) began, so the finished turns do not report it again.
        self._live_talk_over: float | None = None

    def on_turn(self, turn: Turn) -> list[TimingCue]:
        """Cues a finished turn shows: talk-over against the other party, and the caller's voice."""
        cues: list[TimingCue] = []
        other = self._last_turn.get("agent" if turn.speaker == "caller" else "caller")
        if other is not None:
            overlap = min(turn.end, other.end) - max(turn.start, other.start)
            began = max(turn.start, other.start)
            seen_live = self._live_talk_over is not None and abs(self._live_talk_over - began) < 1.5
            if overlap >= self.settings.talk_over_s and not seen_live:
                # Whoever started second spoke over the one already talking.
                by = turn.speaker if turn.start >= other.start else other.speaker
                cues.append(TimingCue("talk_over", turn.end, round(overlap, 1), by))
        if turn.speaker == "caller":
            cues.extend(self._voice_cues(turn))
            if turn.end - turn.start >= self.settings.monologue_s:
                cues.append(TimingCue("monologue", turn.end, round(turn.end - turn.start, 1)))
        self._last_turn[turn.speaker] = turn
        self._speaking_since.pop(turn.speaker, None)
        self._last_speech_end = max(self._last_speech_end, turn.end)
        self._dead_air_reported = False
        return cues

    def on_speech(self, speaker: str, t: float, speaking: bool) -> list[TimingCue]:
        """Finer signal from partial results: a party started or stopped speaking at `t`."""
        cues: list[TimingCue] = []
        if speaking:
            self._speaking_since.setdefault(speaker, t)
            self._dead_air_reported = False
        else:
            self._speaking_since.pop(speaker, None)
            self._last_speech_end = max(self._last_speech_end, t)
        return cues

    def on_sound(self, t: float) -> None:
        """Someone was heard at `t` (from the audio level): the line is not silent then,
        even if no turn has ended since (a caller in the middle of a long sentence)."""
        if t > self._last_speech_end:
            self._last_speech_end = t
            self._dead_air_reported = False

    def on_tick(self, t: float) -> list[TimingCue]:
        """Cues of time passing: dead air, and a caller monologue still going on."""
        cues: list[TimingCue] = []
        silent_for = t - self._last_speech_end
        if (
            not self._speaking_since
            and silent_for >= self.settings.dead_air_s
            and not self._dead_air_reported
        ):
            self._dead_air_reported = True
            cues.append(TimingCue("dead_air", t, round(silent_for, 1), "agent"))
        both = self._speaking_since
        if len(both) == 2:
            began = max(both.values())
            if t - began >= self.settings.talk_over_s and self._live_talk_over != began:
                self._live_talk_over = began
                by = max(both, key=lambda who: both[who])
                cues.append(TimingCue("talk_over", t, round(t - began, 1), by))
        since = self._speaking_since.get("caller")
        if (
            since is not None
            and t - since >= self.settings.monologue_s
            and self._monologue_reported_at != since
        ):
            self._monologue_reported_at = since
            cues.append(TimingCue("monologue", t, round(t - since, 1)))
        return cues

    def _voice_cues(self, turn: Turn) -> list[TimingCue]:
        cues: list[TimingCue] = []
        s = self.settings
        if turn.loudness_db is not None:
            if len(self._loudness.values) >= s.baseline_turns:
                raised = turn.loudness_db - self._loudness.median()
                if raised >= s.loud_db:
                    cues.append(TimingCue("loud", turn.end, round(raised, 1)))
            self._loudness.add(turn.loudness_db)
        rate = speech_rate(turn)
        if rate is not None:
            if len(self._rate.values) >= s.baseline_turns:
                ratio = rate / max(self._rate.median(), 0.1)
                if ratio >= s.fast_ratio:
                    cues.append(TimingCue("fast", turn.end, round(ratio, 2)))
            self._rate.add(rate)
        return cues


def speech_rate(turn: Turn) -> float | None:
    """Words per second: the turn's own figure, else from word timings, else None.

    Turn start/end alone are not used: a transcript's turn often includes pauses.
    """
    if turn.rate_wps is not None:
        return turn.rate_wps
    words = turn.words or ()
    if len(words) >= 3:
        try:
            span = float(words[-1]["end"]) - float(words[0]["start"])
        except (KeyError, TypeError, ValueError):
            return None
        return len(words) / span if span > 0 else None
    return None
