"""Every message that crosses a socket, as frozen dataclasses: the wire contract's call events
(DESIGN.md section 4), the hub's own events, and the hub protocol's messages (hello,
welcome, ack, batch, error, and a supervisor's requests; docs/hub-protocol.md).

Each class has the same small face (`monitor.wire.Message`): `type`, `to_dict()`,
`to_json()`, `is_type(data)`, `from_dict(data)` and `check(data)`. Optional fields that are
`None` are left out of the JSON. Reading is tolerant of keys it does not know (the hub adds
`seq`, later versions may add fields) and strict about the ones it reads: each field is
checked against its declared type, so what a message class accepts is exactly what its
annotations say, and can always be sent on as standard JSON and stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from monitor.wire import EventError, Message, Raw

__all__ = ["EventError", "Message", "Raw"]  # with the message classes below


def utc_timestamp(when: datetime | None = None) -> str:
    """A wall-clock time as the wire contract writes it: ISO 8601 in UTC with a Z,
    to the millisecond (`started_at`, `2026-11-23T17:48:18.931Z`)."""
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


SPEAKERS = ("caller", "agent")
#: Who may connect to a hub, and what a token is for.
ROLES = ("publisher", "agent", "supervisor")
#: The roles that watch (pages), as opposed to publishing.
VIEWER_ROLES = ("agent", "supervisor")
#: The longest text a supervisor may send an agent.
MAX_MESSAGE_TEXT = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class Event(Message):
    """Base of the events of a call: which call, and when in it (`t`, call time in seconds)."""

    noun: ClassVar[str] = "event"
    call: str
    t: float

    @classmethod
    def _rule(cls, data: Mapping[str, Any]) -> str | None:
        if not data["call"]:
            return f"{cls.type} event needs a non-empty string 'call'"
        speaker = data.get("speaker")
        if speaker is not None and speaker not in SPEAKERS:
            return f"speaker must be 'caller' or 'agent', not {speaker!r}"
        return None


# -- the wire contract's call events ---------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStarted(Event):
    """A call began: who takes it, who calls, and from which source."""

    type: ClassVar[str] = "call_started"
    agent: str
    started_at: str
    caller_name: str | None = None
    caller_number: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Partial(Event):
    """Words recognised so far in a party's unfinished utterance."""

    type: ClassVar[str] = "partial"
    speaker: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Turn(Event):
    """A finished utterance of one party. Only caller turns carry `sentiment`."""

    type: ClassVar[str] = "turn"
    speaker: str
    text: str
    start: float
    end: float
    sentiment: Mapping[str, float] | None = None
    words: Sequence[Mapping[str, str | float]] | None = None
    confidence: float | None = None
    loudness_db: float | None = None
    rate_wps: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Heat(Event):
    """The call's heat after a change, with the reasons for it."""

    type: ClassVar[str] = "heat"
    value: float
    level: str
    trend: float
    reasons: Sequence[str] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert(Event):
    """Something a supervisor should see, with the caller's words that caused it."""

    type: ClassVar[str] = "alert"
    id: str
    kind: str
    level: str
    message: str
    evidence: Sequence[str] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Coach(Event):
    """The next H.E.A.T. step for the agent, with phrases to say and the steps done so far."""

    type: ClassVar[str] = "coach"
    step: str
    prompt: str
    phrases: Sequence[str] = ()
    done: Mapping[str, bool] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded(Event):
    """The call is over: how long it took and what happened in it."""

    type: ClassVar[str] = "call_ended"
    duration: float
    summary: Mapping[str, Any] | None = None


# -- events the hub makes --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertAck(Event):
    """A supervisor acknowledged an alert (`at`: the hub's wall clock)."""

    type: ClassVar[str] = "alert_ack"
    id: str
    by: str
    at: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisorMessage(Event):
    """A supervisor's message to the agent of a call."""

    type: ClassVar[str] = "supervisor_message"
    sender: str = field(metadata={"key": "from"})
    text: str
    at: str


# -- the hub protocol ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Hello(Message):
    """A client's first message: its role and token, and where it left off."""

    type: ClassVar[str] = "hello"
    role: str
    token: str | None = None  # missing: refused by the token check, with that reason
    last_seq: int | None = None
    publisher: str | None = None  # a publisher's stable id, kept across its reconnects

    @classmethod
    def _rule(cls, data: Mapping[str, Any]) -> str | None:
        if data["role"] not in ROLES:
            return f"unknown role {data['role']!r}; use one of {', '.join(ROLES)}"
        if data.get("last_seq") is not None and data["last_seq"] < 0:
            return "last_seq must not be negative"
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Welcome(Message):
    """The hub's answer to a hello: who the client is, the newest seq, and what it may see."""

    type: ClassVar[str] = "welcome"
    role: str
    agent: str | None
    name: str
    seq: int
    snapshot: Raw | Mapping[str, Any] | None = None
    replay: bool | None = None  # viewers: the events after last_seq follow
    last_pseq: int | None = None  # publishers: the last pseq the hub accepted from them
    null_keys: ClassVar[frozenset[str]] = frozenset({"agent"})  # null: sees every call


@dataclass(frozen=True, slots=True, kw_only=True)
class Ack(Message):
    """Everything a publisher sent up to `pseq` is accepted (stored, where the hub keeps a store)."""

    type: ClassVar[str] = "ack"
    pseq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch(Message):
    """Several events in one message: a publisher's (each with its `pseq`), or the hub's fan-out
    (each with its `seq`)."""

    type: ClassVar[str] = "batch"
    events: Sequence[Raw | Mapping[str, Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Error(Message):
    """The hub could not take a message; the connection goes on."""

    type: ClassVar[str] = "error"
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AckAlert(Message):
    """A supervisor acknowledges an alert; the hub answers everyone with `alert_ack`."""

    type: ClassVar[str] = "ack_alert"
    call: str
    id: str

    @classmethod
    def _rule(cls, data: Mapping[str, Any]) -> str | None:
        if not data["call"]:
            return "ack_alert needs a 'call'"
        if not data["id"]:
            return "ack_alert needs an alert 'id'"
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageAgent(Message):
    """A supervisor writes to the agent of a call; delivered as `supervisor_message`."""

    type: ClassVar[str] = "message"
    call: str
    text: str

    @classmethod
    def _rule(cls, data: Mapping[str, Any]) -> str | None:
        if not data["call"]:
            return "message needs a 'call'"
        if not data["text"].strip():
            return "message needs a non-empty 'text'"
        if len(data["text"]) > MAX_MESSAGE_TEXT:
            return f"message text is over {MAX_MESSAGE_TEXT} characters"
        return None


#: The wire contract's events: what a publisher may send.
EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls for cls in (CallStarted, Partial, Turn, Heat, Alert, Coach, CallEnded)
}
#: The events the hub makes itself, from supervisors' requests.
HUB_EVENT_TYPES: dict[str, type[Event]] = {cls.type: cls for cls in (AlertAck, SupervisorMessage)}
#: A supervisor's requests.
REQUEST_TYPES: dict[str, type[Message]] = {cls.type: cls for cls in (AckAlert, MessageAgent)}
#: Every message there is, by type.
MESSAGE_TYPES: dict[str, type[Message]] = {
    **EVENT_TYPES,
    **HUB_EVENT_TYPES,
    **REQUEST_TYPES,
    **{cls.type: cls for cls in (Hello, Welcome, Ack, Batch, Error)},
}


def turn_score(turn: Mapping[str, Any]) -> float | None:
    """The score a caller turn is coloured by: heatmon's `sentiment.score`, or raw VADER
    `compound` for a turn stored without one; None for an unscored turn. The same rule as
    the dashboard's `turnScore` (dashboard/js/callstate.js), so the report, the call page and
    the live views colour a turn alike."""
    sentiment = turn.get("sentiment")
    if not isinstance(sentiment, Mapping):
        return None
    for key in ("score", "compound"):
        value = sentiment.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None
