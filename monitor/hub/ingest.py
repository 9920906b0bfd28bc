"""Publishers' messages into the hub: pseq bookkeeping, validation, the floor, the store.

A publisher numbers its events (`pseq`); the hub applies each new one to the floor once,
hands it to the store (`sink`) and only then counts it as acknowledged. A resend of what
was acknowledged is dropped; a resend of what was applied but never stored (the store
failed) is stored without being applied twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol

from monitor.hub.floor import Floor, PublisherLedger, Stamped
from monitor.hub.validate import check_event


class Sink(Protocol):
    """Where accepted events are stored; the hub acks only after `write` returns."""

    async def write(self, events: list[dict[str, Any]]) -> None: ...


class Ingest:
    """Accepts publisher messages for the hub."""

    def __init__(
        self, floor: Floor, ledger: PublisherLedger, emit: Callable[[Stamped], None], sink: Sink | None
    ) -> None:
        self.floor = floor
        self.ledger = ledger
        self.emit = emit
        self.sink = sink

    async def accept(self, publisher: str, raw: str | bytes) -> tuple[list[str], bool]:
        """Accept one publisher message (an event or a batch): the errors to report, and whether
        it carried any pseq to acknowledge (new or resent)."""
        try:
            msg = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return ["not JSON"], False
        if isinstance(msg, dict) and msg.get("type") == "batch":
            items = msg.get("events")
            if not isinstance(items, list):
                return ["a batch needs an 'events' list"], False
        else:
            items = [msg]
        errors: list[str] = []
        to_store: list[dict[str, Any]] = []
        top = 0
        now = time.time()
        acked, applied = self.ledger.last_acked(publisher), self.ledger.last_applied(publisher)
        for item in items:
            pseq = item.get("pseq") if isinstance(item, dict) else None
            if not isinstance(pseq, int) or isinstance(pseq, bool) or pseq <= 0:
                errors.append("every published event needs a positive integer 'pseq'")
                continue
            assert isinstance(item, dict)
            top = max(top, pseq)
            if pseq <= acked:
                continue  # a resend of something already accepted
            body = {k: v for k, v in item.items() if k != "pseq"}
            if pseq <= applied:
                to_store.append(body)  # applied before, but its store write failed: store only
                continue
            problem = check_event(body)
            if problem is not None:
                # Counted as accepted all the same: resending it would not make it valid.
                errors.append(f"event pseq {pseq} rejected: {problem}")
                self.ledger.note_applied(publisher, pseq, now)
                continue
            data, stamped = self.floor.publish(body, now)
            self.emit(stamped)
            self.ledger.note_applied(publisher, pseq, now)
            to_store.append(data)
        if top:
            if self.sink is not None and to_store:
                await self.sink.write(to_store)
            self.ledger.note_acked(publisher, top)
        return errors, top > 0
