"""Wire events (DESIGN.md section 4, hub extras) as rows of the call store's tables: pure.

The writer groups a transaction's events by table with `RowBatch` and inserts each table's
rows with one `executemany`; that is what keeps the store near SQLite's raw insert rate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Columns of each child table after `call_pk`, in insert order.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "turns": ("seq", "t", "speaker", "text", "start_t", "end_t", "compound", "sentiment", "extra"),
    "heat": ("seq", "t", "value", "level", "trend", "reasons"),
    "alerts": ("seq", "t", "alert_id", "kind", "level", "message", "evidence"),
    "acks": ("seq", "alert_id", "by", "at"),
    "coach": ("seq", "t", "step", "prompt", "phrases", "done"),
    "messages": ("seq", "sender", "text", "at"),
}
INSERTS: dict[str, str] = {
    table: f"INSERT OR IGNORE INTO {table} (call_pk, {', '.join(cols)}) VALUES (?{', ?' * len(cols)})"
    for table, cols in TABLE_COLUMNS.items()
}
#: Turn keys that have their own column; the rest (words, confidence, loudness, ...) go to `extra`.
_TURN_KEYS = frozenset({"type", "call", "t", "seq", "speaker", "text", "start", "end", "sentiment"})


def dumps(value: Any) -> str | None:
    """Compact JSON for a JSON column; None stays NULL."""
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def child_row(event: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]] | None:
    """(table, values after call_pk) for an event stored as a child row; None for other events."""
    kind = event.get("type")
    seq = event.get("seq")
    t = float(event.get("t") or 0.0)
    if kind == "turn":
        sentiment = event.get("sentiment")
        compound = sentiment.get("compound") if isinstance(sentiment, Mapping) else None
        extra = {k: v for k, v in event.items() if k not in _TURN_KEYS}
        start = float(event.get("start", t))
        end = float(event.get("end", t))
        text = event.get("text", "")
        speaker = event.get("speaker", "caller")
        return "turns", (seq, t, speaker, text, start, end, compound, dumps(sentiment), dumps(extra or None))
    if kind == "heat":
        reasons = dumps(list(event.get("reasons") or ()))
        return "heat", (
            seq,
            t,
            float(event.get("value", 0.0)),
            event.get("level", ""),
            event.get("trend"),
            reasons,
        )
    if kind == "alert":
        evidence = dumps(list(event.get("evidence") or ()))
        head = (seq, t, str(event.get("id", "")), event.get("kind", ""))
        return "alerts", (*head, event.get("level"), event.get("message"), evidence)
    if kind == "alert_ack":
        return "acks", (seq, str(event.get("id", "")), event.get("by"), event.get("at"))
    if kind == "coach":
        phrases = dumps(list(event.get("phrases") or ()))
        return "coach", (
            seq,
            t,
            event.get("step", ""),
            event.get("prompt"),
            phrases,
            dumps(event.get("done")),
        )
    if kind == "supervisor_message":
        return "messages", (seq, event.get("from"), event.get("text", ""), event.get("at"))
    return None


@dataclass(slots=True)
class RowBatch:
    """One transaction's worth of events, sorted into what each table and call needs."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {t: [] for t in TABLE_COLUMNS})
    peak_heat: dict[int, float] = field(default_factory=dict)
    last_t: dict[int, float] = field(default_factory=dict)

    def add(self, call_pk: int, event: Mapping[str, Any]) -> None:
        """Sort one event of a known call into the batch."""
        found = child_row(event)
        if found is not None:
            table, values = found
            self.rows[table].append((call_pk, *values))
        t = event.get("t")
        if isinstance(t, (int, float)):
            self.last_t[call_pk] = max(self.last_t.get(call_pk, 0.0), float(t))
        if event.get("type") == "heat":
            value = float(event.get("value", 0.0))
            self.peak_heat[call_pk] = max(self.peak_heat.get(call_pk, value), value)
