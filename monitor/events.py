"""Every message that crosses a socket, as frozen dataclasses: the wire contract's call events
(DESIGN.md section 4), the hub's own events, and the hub protocol's messages (hello,
welcome, ack, batch, error, and a supervisor's requests; docs/hub-protocol.md).

Each class has the same small face: `type`, `to_dict()`, `to_json()`, `is_type(data)`,
`from_dict(data)` and `check(data)`. Optional fields that are `None` are left out of the
JSON. Reading is tolerant of keys it does not know (the hub adds `seq`, later versions may
add fields) and strict about the ones it reads: each field is checked against its declared
type (numbers finite, text encodable as UTF-8, lists and maps element by element), so what
a message class accepts is exactly what its annotations say and can always be sent on as
standard JSON and stored.
"""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, TypeVar

from monitor.errors import InputError


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


class EventError(InputError):
    """A message that does not fit the wire contract."""


class Raw(str):
    """JSON that is already encoded (a snapshot, a forwarded event): `to_json` splices it in
    as it is instead of encoding it again."""

    __slots__ = ()


# -- the message base ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """Base of every message: a JSON object with a `type`."""

    type: ClassVar[str] = ""
    #: Keys written as null when `None` instead of being left out.
    null_keys: ClassVar[frozenset[str]] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """The message as a JSON-ready dict, optional fields that are `None` left out."""
        out: dict[str, Any] = {"type": self.type}
        for key, name in _keys(type(self)):
            value = getattr(self, name)
            if value is not None or key in self.null_keys:
                out[key] = _plain(value)
        return out

    def to_json(self) -> str:
        """One compact JSON line (standard JSON: every number in it is finite)."""
        data = self.to_dict()
        if not _raw_keys(type(self)):
            return _dumps(data)
        return "{" + ",".join(f"{_dumps(k)}:{_encode_spliced(v)}" for k, v in data.items()) + "}"

    @classmethod
    def is_type(cls, data: Any) -> bool:
        """Is `data` a decoded message of this class's type?"""
        return isinstance(data, Mapping) and data.get("type") == cls.type

    @classmethod
    def check(cls, data: Any) -> str | None:
        """None if `data` (a decoded JSON object) is a valid message of this class, or of the
        class its `type` names when called on a base class; else what is wrong with it."""
        if not isinstance(data, Mapping):
            return (
                "an event must be a JSON object"
                if issubclass(cls, Event)
                else "a message must be a JSON object"
            )
        target = _concrete(cls, data.get("type"))
        if isinstance(target, str):
            return target
        return _check_fields(target, data)

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """Build the message from a decoded JSON object; EventError if it does not fit. On a base
        class (`Event`, `Message`) the `type` picks the class."""
        problem = cls.check(data)
        if problem is not None:
            raise EventError(problem)
        target = _concrete(cls, data["type"])
        assert not isinstance(target, str)
        kwargs = {name: _from_plain(data[key]) for key, name in _keys(target) if key in data}
        return target(**kwargs)

    @classmethod
    def from_json(cls, line: str | bytes) -> Self:
        """Parse one JSON line into a message of this class (or of the type it names)."""
        try:
            data = json.loads(line)
        except (ValueError, UnicodeDecodeError) as err:
            raise EventError(f"not JSON: {err}") from err
        return cls.from_dict(data)

    @classmethod
    def _rule(cls, data: Mapping[str, Any]) -> str | None:
        """A rule beyond each field's type, on the checked decoded fields (None: fine). On the
        decoded dict, not an instance: the hub checks every event and forwards the dict."""
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Event(Message):
    """Base of the events of a call: which call, and when in it (`t`, call time in seconds)."""

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


# -- how fields are read, checked and written ------------------------------------------------

Checker = Callable[[Any], bool]
M = TypeVar("M", bound=Message)


def _concrete(cls: type[M], kind: Any) -> type[M] | str:
    """The class a message of type `kind` is read as when asked of `cls`, or the problem."""
    if cls.type:
        if kind != cls.type:
            return f"expected a {cls.type} message, not {kind!r}"
        return cls
    found = MESSAGE_TYPES.get(kind) if isinstance(kind, str) else None
    if found is None or not issubclass(found, cls):
        what = "event" if issubclass(cls, Event) else "message"
        return f"unknown {what} type {kind!r}"
    return found


# Derived once per class from its fields and annotations, on first use.
_KEYS: dict[type[Message], tuple[tuple[str, str], ...]] = {}
_RAW_KEYS: dict[type[Message], frozenset[str]] = {}
_RULES: dict[type[Message], tuple[tuple[str, bool, Checker, str], ...]] = {}


def _keys(cls: type[Message]) -> tuple[tuple[str, str], ...]:
    """(JSON key, attribute) of each field, in order."""
    if cls not in _KEYS:
        _KEYS[cls] = tuple((f.metadata.get("key", f.name), f.name) for f in fields(cls))
    return _KEYS[cls]


def _raw_keys(cls: type[Message]) -> frozenset[str]:
    """The JSON keys of fields that may hold already-encoded JSON."""
    if cls not in _RAW_KEYS:
        hints = typing.get_type_hints(cls)
        _RAW_KEYS[cls] = frozenset(key for key, name in _keys(cls) if "Raw" in repr(hints[name]))
    return _RAW_KEYS[cls]


def _rules(cls: type[Message]) -> tuple[tuple[str, bool, Checker, str], ...]:
    """Per field: JSON key, required, its type's checker, and the type as a reader would say it."""
    if cls not in _RULES:
        hints = typing.get_type_hints(cls)
        _RULES[cls] = tuple(
            (f.metadata.get("key", f.name), _required(f), _checker(hints[f.name]), _describe(hints[f.name]))
            for f in fields(cls)
        )
    return _RULES[cls]


def _check_fields(cls: type[Message], data: Mapping[str, Any]) -> str | None:
    what = f"{cls.type} event" if issubclass(cls, Event) else cls.type
    missing = [key for key, required, _, _ in _rules(cls) if required and key not in data]
    if missing:
        if len(missing) == 1:
            return f"{what} needs a {missing[0]!r}"
        return f"{what} is missing {', '.join(map(repr, missing))}"
    for key, _, ok, described in _rules(cls):
        if key in data and not ok(data[key]):
            return f"{what}'s {key!r} must be {described}"
    return cls._rule(data)


def _required(f: Field[Any]) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def _is_text(value: Any) -> bool:
    """A string that UTF-8 can carry: a lone surrogate (`"\\ud800"`) cannot be sent or stored."""
    if not isinstance(value, str):
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_number(value: Any) -> bool:
    return (isinstance(value, float) and math.isfinite(value)) or (
        isinstance(value, int) and not isinstance(value, bool)
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_plain(value: Any, depth: int = 0) -> bool:
    """Any JSON value whose numbers are finite and whose text is encodable, nested at most 32 deep."""
    if value is None or isinstance(value, bool) or _is_text(value) or _is_number(value):
        return True
    if depth >= 32:
        return False
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v, depth + 1) for v in value)
    if isinstance(value, Mapping):
        return all(_is_text(k) and _is_plain(v, depth + 1) for k, v in value.items())
    return False


def _checker(hint: Any) -> Checker:
    """A checker of decoded JSON for a field's declared type."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        # Raw is what the hub writes; what a reader gets back is the decoded JSON it stood for.
        options = [_checker(a) for a in args if a is not type(None) and a is not Raw]
        nullable = type(None) in args
        return lambda v: (nullable and v is None) or any(ok(v) for ok in options)
    if hint is str:
        return _is_text
    if hint is float:
        return _is_number
    if hint is int:
        return _is_int
    if hint is bool:
        return lambda v: isinstance(v, bool)
    if hint is Any:
        return _is_plain
    if origin is Sequence or origin is list:
        item = _checker(args[0])
        return lambda v: isinstance(v, (list, tuple)) and all(item(x) for x in v)
    if origin is Mapping or origin is dict:
        key, value = _checker(args[0]), _checker(args[1])
        return lambda v: isinstance(v, Mapping) and all(key(k) and value(x) for k, x in v.items())
    raise TypeError(f"no checker for field type {hint!r}")


_NAMES: dict[Any, tuple[str, str]] = {
    str: ("UTF-8 text", "UTF-8 texts"),
    float: ("a finite number", "finite numbers"),
    int: ("an integer", "integers"),
    bool: ("true or false", "true/false values"),
}


def _describe(hint: Any, plural: bool = False) -> str:
    """A field type as an error message says it."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a, plural) for a in args if a is not type(None) and a is not Raw)
    if hint in _NAMES:
        return _NAMES[hint][plural]
    if origin in (Sequence, list):
        return "lists" if plural else f"a list of {_describe(args[0], True)}"
    if origin in (Mapping, dict):
        return "objects" if plural else f"an object of {_describe(args[1], True)}"
    return "JSON values with finite numbers" if plural else "JSON with finite numbers"


def _dumps(data: Any) -> str:
    # allow_nan=False: NaN and Infinity are not JSON; no page could read them.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _encode_spliced(value: Any) -> str:
    """A field's JSON, with already-encoded parts (`Raw`) spliced in as they are."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, list) and any(isinstance(v, Raw) for v in value):
        return "[" + ",".join(_encode_spliced(v) for v in value) + "]"
    return _dumps(value)


def _plain(value: Any) -> Any:
    """Tuples to lists, recursively, so the dict is what `json` would give back."""
    if isinstance(value, Raw):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _from_plain(value: Any) -> Any:
    """Lists to tuples, so messages read back are as immutable as the ones we make."""
    if isinstance(value, list):
        return tuple(_from_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _from_plain(v) for k, v in value.items()}
    return value
