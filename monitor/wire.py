"""How a message is read, checked and written: the base of every message class in
`monitor.events`, and the rules it derives from each class's annotations.

A field is checked against its declared type: numbers must be finite (NaN and Infinity are
not JSON, and no page could read them), text must be encodable as UTF-8 (a lone surrogate
cannot be sent or stored), lists and maps are checked item by item. The rules are derived
once per class, on first use. `Raw` marks JSON already encoded (a snapshot, forwarded
events), which `to_json` splices in instead of encoding it again.
"""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, fields
from typing import Any, ClassVar, Self, TypeVar

from monitor.errors import InputError


class EventError(InputError):
    """A message that does not fit the wire contract."""


class Raw(str):
    """JSON that is already encoded (a snapshot, a forwarded event): `to_json` splices it in
    as it is instead of encoding it again."""

    __slots__ = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """Base of every message: a JSON object with a `type`."""

    type: ClassVar[str] = ""
    #: What a reader calls one of these in an error ("event" for the call events).
    noun: ClassVar[str] = "message"
    #: Keys written as null when `None` instead of being left out.
    null_keys: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls) -> None:
        # No super() here: slots=True remakes the class, and zero-argument super() then fails.
        if cls.type:
            # slots=True makes a second class after this one: the last one made is the one kept.
            TYPES[cls.type] = cls

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
            return f"{'an' if cls.noun[0] in 'aeiou' else 'a'} {cls.noun} must be a JSON object"
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


#: Every message class, by type (filled as the classes are made).
TYPES: dict[str, type[Message]] = {}

Checker = Callable[[Any], bool]
M = TypeVar("M", bound=Message)


def _concrete(cls: type[M], kind: Any) -> type[M] | str:
    """The class a message of type `kind` is read as when asked of `cls`, or the problem."""
    if cls.type:
        if kind != cls.type:
            return f"expected a {cls.type} message, not {kind!r}"
        return cls
    found = TYPES.get(kind) if isinstance(kind, str) else None
    if found is None or not issubclass(found, cls):
        return f"unknown {cls.noun} type {kind!r}"
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
    what = cls.type if cls.noun == "message" else f"{cls.type} {cls.noun}"
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
        return f"{'objects' if plural else 'an object'} of {_describe(args[1], True)}"
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
