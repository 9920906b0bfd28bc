"""The wire contract (DESIGN.md section 4) as frozen dataclasses.

Every event has `type`, `call` and `t` (seconds since the call started). Optional fields
that are `None` are left out of the JSON. Reading is tolerant of keys it does not know
(the hub adds `seq`, later versions may add fields), strict about the ones it needs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, ClassVar

from monitor.errors import InputError


def utc_timestamp(when: datetime | None = None) -> str:
    """A wall-clock time as the wire contract writes it: ISO 8601 in UTC with a Z,
    to the millisecond (`started_at`, `2026-11-23T17:48:18.931Z`)."""
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


SPEAKERS = ("caller", "agent")


class EventError(InputError):
    """A message that does not fit the wire contract."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of all events: which call, and when in it."""

    type: ClassVar[str] = ""
    call: str
    t: float

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-ready dict, optional fields that are `None` left out."""
        out: dict[str, Any] = {"type": self.type}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = _plain(value)
        return out

    def to_json(self) -> str:
        """One compact JSON line."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Event:
        """Build the right event class from a decoded message; raise EventError if it does not fit."""
        if not isinstance(data, Mapping):
            raise EventError("an event must be a JSON object")
        kind = data.get("type")
        cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise EventError(f"unknown event type {kind!r}")
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in data:
                kwargs[f.name] = _from_plain(data[f.name])
        try:
            event = cls(**kwargs)
        except TypeError as err:
            missing = [f.name for f in fields(cls) if f.name not in data and _required(f)]
            raise EventError(f"{kind} event is missing {', '.join(missing) or 'fields'}") from err
        event._check()
        return event

    @staticmethod
    def from_json(line: str | bytes) -> Event:
        """Parse one JSON line into an event."""
        try:
            data = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise EventError(f"not JSON: {err}") from err
        return Event.from_dict(data)

    def _check(self) -> None:
        if not isinstance(self.call, str) or not self.call:
            raise EventError(f"{self.type} event needs a non-empty string 'call'")
        if not _is_number(self.t):
            raise EventError(f"{self.type} event needs a number 't'")
        if "speaker" in self.__dataclass_fields__:
            speaker = getattr(self, "speaker")  # noqa: B009 (only some subclasses have it)
            if speaker not in SPEAKERS:
                raise EventError(f"speaker must be 'caller' or 'agent', not {speaker!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStarted(Event):
    """A call began: who takes it, and from which source."""

    type: ClassVar[str] = "call_started"
    agent: str
    started_at: str
    caller_name: str | None = None
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
    words: Sequence[Mapping[str, Any]] | None = None
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


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls for cls in (CallStarted, Partial, Turn, Heat, Alert, Coach, CallEnded)
}


def _required(f: Any) -> bool:
    from dataclasses import MISSING

    return bool(f.default is MISSING and f.default_factory is MISSING)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _plain(value: Any) -> Any:
    """Tuples to lists, recursively, so the dict is what `json` would give back."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _from_plain(value: Any) -> Any:
    """Lists to tuples, so events read back are as immutable as the ones we make."""
    if isinstance(value, list):
        return tuple(_from_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _from_plain(v) for k, v in value.items()}
    return value
