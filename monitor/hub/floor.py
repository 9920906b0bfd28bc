"""The live floor: every call's state, hub-wide `seq` numbering and the replay window.

Pure logic: no sockets, no clock (the caller passes `now`). The server feeds it validated
events and asks it for snapshots, replays and what each viewer may see. One call's state is
`monitor.hub.call_state.CallState`.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from monitor.hub.call_state import (
    COALESCED,
    TURNS_KEPT,
    CallState,
    Stamped,
    encode,
    newest_chars,
)
from monitor.redact import LiveRedactor

ALERT_FEED_KEPT = 200


class FloorError(Exception):
    """A supervisor's request that does not fit the floor (unknown call or alert)."""


class Floor:
    """Every call on the floor, the seq counter and a bounded window of recent events."""

    def __init__(
        self,
        *,
        first_seq: int = 1,
        replay_window: int = 50_000,
        window_bytes: int = 64 * 1024 * 1024,
        snapshot_bytes: int = 32 * 1024 * 1024,
        ended_retention: float = 300.0,
        silent_retention: float = 7200.0,
        redact: bool = False,
    ):
        self.seq = first_seq - 1
        self.calls: dict[str, CallState] = {}
        # Plain tuples (seq, agent, key, json), not Stamped objects: the cyclic GC untracks tuples
        # of strings and numbers, so a full window does not lengthen its pauses. Bounded by
        # count and by the characters of JSON it holds (about its bytes: events are mostly ASCII).
        self.window: deque[tuple[int, str | None, tuple[str, str, str] | None, str]] = deque()
        self.window_events = replay_window
        self.window_bytes = window_bytes
        self.window_chars = 0
        self.snapshot_bytes = snapshot_bytes
        # With --redact, spoken digits are masked before the floor, the fan-out or the store see them.
        self.redactor = LiveRedactor() if redact else None
        self.alert_feed: deque[dict[str, Any]] = deque(maxlen=ALERT_FEED_KEPT)
        self.ended_retention = ended_retention
        self.silent_retention = silent_retention

    def _stamp(self, event: dict[str, Any], call: CallState | None) -> tuple[dict[str, Any], Stamped]:
        self.seq += 1
        data = {**event, "seq": self.seq}
        kind = data["type"]
        key = (data["call"], kind, data.get("speaker", "")) if kind in COALESCED else None
        ends = (data["call"], "partial", data.get("speaker", "")) if kind == "turn" else None
        stamped = Stamped(self.seq, call.agent if call else None, key, encode(data), ends)
        window = self.window
        window.append((stamped.seq, stamped.agent, stamped.key, stamped.json))
        self.window_chars += len(stamped.json)
        while len(window) > self.window_events or (self.window_chars > self.window_bytes and len(window) > 1):
            self.window_chars -= len(window.popleft()[3])
        return data, stamped

    def publish(self, event: dict[str, Any], now: float) -> tuple[dict[str, Any], Stamped]:
        """Number a validated wire-contract event, fold it into its call, and keep it for replay;
        the event with its `seq`, and as the hub forwards it."""
        if self.redactor is not None:
            event = self.redactor.event(event)
        call_id = event["call"]
        call = self.calls.get(call_id)
        if call is not None and event["type"] == "call_started" and call.other_call(event):
            self._forget(call_id)  # the id was used again: nothing of the earlier call may show
            call = None
        if call is None:
            call = self.calls[call_id] = CallState(call_id)
        if event["type"] == "call_started":
            call.agent = event.get("agent")  # visibility of this very event follows the new agent
        data, stamped = self._stamp(event, call)
        call.apply(data, now, stamped.json)
        if data["type"] == "alert":
            self.alert_feed.append(call.alerts[data["id"]])
        return data, stamped

    def seed(self, live: Mapping[str, Any]) -> None:
        """Put a call in progress back on the floor from what the store kept of it (a hub that
        restarts: `Store.live_calls`), without numbering anything: its events keep their seqs.
        `live["heard_at"]` (wall clock) is when the call was last heard of."""
        mask = self.redactor.event if self.redactor is not None else dict
        started = dict(live["call"])
        call_id = started["call"]
        if call_id in self.calls:
            self._forget(call_id)
        call = self.calls[call_id] = CallState(call_id)
        heard_at = float(live.get("heard_at") or 0.0)
        call.apply(started, heard_at, "")
        for turn in live.get("turns", ()):
            turn = mask(turn)
            call.apply(turn, heard_at, encode(turn))
        call.sentiments.clear()
        call.sentiments.extend((float(t), float(c)) for t, c in live.get("sentiments", ()))
        for event in live.get("heat", ()):
            call.apply(dict(event), heard_at, "")
        for alert in live.get("alerts", ()):
            call.apply(mask(alert), heard_at, "")
        for ack in live.get("acks", ()):
            acked = call.alerts.get(ack.get("id"))
            if acked is not None:
                acked["acked_by"], acked["acked_at"] = ack.get("by"), ack.get("at")
        self.alert_feed.extend(call.alerts.values())
        for event in live.get("coach", ()):
            call.apply(dict(event), heard_at, "")
        call.messages.extend(mask(m) for m in live.get("messages", ()))

    def ack_alert(self, call_id: str, alert_id: str, by: str, at: str) -> tuple[dict[str, Any], Stamped]:
        """A supervisor acknowledged an alert: mark it, and the `alert_ack` event to send to all."""
        call = self.calls.get(call_id)
        if call is None:
            raise FloorError(f"unknown call {call_id!r}")
        alert = call.alerts.get(alert_id)
        if alert is None:
            raise FloorError(f"unknown alert {alert_id!r} in call {call_id!r}")
        # `acked_t` is on the call's clock, the one the live pages show every time in.
        alert["acked_by"], alert["acked_at"], alert["acked_t"] = by, at, call.t
        event = {"type": "alert_ack", "call": call_id, "id": alert_id, "by": by, "at": at, "t": call.t}
        return self._stamp(event, call)

    def message(self, call_id: str, sender: str, text: str, at: str) -> tuple[dict[str, Any], Stamped]:
        """A supervisor's message to the agent of a call."""
        call = self.calls.get(call_id)
        if call is None:
            raise FloorError(f"unknown call {call_id!r}")
        if self.redactor is not None:
            text = self.redactor.event({"type": "supervisor_message", "text": text})["text"]
        event = {
            "type": "supervisor_message",
            "call": call_id,
            "from": sender,
            "text": text,
            "at": at,
            "t": call.t,
        }
        data, stamped = self._stamp(event, call)
        call.messages.append(data)
        return data, stamped

    def snapshot_json(self, agent: str | None) -> str:
        """The welcome's snapshot, as JSON, for a viewer limited to `agent` (None: everything).

        Within `snapshot_bytes` (characters of JSON): past it, every call keeps fewer of its
        newest turns (50, 25, 12, ... 0) until it fits; calls, heat and alerts are always there."""
        calls = [c for c in self.calls.values() if agent is None or c.agent == agent]
        if agent is None:
            alerts = list(self.alert_feed)
        else:
            mine = {c.call for c in calls}
            alerts = [a for a in self.alert_feed if a["call"] in mine]
        alerts_json = encode(alerts)
        heads = [c.head_json() for c in calls]
        fixed = len(alerts_json) + sum(len(h) for h in heads) + 32
        keep = TURNS_KEPT  # every turn kept: its size is known without counting (turn_chars)
        if fixed + sum(c.turn_chars + len(c.turns) for c in calls) > self.snapshot_bytes:
            keep //= 2
            while keep and fixed + sum(newest_chars(c.turns, keep) for c in calls) > self.snapshot_bytes:
                keep //= 2
        bodies = [
            head + ",".join(islice(c.turns, max(0, len(c.turns) - keep), None)) + "]}"
            for head, c in zip(heads, calls, strict=True)
        ]
        return '{"calls":[' + ",".join(bodies) + '],"alerts":' + alerts_json + "}"

    def snapshot(self, agent: str | None) -> dict[str, Any]:
        """The snapshot as a dict (the HTTP API, tests)."""
        data: dict[str, Any] = json.loads(self.snapshot_json(agent))
        return data

    def since(self, last_seq: int, agent: str | None) -> list[str] | None:
        """The encoded events after `last_seq` the viewer may see, or None if the window no longer
        has them all (or `last_seq` is from another life of the hub). Of heat and partials only
        the newest per call (and speaker) is replayed, as a slow viewer's queue would keep them."""
        if last_seq == self.seq:
            return []
        if not self.window or last_seq > self.seq or last_seq < self.window[0][0] - 1:
            return None
        start = last_seq + 1 - self.window[0][0]  # the window's seqs are contiguous
        mine = [s for s in islice(self.window, start, None) if agent is None or s[1] == agent]
        newest: dict[tuple[str, str, str], int] = {}
        for position, entry in enumerate(mine):
            if entry[2] is not None:
                newest[entry[2]] = position
        return [e[3] for i, e in enumerate(mine) if e[2] is None or newest[e[2]] == i]

    def expire(self, now: float) -> list[str]:
        """Forget calls that ended more than `ended_retention` seconds ago, and calls silent for
        `silent_retention` (a publisher that died without ending them); their ids."""
        gone = [
            c.call
            for c in self.calls.values()
            if (c.ended and c.ended_at is not None and now - c.ended_at > self.ended_retention)
            or now - c.seen_at > self.silent_retention
        ]
        for call_id in gone:
            self._forget(call_id, alerts=False)
        return gone

    def _forget(self, call_id: str, *, alerts: bool = True) -> None:
        """Take a call off the floor (and with `alerts`, its alerts out of the feed)."""
        del self.calls[call_id]
        if alerts and any(a["call"] == call_id for a in self.alert_feed):
            kept = [a for a in self.alert_feed if a["call"] != call_id]
            self.alert_feed = deque(kept, maxlen=ALERT_FEED_KEPT)
        if self.redactor is not None:
            self.redactor.forget(call_id)


@dataclass(slots=True)
class PublisherLedger:
    """Per publisher id: the last `pseq` the hub applied and the last it acknowledged (stored)."""

    applied: dict[str, int] = field(default_factory=dict)
    acked: dict[str, int] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)

    def last_acked(self, publisher: str) -> int:
        return self.acked.get(publisher, 0)

    def last_applied(self, publisher: str) -> int:
        return self.applied.get(publisher, 0)

    def note_applied(self, publisher: str, pseq: int, now: float) -> None:
        self.applied[publisher] = max(pseq, self.applied.get(publisher, 0))
        self.seen[publisher] = now

    def note_acked(self, publisher: str, pseq: int) -> None:
        self.acked[publisher] = max(pseq, self.acked.get(publisher, 0))

    def expire(self, now: float, idle: float) -> None:
        """Forget publishers not heard of for `idle` seconds, so the ledger stays bounded."""
        for publisher in [p for p, t in self.seen.items() if now - t > idle]:
            self.applied.pop(publisher, None)
            self.acked.pop(publisher, None)
            del self.seen[publisher]
