"""Every message that crosses a socket: found by itself, round-tripped, and checked field by field."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import fields
from typing import Any

import pytest

from monitor import events, wire
from monitor.events import EVENT_TYPES, MESSAGE_TYPES, Event, EventError, Message, Raw


def message_classes() -> list[type[Message]]:
    """Every concrete message class in monitor.events, found by walking the class tree."""
    found: list[type[Message]] = []
    todo: list[type[Message]] = [Message]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        # slots=True makes a new class; the one it replaced lingers among the subclasses
        if cls.type and getattr(events, cls.__name__, None) is cls:
            found.append(cls)
    return sorted(found, key=lambda c: c.type)


def example(hint: Any, name: str) -> Any:
    """A valid JSON value for a field of this declared type."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, __import__("types").UnionType):
        return example(next(a for a in args if a is not type(None) and a is not Raw), name)
    if name == "speaker":
        return "caller"
    if name == "role":
        return "supervisor"
    if hint is str:
        return f"{name} é"
    if hint is float:
        return 1.5
    if hint is int:
        return 7
    if hint is bool:
        return True
    if origin in (Sequence, list):
        return [example(args[0], name)]
    if origin in (Mapping, dict):
        return {"k": example(args[1], name)}
    return {"nested": [1, "two", None, True]}


def wrong(hint: Any) -> Iterator[Any]:
    """Values a field of this type must refuse."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    nullable = origin in (typing.Union, __import__("types").UnionType) and type(None) in args
    inner = next((a for a in args if a is not type(None) and a is not Raw), hint) if nullable else hint
    o = typing.get_origin(inner)
    if inner is str:
        yield from (5, "\ud800", ["x"])
    elif inner is float:
        yield from ("soon", float("nan"), float("inf"), True, [1])
    elif inner is int:
        yield from (1.5, "7", True)
    elif inner is bool:
        yield from (1, "yes")
    elif o in (Sequence, list):
        yield from ("abc", [object()], {"a": 1})
    elif o in (Mapping, dict):
        yield from ([1], "x", {"k": object()})


def full(cls: type[Message]) -> dict[str, Any]:
    """A decoded message of this class with every field set."""
    hints = typing.get_type_hints(cls)
    data = {"type": cls.type}
    for f in fields(cls):
        data[f.metadata.get("key", f.name)] = example(hints[f.name], f.name)
    return data


CLASSES = message_classes()


def test_every_message_class_is_registered() -> None:
    """No message class exists that a reader could not build from its `type`."""
    assert {cls.type: cls for cls in CLASSES} == MESSAGE_TYPES == wire.TYPES
    assert len(CLASSES) == 16 and len(EVENT_TYPES) == 7


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.type)
def test_round_trip_keeps_every_field(cls: type[Message]) -> None:
    """to_json then from_json gives the same message, every field included (a forgotten field fails)."""
    data = full(cls)
    message = cls.from_dict(data)
    assert json.loads(message.to_json()) == data
    assert Message.from_json(message.to_json()) == message
    assert cls.is_type(data) and cls.check(data) is None


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.type)
def test_each_field_is_checked_against_its_type(cls: type[Message]) -> None:
    """Every field refuses a value of the wrong type (NaN, lone surrogates and wrong list items included),
    and a message without a required field is refused."""
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        key = f.metadata.get("key", f.name)
        for bad in wrong(hints[f.name]):
            data = {**full(cls), key: bad}
            assert cls.check(data) is not None, (cls.type, key, bad)
            with pytest.raises(EventError):
                cls.from_dict(data)
        if f.default is f.default_factory is __import__("dataclasses").MISSING:
            data = {k: v for k, v in full(cls).items() if k != key}
            assert f"needs a {key!r}" in (cls.check(data) or ""), (cls.type, key)


def test_cross_field_rules() -> None:
    """The rules beyond types: speakers, non-empty calls, roles, message text."""
    turn = full(events.Turn)
    assert "speaker" in (Event.check({**turn, "speaker": "robot"}) or "")
    assert "non-empty" in (Event.check({**turn, "call": ""}) or "")
    assert "unknown role" in (Message.check({**full(events.Hello), "role": "admin"}) or "")
    too_long = {**full(events.MessageAgent), "text": "x" * 501}
    assert "over 500" in (Message.check(too_long) or "")
    assert "non-empty" in (Message.check({**full(events.MessageAgent), "text": "  "}) or "")
    assert "unknown event type" in (Event.check({"type": "hello", "role": "agent", "token": "t"}) or "")
    assert Event.check([1, 2]) == "an event must be a JSON object"


def test_unknown_keys_are_tolerated_and_nothing_non_standard_is_written() -> None:
    """A reader ignores keys it does not know (extend, never break), and to_json never writes NaN."""
    data = {**full(events.Heat), "seq": 12, "future": {"x": 1}}
    assert Event.from_dict(data) == Event.from_dict(full(events.Heat))
    with pytest.raises(ValueError):
        events.Heat(call="c", t=float("nan"), value=1, level="calm", trend=0).to_json()


def test_raw_json_is_spliced_not_encoded_again() -> None:
    """A batch of already-encoded events and a welcome with an encoded snapshot are standard JSON."""
    batch = events.Batch(events=[Raw('{"type":"heat","seq":1}'), Raw('{"type":"turn","seq":2}')])
    assert json.loads(batch.to_json()) == {
        "type": "batch",
        "events": [{"type": "heat", "seq": 1}, {"type": "turn", "seq": 2}],
    }
    welcome = events.Welcome(role="agent", agent="alice", name="alice", seq=3, snapshot=Raw('{"calls":[]}'))
    assert json.loads(welcome.to_json())["snapshot"] == {"calls": []}
    assert (
        json.loads(events.Welcome(role="supervisor", agent=None, name="s", seq=1).to_json())["agent"] is None
    )


def test_a_bad_number_inside_words_is_named_in_the_error() -> None:
    """NaN (or a list) inside a turn's `words` is refused with an error that says what a word's
    fields must be, not just "a list of objects"."""
    turn = {
        "type": "turn",
        "call": "c1",
        "t": 2.0,
        "speaker": "caller",
        "text": "hi",
        "start": 1.0,
        "end": 2.0,
    }
    for word in ({"word": "hi", "start": float("nan"), "end": 2.0, "conf": 1.0}, {"word": ["hi"]}):
        problem = Event.check({**turn, "words": [word]})
        assert problem == "turn event's 'words' must be a list of objects of UTF-8 texts or finite numbers"
