"""One call as the live floor keeps it, and an event as the hub forwards it.

Pure logic: no sockets, no clock. The call's long-lived state is kept as JSON strings and
tuples of numbers, so that a floor of thousands of calls gives Python's cyclic garbage
collector little to walk.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from monitor.events import turn_score

#: Events a slow viewer may get only the newest of, per call (and speaker for partials).
COALESCED = frozenset({"heat", "partial"})

TURNS_KEPT = 50
HISTORY_KEPT = 120
ALERTS_PER_CALL = 20
MESSAGES_PER_CALL = 20
#: Characters of turn JSON a call keeps for the board (the newest turn is always kept).
TURN_CHARS_PER_CALL = 64 * 1024


@dataclass(frozen=True, slots=True)
class Stamped:
    """One event as the hub forwards it: its `seq`, whose call it is, and its JSON, encoded once."""

    seq: int
    agent: str | None
    key: tuple[str, str, str] | None  # coalescing key; None = never dropped
    json: str
    # The coalescing key of what this event makes stale: a turn ends its speaker's partial.
    supersedes: tuple[str, str, str] | None = None


def encode(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class CallState:
    """What the floor knows of one call (the CALLSTATE of docs/hub-protocol.md)."""

    call: str
    agent: str | None = None
    started_at: str | None = None
    caller_name: str | None = None
    caller_number: str | None = None  # from the phone system, so a supervisor can call back
    source: str | None = None
    t: float = 0.0
    ended: bool = False
    ended_at: float | None = None
    seen_at: float = 0.0  # wall clock of its last event, to forget calls whose end never came
    heat: dict[str, Any] | None = None
    # (t, value) pairs as tuples: tuples of numbers are left alone by the cyclic GC, lists are not
    heat_history: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=HISTORY_KEPT))
    sentiments: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=HISTORY_KEPT))
    # Turns as the JSON the hub forwarded: a dict with a nested sentiment dict per turn would
    # put 100,000 more objects under the cyclic GC on a floor of 2,000 calls.
    turns: deque[str] = field(default_factory=lambda: deque(maxlen=TURNS_KEPT))
    turn_chars: int = 0  # characters in `turns`, kept under TURN_CHARS_PER_CALL
    partials: dict[str, str] = field(default_factory=lambda: {"caller": "", "agent": ""})
    coach: dict[str, Any] | None = None
    # Coach events with an empty prompt only tick steps; a page opened after one still needs the
    # last prompt that said something, so it is kept beside the newest coach event.
    coach_prompt: dict[str, Any] | None = None
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MESSAGES_PER_CALL))

    def other_call(self, started: dict[str, Any]) -> bool:
        """Is this `call_started` another call under the same id (not a re-announcement)? The
        store draws the same line: another start time or another agent is another call."""
        return (self.started_at is not None and started.get("started_at") != self.started_at) or (
            self.agent is not None and started.get("agent") != self.agent
        )

    def apply(self, event: dict[str, Any], now: float, encoded: str) -> None:
        """Fold one event (already stamped with `seq`, and `encoded` as JSON) into the state."""
        kind = event["type"]
        self.seen_at = now
        t = event.get("t")
        if isinstance(t, (int, float)) and t > self.t:
            self.t = float(t)
        if kind == "call_started":
            self.agent = event.get("agent")
            self.started_at = event.get("started_at")
            self.caller_name = event.get("caller_name")
            self.caller_number = event.get("caller_number")
            self.source = event.get("source")
            self.ended, self.ended_at = False, None
        elif kind == "partial":
            self.partials[event["speaker"]] = event["text"]
        elif kind == "turn":
            self.keep_turn(encoded)
            self.partials[event["speaker"]] = ""
            score = turn_score(event) if event["speaker"] == "caller" else None
            if score is not None:
                self.sentiments.append((event["t"], score))
        elif kind == "heat":
            self.heat = {k: event.get(k) for k in ("value", "level", "trend", "reasons")}
            self.heat_history.append((event["t"], event["value"]))
        elif kind == "alert":
            self.alerts[event["id"]] = {**event, "acked_by": None}
            while len(self.alerts) > ALERTS_PER_CALL:
                del self.alerts[next(iter(self.alerts))]
        elif kind == "coach":
            self.coach = event
            if event.get("prompt"):
                self.coach_prompt = event
        elif kind == "call_ended":
            self.ended, self.ended_at = True, now
            self.partials = {"caller": "", "agent": ""}

    def keep_turn(self, encoded: str) -> None:
        """Keep a turn's JSON for the board: the newest TURNS_KEPT, within TURN_CHARS_PER_CALL."""
        if len(self.turns) == self.turns.maxlen:
            self.turn_chars -= len(self.turns[0])
        self.turns.append(encoded)
        self.turn_chars += len(encoded)
        while self.turn_chars > TURN_CHARS_PER_CALL and len(self.turns) > 1:
            self.turn_chars -= len(self.turns.popleft())

    def head_json(self) -> str:
        """The CALLSTATE as JSON up to its turns: `head_json() + ",".join(turns) + "]}"`."""
        head = encode(self._fields())
        assert head.endswith('"turns":[]}')
        return head[:-2]

    def to_json(self, turns: int = TURNS_KEPT) -> str:
        """The CALLSTATE as JSON with its newest `turns` turns, spliced in as they are."""
        kept = list(islice(self.turns, max(0, len(self.turns) - turns), None))
        return self.head_json() + ",".join(kept) + "]}"

    def to_dict(self) -> dict[str, Any]:
        """The CALLSTATE as a dict."""
        data: dict[str, Any] = json.loads(self.to_json())
        return data

    def _fields(self) -> dict[str, Any]:
        return {
            "call": self.call,
            "agent": self.agent,
            "started_at": self.started_at,
            "caller_name": self.caller_name,
            "caller_number": self.caller_number,
            "source": self.source,
            "t": self.t,
            "ended": self.ended,
            "heat": self.heat,
            "heat_history": list(self.heat_history),
            "sentiments": list(self.sentiments),
            "partials": dict(self.partials),
            "coach": self.coach,
            "coach_prompt": self.coach_prompt,
            "alerts": list(self.alerts.values()),
            "messages": list(self.messages),
            "turns": [],  # last, so that to_json can splice the stored turns in
        }


def newest_chars(turns: deque[str], keep: int) -> int:
    """Characters of the newest `keep` turns, and their commas."""
    return sum(len(t) + 1 for t in islice(turns, max(0, len(turns) - keep), None))
