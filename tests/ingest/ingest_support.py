"""Helpers for the ingest tests: the Korean call as telephone audio, and checks on its events."""

from __future__ import annotations

from typing import Any

import numpy as np

Spans = list[tuple[str, float, float]]


def speakers_of_words(turn: dict[str, Any], spans: Spans, slack: float = 0.3) -> set[str]:
    """Who really spoke at the middle of each of this turn's words."""
    found = set()
    for word in turn["words"]:
        middle = (word["start"] + word["end"]) / 2
        found |= {who for who, s, e in spans if s - slack <= middle <= e + slack}
    return found


def check_turns(events: list[dict[str, Any]], spans: Spans, slack: float = 0.3) -> list[dict[str, Any]]:
    """The call's turns: both parties heard, each turn on its own party's speech."""
    turns = [e for e in events if e["type"] == "turn"]
    assert {t["speaker"] for t in turns} == {"caller", "agent"}, turns
    for turn in turns:
        assert turn["text"].strip()
        assert speakers_of_words(turn, spans, slack) == {turn["speaker"]}, (turn, spans)
    return turns


def frames_of(call: np.ndarray, party: str, start: float, seconds: float, rate: int = 8000) -> bytes:
    """One party's int16 PCM from a two-column call."""
    column = 0 if party == "caller" else 1
    first = int(start * rate)
    return np.ascontiguousarray(call[first : first + int(seconds * rate), column]).tobytes()
