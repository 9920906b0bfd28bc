"""Reading the call store: the history list with its filters, and finding a call by reference.

One call's events come back through `monitor.store.detail`.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.errors import InputError
from monitor.store.schema import StoreError


@dataclass(frozen=True, slots=True)
class CallFilter:
    """What the history list shows: every field that is set must match."""

    agent: str | None = None
    since: float | None = None  # epoch seconds, calls that started at or after
    until: float | None = None  # epoch seconds, calls that started before
    min_heat: float | None = None
    alert_kind: str | None = None
    text: str | None = None  # in the transcript, the caller's name or the call id
    caller: str | None = None  # the caller's number, as the phone system gave it
    limit: int = 200
    offset: int = 0


@dataclass(frozen=True, slots=True)
class CallRow:
    """One line of the history list."""

    pk: int
    id: str
    agent: str | None
    caller_name: str | None
    source: str | None
    started_at: str | None
    started_ts: float | None
    ended: bool
    duration: float | None
    peak_heat: float | None
    alert_kinds: tuple[str, ...]
    turns: int
    caller_number: str | None = None

    @property
    def ref(self) -> str:
        """The unambiguous reference `heatmon export` and `report` accept: `#<pk>`."""
        return f"#{self.pk}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with `ref`."""
        return {"ref": self.ref, **asdict(self), "alert_kinds": list(self.alert_kinds)}


_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([mhdw])$")
_UNIT_SECONDS = {"m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_when(text: str, now: float) -> float:
    """Epoch seconds for a date, an ISO time (UTC unless it says otherwise) or an age like `7d`."""
    relative = _RELATIVE.match(text.strip().lower())
    if relative:
        return now - float(relative.group(1)) * _UNIT_SECONDS[relative.group(2)]
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"not a date, time or age: {text!r} (try 2026-11-01, 2026-11-01T09:00 or 7d)"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


#: SQLite's largest integer: a limit, offset or row key beyond it cannot be bound to a query.
SQLITE_MAX_INT = 2**63 - 1


def _sql_int(value: int) -> int:
    """`value` held to 0..SQLITE_MAX_INT, so that binding it can never fail."""
    return min(max(0, value), SQLITE_MAX_INT)


def filter_from_params(params: Mapping[str, str], now: float) -> CallFilter:
    """A CallFilter from query parameters (`agent`, `since`, `until`, `min_heat`, `alert`, `q`,
    `caller`, `limit`, `offset`), as the history page sends them; InputError for a malformed value."""

    def number(key: str) -> float | None:
        raw = params.get(key)
        if raw in (None, ""):
            return None
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InputError(f"{key} must be a number, not {raw!r}") from None
        return value

    def when(key: str) -> float | None:
        raw = params.get(key)
        return parse_when(raw, now) if raw else None

    limit, offset = number("limit"), number("offset")
    return CallFilter(
        agent=params.get("agent") or None,
        since=when("since"),
        until=when("until"),
        min_heat=number("min_heat"),
        alert_kind=params.get("alert") or None,
        text=params.get("q") or None,
        caller=params.get("caller") or None,
        limit=max(1, min(int(limit), 1000)) if limit is not None else 200,
        offset=min(max(0, int(offset)), SQLITE_MAX_INT) if offset is not None else 0,
    )


_LIST_SQL = """
SELECT c.pk, c.id, c.agent, c.caller_name, c.source, c.started_at, c.started_ts, c.ended, c.duration,
       c.peak_heat,
       (SELECT group_concat(DISTINCT a.kind) FROM alerts a WHERE a.call_pk = c.pk),
       (SELECT count(*) FROM turns tu WHERE tu.call_pk = c.pk),
       c.caller_number
FROM calls c
"""


def list_calls(conn: sqlite3.Connection, where: CallFilter) -> list[CallRow]:
    """Calls matching `where`, newest first."""
    clauses: list[str] = []
    params: list[Any] = []
    if where.agent:
        clauses.append("c.agent = ? COLLATE NOCASE")
        params.append(where.agent)
    if where.since is not None:
        clauses.append("c.started_ts >= ?")
        params.append(where.since)
    if where.until is not None:
        clauses.append("c.started_ts < ?")
        params.append(where.until)
    if where.min_heat is not None:
        clauses.append("c.peak_heat >= ?")
        params.append(where.min_heat)
    if where.alert_kind:
        clauses.append("EXISTS (SELECT 1 FROM alerts a WHERE a.call_pk = c.pk AND a.kind = ?)")
        params.append(where.alert_kind)
    if where.caller:
        clauses.append("c.caller_number = ?")
        params.append(where.caller)
    if where.text:
        like = "%" + where.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(
            "(c.id LIKE ? ESCAPE '\\' OR c.caller_name LIKE ? ESCAPE '\\' OR EXISTS"
            " (SELECT 1 FROM turns tu WHERE tu.call_pk = c.pk AND tu.text LIKE ? ESCAPE '\\'))"
        )
        params += [like, like, like]
    sql = _LIST_SQL + (" WHERE " + " AND ".join(clauses) if clauses else "")
    sql += " ORDER BY c.started_ts DESC, c.pk DESC LIMIT ? OFFSET ?"
    rows = conn.execute(sql, [*params, _sql_int(where.limit), _sql_int(where.offset)]).fetchall()
    return [
        CallRow(
            pk=r[0],
            id=r[1],
            agent=r[2],
            caller_name=r[3],
            source=r[4],
            started_at=r[5],
            started_ts=r[6],
            ended=bool(r[7]),
            duration=r[8],
            peak_heat=r[9],
            alert_kinds=tuple(sorted(r[10].split(","))) if r[10] else (),
            turns=r[11],
            caller_number=r[12],
        )
        for r in rows
    ]


def resolve_call(conn: sqlite3.Connection, ref: str) -> int:
    """The row key for `#<pk>` or a call id (its newest call); StoreError if there is none."""
    ref = ref.strip()
    if ref.startswith("#") and ref[1:].isdigit():
        pk = int(ref[1:])  # past SQLite's integer range no row can have it, and binding it would fail
        row = (
            conn.execute("SELECT pk FROM calls WHERE pk = ?", (pk,)).fetchone()
            if pk <= SQLITE_MAX_INT
            else None
        )
    else:
        row = conn.execute("SELECT pk FROM calls WHERE id = ? ORDER BY pk DESC LIMIT 1", (ref,)).fetchone()
    if row is None:
        raise StoreError(f"no call {ref!r} in the call store; `heatmon calls` lists the stored calls")
    return int(row[0])
