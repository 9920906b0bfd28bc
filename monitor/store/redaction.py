"""Redaction as the store applies it: every event masked, and numbers read across turns.

Per call and party it remembers the last turn and the digits it ended with, so that a
card number read in groups that the recogniser split into turns is masked in all of
them (`redact.redact_continuing`). A short acknowledgement by the other party between
the groups ("uh huh", "okay go on") does not end the number; a real turn does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.redact import MIN_DIGITS, digit_runs, mask_word_span, redact_continuing, redact_event

#: An other-party turn this short and without digits is an acknowledgement, not a new topic.
BACKCHANNEL_WORDS = 3


@dataclass(frozen=True, slots=True)
class LastTurn:
    """A party's last stored turn (already redacted) and the digits of the number it ended with."""

    event: dict[str, Any]
    carry: int


class TurnRedactor:
    """Masks events for storage; remembers each party's last turn to catch split numbers."""

    def __init__(self, min_digits: int = MIN_DIGITS) -> None:
        self.min_digits = min_digits
        self._last: dict[tuple[int, str], LastTurn] = {}

    def event(
        self, call_pk: int, event: Mapping[str, Any]
    ) -> tuple[dict[str, Any], tuple[dict[str, Any], dict[str, Any]] | None]:
        """The event to store, and (as stored, re-masked) the previous turn of the same party if
        it must change."""
        if event.get("type") == "call_ended":
            for key in [k for k in self._last if k[0] == call_pk]:
                del self._last[key]
        if event.get("type") != "turn" or not isinstance(event.get("text"), str):
            return redact_event(event, self.min_digits), None
        speaker = str(event.get("speaker"))
        text: str = event["text"]
        if len(text.split()) > BACKCHANNEL_WORDS or _has_number(text):
            for key in [k for k in self._last if k[0] == call_pk and k[1] != speaker]:
                del self._last[key]
        last = self._last.get((call_pk, speaker))
        previous_text = str(last.event.get("text", "")) if last else ""
        result = redact_continuing(text, previous_text, last.carry if last else 0, self.min_digits)
        stored = redact_event({**event, "text": result.text}, self.min_digits)
        if result.masked_head and isinstance(event.get("words"), (list, tuple)):
            stored["words"] = mask_word_span(stored["words"], 0, result.masked_head)
        fixed = None
        if last and result.previous_text is not None:
            fixed_previous = {**last.event, "text": result.previous_text}
            words = last.event.get("words")
            if isinstance(words, list):
                fixed_previous["words"] = mask_word_span(words, len(words) - result.masked_tail, len(words))
            fixed = (last.event, fixed_previous)
        self._last[(call_pk, speaker)] = LastTurn(stored, result.carry)
        return stored, fixed

    def forget(self) -> None:
        """Drop all memory (after a failed transaction, the stored texts are unknown)."""
        self._last.clear()


def _has_number(text: str) -> bool:
    return bool(digit_runs(text.split(), 1))


def redacted_detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    """The detail with every spoken text masked (for a store written without redaction),
    numbers read across several turns included, the same way the store masks them."""
    out = dict(detail)
    redactor = TurnRedactor()
    turns: list[dict[str, Any]] = []
    last_of: dict[str, int] = {}  # speaker -> index of their latest turn (the one a fix is for)
    for turn in detail.get("turns", ()):
        masked, fixed = redactor.event(0, turn)
        if fixed is not None:
            turns[last_of[str(fixed[1]["speaker"])]] = fixed[1]
        last_of[str(masked["speaker"])] = len(turns)
        turns.append(masked)
    out["turns"] = turns
    for key in ("alerts", "messages"):
        out[key] = [redact_event(e) for e in detail.get(key, ())]
    return out
