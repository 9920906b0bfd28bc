"""A publisher's outbox, without I/O: the events not yet acknowledged, their `pseq`, and
what each live call needs re-announced to a hub that lost its state.

The bound drops the oldest event that is not an alert (or a call's start or end). After a
reconnect `resume` lines the outbox up with the hub's `last_pseq`; `chunks` and `encode`
cut what is unsent into messages under the hub's limit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Never dropped from a full buffer while anything else can be.
KEPT_WHEN_FULL = frozenset({"alert", "call_started", "call_ended"})
#: Per live call, the events that rebuild its tile on a hub that lost its state.
STATE_TYPES = frozenset({"call_started", "heat", "coach"})


#: Bytes per message to the hub, under its 64 KiB limit with room to spare.
MAX_MESSAGE = 60_000


@dataclass(slots=True)
class _Item:
    """One published event: its (changeable) pseq, its type, and its JSON without the pseq."""

    pseq: int
    kind: str
    body: bytes

    def encoded(self) -> bytes:
        if self.body == b"{}":
            return b'{"pseq":%d}' % self.pseq
        return self.body[:-1] + b',"pseq":%d}' % self.pseq


def _state_slot(kind: str, data: Mapping[str, Any]) -> str:
    """Where a call's state event is kept for re-announcing. A coach event with an empty prompt
    only ticks steps, so it gets a slot of its own: re-announcing it must not lose the last prompt."""
    return "coach_progress" if kind == "coach" and not data.get("prompt") else kind


class Outbox:
    """The events published but not yet acknowledged, in pseq order, at most `bound` of them."""

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.pseq = 0  # last assigned
        self.acked = 0
        self.sent = 0  # last sent on the current connection
        self.items: deque[_Item] = deque()
        self._state: dict[str, dict[str, _Item]] = {}

    def add(self, data: Mapping[str, Any], body: bytes) -> bool:
        """Number one event (`data`, encoded as `body`) and keep it; True if that made the
        outbox drop one."""
        kind, call = str(data.get("type")), data.get("call")
        self.pseq += 1
        item = _Item(self.pseq, kind, body)
        self.items.append(item)
        if isinstance(call, str):
            if kind == "call_ended":
                self._state.pop(call, None)
            elif kind in STATE_TYPES:
                self._state.setdefault(call, {})[_state_slot(kind, data)] = item
        if len(self.items) > self.bound:
            self._drop_one()
            return True
        return False

    def _drop_one(self) -> None:
        victim = next((i for i in self.items if i.kind not in KEPT_WHEN_FULL), self.items[0])
        self.items.remove(victim)
        victim.pseq = -1  # gone: nobody waits for its ack

    def resume(self, last_pseq: int) -> bool:
        """Line the buffer up with what the hub has: drop what it has, renumber if it lost state.
        True if that acknowledged events."""
        acked = False
        if self.acked <= last_pseq <= self.pseq:
            acked = self.ack(last_pseq)
        else:
            # The hub forgot us (restart) or knows a higher pseq than ours (reused id): renumber
            # after its last_pseq, re-announcing the live calls' state it had acknowledged.
            lost = sorted(
                (i for calls in self._state.values() for i in calls.values() if i.pseq <= self.acked),
                key=lambda i: i.pseq,
            )
            items = [*lost, *self.items]
            for n, item in enumerate(items, start=last_pseq + 1):
                item.pseq = n
            self.items = deque(items)
            self.pseq = last_pseq + len(items)
            self.acked = last_pseq
        self.sent = last_pseq
        return acked

    def ack(self, pseq: int) -> bool:
        """The hub has everything up to `pseq`; False if it said so before."""
        if pseq <= self.acked:
            return False
        self.acked = pseq
        while self.items and self.items[0].pseq <= pseq:
            self.items.popleft()
        return True

    def unsent(self) -> list[_Item]:
        """The events not yet sent on the current connection, in pseq order."""
        pending: list[_Item] = []
        for item in reversed(self.items):  # in pseq order: the unsent ones are at the end
            if item.pseq <= self.sent:
                break
            pending.append(item)
        pending.reverse()
        return pending


def chunks(items: list[_Item], per_message: int) -> list[list[_Item]]:
    """Consecutive runs of items that each fit in one message to the hub."""
    runs: list[list[_Item]] = []
    size = MAX_MESSAGE
    for item in items:
        if size + len(item.body) + 24 > MAX_MESSAGE or len(runs[-1]) >= per_message:
            runs.append([])
            size = 40
        runs[-1].append(item)
        size += len(item.body) + 24
    return runs


def encode(chunk: list[_Item]) -> bytes:
    """One message to the hub: the event itself, or a batch of them."""
    if len(chunk) == 1:
        return chunk[0].encoded()
    return b'{"type":"batch","events":[' + b",".join(i.encoded() for i in chunk) + b"]}"
