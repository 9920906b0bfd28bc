"""Alerts for the supervisor board: what fired, why, and the caller's words that caused it.

Pure. Each kind has a cooldown, and an alert whose evidence was already shown is not raised
again, so a hot call does not flood the board. Heat-level alerts fire on entering the level
(hysteresis in the heat model keeps that from flapping).
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.analysis.settings import KINDS

_MESSAGES = {
    "rising_fast": "Heat rising fast ({detail})",
    "hot": "Call is hot ({detail})",
    "boiling": "Call is boiling ({detail})",
    "abuse": "Caller is using abusive language",
    "threat": "Caller made a threat",
    "escalation": "Caller asks to escalate ({detail})",
    "repeat_contact": "Repeat contact: caller has been in touch about this before",
    "dead_air": "Dead air on the call ({detail})",
    "talk_over": "Talk-over ({detail})",
}


@dataclass(frozen=True, slots=True)
class AlertNote:
    """A raised alert, ready for the wire."""

    id: str
    kind: str
    level: str
    message: str
    evidence: tuple[str, ...]
    t: float


class AlertBoard:
    """One call's alerts: raises with cooldown and de-duplication, remembers what it raised."""

    def __init__(self, rising_per_minute: float = 40.0, rising_from: float = 35.0) -> None:
        self.rising_per_minute = rising_per_minute
        self.rising_from = rising_from
        self.raised: list[AlertNote] = []
        self._last: dict[str, float] = {}
        self._seen: set[tuple[str, str]] = set()
        self._topics: set[tuple[str, str]] = set()

    def raise_alert(
        self,
        t: float,
        kind: str,
        evidence: tuple[str, ...] = (),
        detail: str = "",
        topics: tuple[str, ...] = (),
    ) -> list[AlertNote]:
        """Raise `kind` unless it is cooling down or its evidence was shown already.

        A topic not raised before (a lawyer after a manager) passes the cooldown: it is news.
        """
        severity, cooldown = KINDS[kind]
        last = self._last.get(kind)
        new_topics = {(kind, topic) for topic in topics} - self._topics
        if last is not None and t - last < cooldown and not new_topics:
            return []
        keys = {(kind, e) for e in evidence}
        if evidence and keys <= self._seen:
            return []  # nothing new to show; its topics stay news for a later alert
        self._topics |= new_topics
        self._seen |= keys
        self._last[kind] = t
        message = _MESSAGES[kind].format(detail=detail) if detail else _MESSAGES[kind].split(" (")[0]
        note = AlertNote(f"a{len(self.raised) + 1}", kind, severity, message, evidence, t)
        self.raised.append(note)
        return [note]

    def on_heat(
        self, t: float, value: float, level: str, entered: bool, trend: float, evidence: tuple[str, ...]
    ) -> list[AlertNote]:
        """Heat-driven alerts: entering hot or boiling, and heat rising fast."""
        notes: list[AlertNote] = []
        if entered and level in ("hot", "boiling"):
            notes += self.raise_alert(t, level, evidence, f"heat {value:.0f}")
        if trend >= self.rising_per_minute and value >= self.rising_from:
            notes += self.raise_alert(t, "rising_fast", evidence, f"+{trend:.0f} per minute")
        return notes

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for note in self.raised:
            out[note.kind] = out.get(note.kind, 0) + 1
        return out
