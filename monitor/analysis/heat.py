"""The heat model: one number 0-100 per call, with levels, hysteresis, decay and reasons.

Pure and deterministic: every method takes the call time `t` (seconds) and nothing reads a
clock. Heat rises with what the caller does (negative turns, abuse, escalation, loudness,
talk-over, dead air) and falls with time and with the agent's H.E.A.T. steps. A rise is
scaled by the headroom left (`1 - value/100`), so heat approaches 100 without passing it
and a hotter call needs more to heat further.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from monitor.analysis.settings import HeatSettings

LEVELS = ("calm", "warm", "hot", "boiling")


@dataclass(frozen=True, slots=True)
class HeatState:
    """The heat after an update, and why it moved."""

    value: float
    level: str
    trend: float
    reasons: tuple[str, ...]
    level_changed: bool


def level_for(value: float, current: str, settings: HeatSettings) -> str:
    """The level for `value` coming from `current`: up at the entry value, down only below it by the gap."""
    index = LEVELS.index(current)
    while index < 3 and value >= settings.enter[index]:
        index += 1
    while index > 0 and value < settings.enter[index - 1] - settings.hysteresis:
        index -= 1
    return LEVELS[index]


class HeatModel:
    """One call's heat. Feed it time (`decay_to`), caller turns, cues and agent steps."""

    def __init__(self, settings: HeatSettings | None = None) -> None:
        self.settings = settings or HeatSettings()
        self.value = 0.0
        self.level = LEVELS[0]
        self.t = 0.0
        self.peak = 0.0
        self.peak_t = 0.0
        self._history: deque[tuple[float, float]] = deque([(0.0, 0.0)])
        self._reasons: list[str] = []
        self._level_before = self.level

    def decay_to(self, t: float) -> None:
        """Let heat cool from the last update until `t` (earlier times are ignored)."""
        if t <= self.t:
            return
        self.value *= math.exp(-math.log(2) * (t - self.t) / self.settings.half_life)
        if self.value < 0.05:
            self.value = 0.0
        self.t = t
        self._record()

    def rise(self, t: float, amount: float, reason: str) -> None:
        """Add heat (scaled by the headroom left) for `reason` at `t`."""
        self.decay_to(t)
        if amount <= 0:
            return
        self.value = min(100.0, self.value + amount * (1.0 - self.value / 100.0))
        self._reasons.append(reason)
        self._record()

    def fall(self, t: float, amount: float, reason: str) -> None:
        """Take heat off for `reason` at `t` (the agent's steps, a calmer caller)."""
        self.decay_to(t)
        if amount <= 0:
            return
        self.value = max(0.0, self.value - amount)
        self._reasons.append(reason)
        self._record()

    def note(self, reason: str) -> None:
        """Record a reason that moved heat through another path (a cue inside a turn's score)."""
        if reason not in self._reasons:
            self._reasons.append(reason)

    def caller_turn(self, t: float, score: float, words: int, confidence: float | None = None) -> None:
        """A caller turn with heatmon's score: negative ones heat, positive ones cool a little."""
        s = self.settings
        weight = min(1.0, 0.35 + 0.65 * words / s.full_turn_words) * _confidence_weight(confidence)
        if score < 0:
            rise = s.turn_gain * (-score) ** s.turn_power * weight
            self.rise(t, rise, f"negative caller turn (score {score:+.2f})")
        elif score > 0.3:
            self.fall(t, s.positive_cooling * score * weight, f"caller sounds calmer (score {score:+.2f})")
        else:
            self.decay_to(t)

    def take(self, *, clear: bool = True) -> HeatState:
        """The current state with the reasons gathered since the last `take`, which clears them.

        With `clear=False` (a look that is not sent on) the reasons and level change are kept
        for the next `take`, so an update too small to send loses none of its reasons.
        """
        changed = self.level != self._level_before
        state = HeatState(
            value=round(self.value, 1),
            level=self.level,
            trend=round(self.trend(), 1),
            reasons=tuple(self._reasons),
            level_changed=changed,
        )
        if clear:
            self._reasons.clear()
            self._level_before = self.level
        return state

    def trend(self) -> float:
        """Heat per minute over the trend window."""
        window = self.settings.trend_window
        past_t, past_v = self._history[0]
        for when, value in self._history:
            if when <= self.t - window:
                past_t, past_v = when, value
        span = max(self.t - past_t, 1.0)
        return (self.value - past_v) * 60.0 / span

    def _record(self) -> None:
        self.level = level_for(self.value, self.level, self.settings)
        if self.value > self.peak:
            self.peak, self.peak_t = self.value, self.t
        self._history.append((self.t, self.value))
        while len(self._history) > 2 and self._history[1][0] <= self.t - self.settings.trend_window:
            self._history.popleft()


def _confidence_weight(confidence: float | None) -> float:
    # A badly recognised turn may be the recognizer's error, not the caller's anger.
    if confidence is None:
        return 1.0
    return max(0.3, min(1.0, confidence))
