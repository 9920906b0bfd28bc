"""Reading the call store: the history list with its filters, and one call's full detail.

Detail comes back as wire-contract events (DESIGN.md section 4), so a review page, an
export and a replay all read the same shapes the live dashboard does.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.errors import InputError
from monitor.events import turn_score
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


def call_detail(conn: sqlite3.Connection, pk: int) -> dict[str, Any]:
    """One call for a review: its facts and every stored event, each list in time order."""
    c = conn.execute(
        "SELECT id, agent, caller_name, source, started_at, ended, duration, summary,"
        " max(coalesce((SELECT max(end_t) FROM turns WHERE call_pk = ?1), 0),"
        " coalesce((SELECT max(t) FROM heat WHERE call_pk = ?1), 0)), peak_heat, caller_number"
        " FROM calls WHERE pk = ?1",
        (pk,),
    ).fetchone()
    if c is None:
        raise StoreError(f"no call #{pk} in the call store")
    call_id = c[0]
    base = {"call": call_id}
    turns = []
    for seq, t, speaker, text, start, end, sentiment, extra in conn.execute(
        "SELECT seq, t, speaker, text, start_t, end_t, sentiment, extra FROM turns WHERE call_pk = ?"
        " ORDER BY start_t, t",
        (pk,),
    ):
        turn = {"type": "turn", **base, "t": t, "speaker": speaker, "text": text, "start": start, "end": end}
        if sentiment:
            turn["sentiment"] = json.loads(sentiment)
        turns.append(_with_seq(turn | (json.loads(extra) if extra else {}), seq))
    heat = [
        _with_seq(
            {"type": "heat", **base, "t": t, "value": v, "level": lvl, "trend": tr, "reasons": _list(r)}, s
        )
        for s, t, v, lvl, tr, r in conn.execute(
            "SELECT seq, t, value, level, trend, reasons FROM heat WHERE call_pk = ? ORDER BY t, rowid", (pk,)
        )
    ]
    acks = [
        _with_seq(_with_t({"type": "alert_ack", **base, "id": aid, "by": by, "at": at}, t), s)
        for s, aid, by, at, t in conn.execute(
            "SELECT seq, alert_id, by, at, t FROM acks WHERE call_pk = ? ORDER BY at, rowid", (pk,)
        )
    ]
    alerts = [
        _alert_event(base, row)
        for row in conn.execute(
            "SELECT seq, t, alert_id, kind, level, message, evidence FROM alerts WHERE call_pk = ?"
            " ORDER BY t, rowid",
            (pk,),
        )
    ]
    coach = [
        _with_seq(
            {
                "type": "coach",
                **base,
                "t": t,
                "step": step,
                "prompt": prompt or "",
                "phrases": _list(phr),
                "done": json.loads(done) if done else {},
            },
            s,
        )
        for s, t, step, prompt, phr, done in conn.execute(
            "SELECT seq, t, step, prompt, phrases, done FROM coach WHERE call_pk = ? ORDER BY t, rowid", (pk,)
        )
    ]
    messages = [
        _with_seq(
            _with_t({"type": "supervisor_message", **base, "from": sender, "text": text, "at": at}, t), s
        )
        for s, sender, text, at, t in conn.execute(
            "SELECT seq, sender, text, at, t FROM messages WHERE call_pk = ? ORDER BY at, rowid", (pk,)
        )
    ]
    return {
        "ref": f"#{pk}",
        "call": {
            "id": call_id,
            "agent": c[1],
            "caller_name": c[2],
            "source": c[3],
            "started_at": c[4],
            "ended": bool(c[5]),
            "duration": c[6],
            "summary": json.loads(c[7]) if c[7] else None,
            "last_t": c[8],
            "peak_heat": c[9],
            "caller_number": c[10],
        },
        "turns": turns,
        "heat": heat,
        "alerts": alerts,
        "acks": acks,
        "coach": coach,
        "messages": messages,
    }


def _list(raw: str | None) -> list[Any]:
    value = json.loads(raw) if raw else []
    return value if isinstance(value, list) else []


def _with_t(event: dict[str, Any], t: float | None) -> dict[str, Any]:
    """An ack or message with its call time; one stored before schema v3 has none, and then
    no `t` (absent, not a made-up number)."""
    if t is not None:
        event["t"] = t
    return event


def _alert_event(base: dict[str, Any], row: tuple[Any, ...]) -> dict[str, Any]:
    """A stored alert as its event: `row` is (seq, t, alert_id, kind, level, message, evidence)."""
    seq, t, aid, kind, level, msg, ev = row
    event = {"type": "alert", **base, "t": t, "id": aid, "kind": kind, "level": level}
    return _with_seq({**event, "message": msg or "", "evidence": _list(ev)}, seq)


def _with_seq(event: dict[str, Any], seq: int | None) -> dict[str, Any]:
    if seq is not None:
        event["seq"] = seq
    return event


#: How far back a call may have started and still be live at a hub's start (a day: no call is longer).
LIVE_LOOKBACK = 86_400.0


def live_calls(conn: sqlite3.Connection, now: float, silent: float, turns: int = 50) -> list[dict[str, Any]]:
    """The calls still in progress at `now`, newest first, as a live floor needs them to be
    rebuilt after a hub restart: no call_ended, and heard of (start time plus the call time of
    its last turn or heat change) within `silent` seconds. Per call: `call` (its call_started
    event), its last `turns` turns, its caller turns' sentiment (`sentiments`, [t, compound]),
    its last heat changes, its newest alerts with their acks, its newest coach events and
    supervisor messages; every event a wire-contract dict with the `seq` it had."""
    rows = conn.execute(
        "SELECT pk, id, agent, caller_name, source, started_at, started_ts,"
        " max(coalesce((SELECT max(t) FROM turns WHERE call_pk = pk), 0),"
        " coalesce((SELECT max(t) FROM heat WHERE call_pk = pk), 0))"
        " FROM calls WHERE ended = 0 AND started_ts >= ? ORDER BY started_ts DESC, pk DESC",
        (now - LIVE_LOOKBACK,),
    ).fetchall()
    live = []
    for pk, call_id, agent, caller_name, source, started_at, started_ts, last_t in rows:
        if started_ts is None or started_ts + last_t < now - silent:
            continue
        if not isinstance(agent, str) or not isinstance(started_at, str):
            continue  # a placeholder row whose call_started was never stored: no agent to show it to
        started = {
            "type": "call_started",
            "call": call_id,
            "t": 0.0,
            "agent": agent,
            "started_at": started_at,
        }
        started |= {k: v for k, v in (("caller_name", caller_name), ("source", source)) if v is not None}
        live.append({**_live_call(conn, pk, started, turns), "heard_at": started_ts + last_t})
    return live


def _newest(conn: sqlite3.Connection, sql: str, pk: int, limit: int) -> list[tuple[Any, ...]]:
    """The newest `limit` rows of a child-table query ordered newest first, returned oldest first."""
    return list(reversed(conn.execute(sql + " LIMIT ?", (pk, limit)).fetchall()))


def _live_call(conn: sqlite3.Connection, pk: int, started: dict[str, Any], turns: int) -> dict[str, Any]:
    base = {"call": started["call"]}
    kept_turns = []
    for seq, t, speaker, text, start, end, sentiment, extra in _newest(
        conn,
        "SELECT seq, t, speaker, text, start_t, end_t, sentiment, extra FROM turns WHERE call_pk = ?"
        " ORDER BY start_t DESC, t DESC",
        pk,
        turns,
    ):
        turn = {"type": "turn", **base, "t": t, "speaker": speaker, "text": text, "start": start, "end": end}
        if sentiment:
            turn["sentiment"] = json.loads(sentiment)
        kept_turns.append(_with_seq(turn | (json.loads(extra) if extra else {}), seq))
    sentiments = []  # [t, score] as the live floor keeps them (events.turn_score)
    for t, sentiment in _newest(
        conn,
        "SELECT t, sentiment FROM turns WHERE call_pk = ? AND speaker = 'caller' AND sentiment IS NOT NULL"
        " ORDER BY t DESC",
        pk,
        120,
    ):
        score = turn_score({"sentiment": json.loads(sentiment)})
        if score is not None:
            sentiments.append([t, score])
    heat = [
        _with_seq(
            {"type": "heat", **base, "t": t, "value": v, "level": lvl, "trend": tr, "reasons": _list(r)}, s
        )
        for s, t, v, lvl, tr, r in _newest(
            conn,
            "SELECT seq, t, value, level, trend, reasons FROM heat WHERE call_pk = ? ORDER BY t DESC",
            pk,
            120,
        )
    ]
    alerts = [
        _alert_event(base, row)
        for row in _newest(
            conn,
            "SELECT seq, t, alert_id, kind, level, message, evidence FROM alerts WHERE call_pk = ?"
            " ORDER BY t DESC, rowid DESC",
            pk,
            20,
        )
    ]
    acks = [
        _with_t({"type": "alert_ack", **base, "id": aid, "by": by, "at": at}, t)
        for aid, by, at, t in conn.execute(
            "SELECT alert_id, by, at, t FROM acks WHERE call_pk = ? ORDER BY at, rowid", (pk,)
        )
    ]
    coach_sql = "SELECT seq, t, step, prompt, phrases, done FROM coach WHERE call_pk = ?{}"
    coach_sql += " ORDER BY t DESC, rowid DESC"
    coach_rows = _newest(conn, coach_sql.format(" AND coalesce(prompt, '') != ''"), pk, 1)
    coach_rows += [r for r in _newest(conn, coach_sql.format(""), pk, 1) if r not in coach_rows]
    coach = [
        _with_seq(
            {
                "type": "coach",
                **base,
                "t": t,
                "step": step,
                "prompt": prompt or "",
                "phrases": _list(phr),
                "done": json.loads(done) if done else {},
            },
            s,
        )
        for s, t, step, prompt, phr, done in sorted(coach_rows, key=lambda r: r[1])
    ]
    messages = [
        _with_seq(
            _with_t({"type": "supervisor_message", **base, "from": sender, "text": text, "at": at}, t), s
        )
        for s, sender, text, at, t in _newest(
            conn,
            "SELECT seq, sender, text, at, t FROM messages WHERE call_pk = ? ORDER BY at DESC, rowid DESC",
            pk,
            20,
        )
    ]
    return {
        "call": started,
        "turns": kept_turns,
        "sentiments": sentiments,
        "heat": heat,
        "alerts": alerts,
        "acks": acks,
        "coach": coach,
        "messages": messages,
    }
