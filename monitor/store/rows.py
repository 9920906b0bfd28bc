"""Wire events (DESIGN.md section 4, hub extras) as rows of the call store's tables: pure.

The writer groups a transaction's events by table with `RowBatch` and inserts each table's
rows with one `executemany`; that is what keeps the store near SQLite's raw insert rate.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Columns of each child table after `call_pk`, in insert order.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "turns": ("seq", "t", "speaker", "text", "start_t", "end_t", "compound", "sentiment", "extra"),
    "heat": ("seq", "t", "value", "level", "trend", "reasons"),
    "alerts": ("seq", "t", "alert_id", "kind", "level", "message", "evidence"),
    "acks": ("seq", "alert_id", "by", "at", "t"),
    "coach": ("seq", "t", "step", "prompt", "phrases", "done"),
    "messages": ("seq", "sender", "text", "at", "t"),
}
INSERTS: dict[str, str] = {
    table: f"INSERT OR IGNORE INTO {table} (call_pk, {', '.join(cols)}) VALUES (?{', ?' * len(cols)})"
    for table, cols in TABLE_COLUMNS.items()
}
#: Turn keys that have their own column; the rest (words, confidence, loudness, ...) go to `extra`.
_TURN_KEYS = frozenset({"type", "call", "t", "seq", "speaker", "text", "start", "end", "sentiment"})


def _unserializable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _compact_encoder() -> Callable[[Any], str]:
    """Compact JSON, made once. `json.dumps` with arguments builds a new encoder per call, and
    even a reused JSONEncoder builds its C encoder per call; here the C encoder is built once."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
    chunks = make(None, _unserializable, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    return lambda value: "".join(chunks(value, 0))


_ENCODE = _compact_encoder()
# Reasons, phrases and evidence repeat all the time; their JSON is worth remembering.
_LIST_JSON: dict[tuple[Any, ...], str] = {}


def dumps(value: Any) -> str | None:
    """Compact JSON for a JSON column; None stays NULL."""
    return None if value is None else _ENCODE(value)


def list_json(value: Any) -> str:
    """JSON of a list of strings (reasons, phrases, evidence), remembered for the next time."""
    if not value:
        return "[]"
    key = tuple(value)
    try:
        return _LIST_JSON[key]
    except KeyError:
        if len(_LIST_JSON) > 4096:
            _LIST_JSON.clear()
        encoded = _LIST_JSON[key] = _ENCODE(list(value))
        return encoded
    except TypeError:  # not hashable: a list of something else than strings
        return _ENCODE(list(value))


# Row builders. Numbers go in as they come: the columns' REAL affinity makes SQLite store
# them as floats, which is cheaper than float() per value here (this is the store's hot path).


def _turn(pk: int, e: Mapping[str, Any]) -> tuple[Any, ...]:
    sentiment = e.get("sentiment")
    others = e.keys() - _TURN_KEYS
    extra = _ENCODE({k: e[k] for k in others}) if others else None
    if sentiment is None:
        compound = encoded = None
    else:
        compound, encoded = sentiment.get("compound"), _ENCODE(sentiment)
    try:  # the hub has checked the contract's required fields; the fallback is for anything else
        return (
            pk,
            e.get("seq"),
            e["t"],
            e["speaker"],
            e["text"],
            e["start"],
            e["end"],
            compound,
            encoded,
            extra,
        )
    except KeyError:
        t = e.get("t", 0.0)
        head = (pk, e.get("seq"), t, e.get("speaker", "caller"), e.get("text", ""), e.get("start", t))
        return (*head, e.get("end", t), compound, encoded, extra)


def _heat(pk: int, e: Mapping[str, Any]) -> tuple[Any, ...]:
    listed = e.get("reasons")
    try:
        reasons = _LIST_JSON[tuple(listed)] if listed else "[]"
    except (KeyError, TypeError):
        reasons = list_json(listed)
    try:
        return (pk, e.get("seq"), e["t"], e["value"], e["level"], e["trend"], reasons)
    except KeyError:
        return (
            pk,
            e.get("seq"),
            e.get("t", 0.0),
            e.get("value", 0.0),
            e.get("level", ""),
            e.get("trend"),
            reasons,
        )


def _alert(pk: int, e: Mapping[str, Any]) -> tuple[Any, ...]:
    head = (pk, e.get("seq"), e.get("t", 0.0), str(e.get("id", "")), e.get("kind", ""))
    return (*head, e.get("level"), e.get("message"), list_json(e.get("evidence")))


def _ack(pk: int, e: Mapping[str, Any]) -> tuple[Any, ...]:
    return (pk, e.get("seq"), str(e.get("id", "")), e.get("by"), e.get("at"), e.get("t"))


def _coach(pk: int, e: Mapping[str, Any]) -> tuple[Any, ...]:
    head = (pk, e.get("seq"), e.get("t", 0.0), e.get("step", ""), e.get("prompt"))
    return (*head, list_json(e.get("phrases")), dumps(e.get("done")))


def _message(pk: int, e: Mapping[str, Any]) -> tuple[Any, ...]:
    return (pk, e.get("seq"), e.get("from"), e.get("text", ""), e.get("at"), e.get("t"))


RowBuilder = Callable[[int, Mapping[str, Any]], tuple[Any, ...]]

#: Event type -> (table, row builder). Other types (partial, call_started, ...) make no child row.
ROW_BUILDERS: dict[str, tuple[str, RowBuilder]] = {
    "turn": ("turns", _turn),
    "heat": ("heat", _heat),
    "alert": ("alerts", _alert),
    "alert_ack": ("acks", _ack),
    "coach": ("coach", _coach),
    "supervisor_message": ("messages", _message),
}


@dataclass(slots=True)
class RowBatch:
    """One transaction's rows, per table. `sorters` maps an event type straight to the list
    append and the builder, so the write loop does one dict lookup per event."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {t: [] for t in TABLE_COLUMNS})
    sorters: dict[str, tuple[Callable[[tuple[Any, ...]], None], RowBuilder]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sorters = {
            kind: (self.rows[table].append, build) for kind, (table, build) in ROW_BUILDERS.items()
        }

    def add(self, call_pk: int, event: Mapping[str, Any]) -> None:
        """Sort one event of a known call into the batch (the write loop inlines this)."""
        entry = self.sorters.get(event.get("type"))  # type: ignore[arg-type]
        if entry is not None:
            entry[0](entry[1](call_pk, event))

    def heated_calls(self) -> set[int]:
        """The calls whose peak heat may have changed."""
        return {row[0] for row in self.rows["heat"]}
