"""The hub's decisions, without I/O: what a hello gets, what a publisher's message does to
the floor, and what a supervisor's request makes. Each takes the message as it came off the
socket and the time (`now`, seconds since the epoch) and returns what to send, store and
answer; `connections.py` only moves bytes.

Publishers number their events (`pseq`). Each new one is checked against the wire
contract, stamped with the hub-wide `seq`, folded into the floor once and handed back to
be stored; only after the store has it is it acknowledged (`confirm`). A resend of what was
acknowledged is dropped; a resend of what was applied but never stored (the store failed)
is stored again without being applied twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from monitor.events import (
    EVENT_TYPES,
    Ack,
    AckAlert,
    Batch,
    Error,
    Event,
    EventError,
    Hello,
    Message,
    MessageAgent,
    Raw,
    Welcome,
)
from monitor.hub.auth import AuthError, Grant, Tokens
from monitor.hub.call_state import Stamped
from monitor.hub.floor import Floor, FloorError, PublisherLedger

#: A publisher id longer than this is not one a publisher chose: the hub names it instead.
MAX_PUBLISHER_ID = 200


@dataclass(frozen=True, slots=True)
class Refused:
    """A connection to close: the reason goes in the close frame."""

    reason: str


@dataclass(frozen=True, slots=True)
class Admitted:
    """A hello that passed: the client's grant and what it said."""

    grant: Grant
    hello: Hello


@dataclass(slots=True)
class Intake:
    """What one publisher message did: events to fan out and to store, errors to answer, and
    the pseq to acknowledge once the events are stored (0: nothing to acknowledge)."""

    stamped: list[Stamped] = field(default_factory=list)
    to_store: list[dict[str, Any]] = field(default_factory=list)
    errors: list[Error] = field(default_factory=list)
    top: int = 0


@dataclass(frozen=True, slots=True)
class Made:
    """A supervisor's request carried out: the event it made, to fan out and to store."""

    event: dict[str, Any]
    stamped: Stamped


def decode(raw: str | bytes) -> Any:
    """A socket message as JSON, or None if it is not JSON (too deeply nested counts as not)."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def iso(now: float) -> str:
    """A wall-clock time as the hub writes `at`: ISO 8601 UTC, milliseconds."""
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class HubProtocol:
    """The hub's state machine over its floor, its publishers' ledger and its tokens."""

    def __init__(self, floor: Floor, ledger: PublisherLedger, tokens: Tokens) -> None:
        self.floor = floor
        self.ledger = ledger
        self.tokens = tokens

    # -- hello --------------------------------------------------------------------------

    def hello(self, raw: str | bytes) -> Admitted | Refused:
        """A client's first message: admitted with its grant, or refused with a reason."""
        data = decode(raw)
        if not Hello.is_type(data):
            return Refused("hello expected")
        problem = Hello.check(data)
        if problem is not None:
            return Refused(problem)
        hello = Hello.from_dict(data)
        try:
            grant = self.tokens.check(hello.token, hello.role)
        except AuthError as err:
            return Refused(err.reason)
        return Admitted(grant, hello)

    def publisher_welcome(self, admitted: Admitted, connection: str) -> tuple[str, Welcome]:
        """The publisher's id (its own, or one named after its `connection`) and its welcome."""
        chosen = admitted.hello.publisher
        publisher = (
            chosen if chosen and len(chosen) <= MAX_PUBLISHER_ID else f"{admitted.grant.name}@{connection}"
        )
        welcome = Welcome(
            role="publisher",
            agent=None,
            name=admitted.grant.name,
            seq=self.floor.seq,
            last_pseq=self.ledger.last_acked(publisher),
        )
        return publisher, welcome

    def viewer_welcome(self, admitted: Admitted) -> tuple[Welcome, list[str] | None]:
        """A viewer's welcome (its snapshot), and the events it missed since its `last_seq` if
        the replay window still has them all (None: it rebuilds from the snapshot)."""
        grant, last_seq = admitted.grant, admitted.hello.last_seq
        missed = None if last_seq is None else self.floor.since(last_seq, grant.agent)
        welcome = Welcome(
            role=grant.role,
            agent=grant.agent,
            name=grant.name,
            seq=self.floor.seq,
            replay=missed is not None,
            snapshot=Raw(self.floor.snapshot_json(grant.agent)),
        )
        return welcome, missed

    # -- publishers ---------------------------------------------------------------------

    def publish(self, publisher: str, raw: str | bytes, now: float) -> Intake:
        """One publisher message (an event or a batch of them) into the floor."""
        intake = Intake()
        msg = decode(raw)
        if Batch.is_type(msg):
            items = msg.get("events")
            if not isinstance(items, list):
                intake.errors.append(Error(message="a batch needs an 'events' list"))
                return intake
        elif msg is None:
            intake.errors.append(Error(message="not JSON"))
            return intake
        else:
            items = [msg]
        acked, applied = self.ledger.last_acked(publisher), self.ledger.last_applied(publisher)
        for item in items:
            pseq = item.get("pseq") if isinstance(item, dict) else None
            if not isinstance(pseq, int) or isinstance(pseq, bool) or pseq <= 0:
                intake.errors.append(Error(message="every published event needs a positive integer 'pseq'"))
                continue
            assert isinstance(item, dict)
            intake.top = max(intake.top, pseq)
            if pseq <= acked:
                continue  # a resend of something already accepted
            body = {k: v for k, v in item.items() if k != "pseq"}
            if pseq <= applied:
                intake.to_store.append(body)  # applied before, but its store write failed: store only
                continue
            problem = _event_problem(body)
            if problem is not None:
                # Counted as accepted all the same: resending it would not make it valid.
                intake.errors.append(Error(message=f"event pseq {pseq} rejected: {problem}"))
                self.ledger.note_applied(publisher, pseq, now)
                continue
            data, stamped = self.floor.publish(body, now)
            intake.stamped.append(stamped)
            self.ledger.note_applied(publisher, pseq, now)
            intake.to_store.append(data)
        return intake

    def confirm(self, publisher: str, intake: Intake) -> Ack | None:
        """The intake's events are stored: the ack to send (None: nothing to acknowledge)."""
        if not intake.top:
            return None
        self.ledger.note_acked(publisher, intake.top)
        return Ack(pseq=self.ledger.last_acked(publisher))

    # -- supervisors --------------------------------------------------------------------

    def request(self, grant: Grant, raw: str | bytes, now: float) -> Made | Error:
        """A viewer's message: the event it made, or the error to answer with."""
        if grant.role != "supervisor":
            return Error(message="agents may not send messages")
        data = decode(raw)
        if data is None:
            return Error(message="not JSON")
        if not isinstance(data, dict):
            return Error(message="a message must be a JSON object")
        # The type first: a message of no known type must say so, not ask for fields it never needed.
        kind = data.get("type")
        if kind not in (AckAlert.type, MessageAgent.type):
            return Error(message=f"unknown message type {kind!r}")
        try:
            request = Message.from_dict(data)
            if isinstance(request, AckAlert):
                event, stamped = self.floor.ack_alert(request.call, request.id, grant.name, iso(now))
            else:
                assert isinstance(request, MessageAgent)
                text = request.text.strip()
                event, stamped = self.floor.message(request.call, grant.name, text, iso(now))
        except (FloorError, EventError) as err:
            return Error(message=str(err))
        return Made(event, stamped)


def _event_problem(data: dict[str, Any]) -> str | None:
    """None if a published event fits the wire contract, else what is wrong with it."""
    if data.get("type") not in EVENT_TYPES:
        return f"unknown event type {data.get('type')!r}"
    return Event.check(data)
