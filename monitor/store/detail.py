"""One stored call back as wire-contract events (DESIGN.md section 4): the whole of it for a
review, or the recent part a live floor shows, to rebuild the floor after a hub restart.

A review page, an export, a replay and a rebuilt floor all read the same shapes the live
dashboard does. Each table's rows become events in one place below.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from monitor.events import turn_score
from monitor.store.schema import StoreError

#: The columns each child table is read with, in the order the event builders below take them.
TURN_COLUMNS = "seq, t, speaker, text, start_t, end_t, sentiment, extra"
HEAT_COLUMNS = "seq, t, value, level, trend, reasons"
ALERT_COLUMNS = "seq, t, alert_id, kind, level, message, evidence"
ACK_COLUMNS = "seq, alert_id, by, at, t"
COACH_COLUMNS = "seq, t, step, prompt, phrases, done"
MESSAGE_COLUMNS = "seq, sender, text, at, t"

ACKS_OF_CALL = f"SELECT {ACK_COLUMNS} FROM acks WHERE call_pk = ? ORDER BY at, rowid"

#: How far back a call may have started and still be live at a hub's start (a day: no call is longer).
LIVE_LOOKBACK = 86_400.0


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
    base = {"call": c[0]}

    def rows(columns: str, table: str, order: str) -> list[tuple[Any, ...]]:
        sql = f"SELECT {columns} FROM {table} WHERE call_pk = ? ORDER BY {order}"
        return conn.execute(sql, (pk,)).fetchall()

    return {
        "ref": f"#{pk}",
        "call": {
            "id": c[0],
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
        "turns": [_turn(base, r) for r in rows(TURN_COLUMNS, "turns", "start_t, t")],
        "heat": [_heat(base, r) for r in rows(HEAT_COLUMNS, "heat", "t, rowid")],
        "alerts": [_alert(base, r) for r in rows(ALERT_COLUMNS, "alerts", "t, rowid")],
        "acks": [_ack(base, r) for r in rows(ACK_COLUMNS, "acks", "at, rowid")],
        "coach": [_coach(base, r) for r in rows(COACH_COLUMNS, "coach", "t, rowid")],
        "messages": [_message(base, r) for r in rows(MESSAGE_COLUMNS, "messages", "at, rowid")],
    }


def live_calls(conn: sqlite3.Connection, now: float, silent: float, turns: int = 50) -> list[dict[str, Any]]:
    """The calls still in progress at `now`, newest first, as a live floor needs them to be
    rebuilt after a hub restart: no call_ended, and heard of (start time plus the call time of
    its last turn or heat change) within `silent` seconds. Per call: `call` (its call_started
    event), its last `turns` turns, its caller turns' sentiment (`sentiments`, [t, score]),
    its last heat changes, its newest alerts with their acks, its newest coach events and
    supervisor messages; every event a wire-contract dict with the `seq` it had."""
    rows = conn.execute(
        "SELECT pk, id, agent, caller_name, caller_number, source, started_at, started_ts,"
        " max(coalesce((SELECT max(t) FROM turns WHERE call_pk = pk), 0),"
        " coalesce((SELECT max(t) FROM heat WHERE call_pk = pk), 0))"
        " FROM calls WHERE ended = 0 AND started_ts >= ? ORDER BY started_ts DESC, pk DESC",
        (now - LIVE_LOOKBACK,),
    ).fetchall()
    live = []
    for pk, call_id, agent, caller_name, caller_number, source, started_at, started_ts, last_t in rows:
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
        known = (("caller_name", caller_name), ("caller_number", caller_number), ("source", source))
        started |= {k: v for k, v in known if v is not None}
        live.append({**_live_call(conn, pk, started, turns), "heard_at": started_ts + last_t})
    return live


def _live_call(conn: sqlite3.Connection, pk: int, started: dict[str, Any], turns: int) -> dict[str, Any]:
    base = {"call": started["call"]}

    def newest(columns: str, table: str, order: str, limit: int, where: str = "") -> list[tuple[Any, ...]]:
        """The newest `limit` rows by `order` (newest first), returned oldest first."""
        sql = f"SELECT {columns} FROM {table} WHERE call_pk = ?{where} ORDER BY {order} LIMIT ?"
        return list(reversed(conn.execute(sql, (pk, limit)).fetchall()))

    sentiments = []  # [t, score] as the live floor keeps them (events.turn_score)
    caller_turns = " AND speaker = 'caller' AND sentiment IS NOT NULL"
    for t, sentiment in newest("t, sentiment", "turns", "t DESC", 120, caller_turns):
        score = turn_score({"sentiment": json.loads(sentiment)})
        if score is not None:
            sentiments.append([t, score])
    # The newest coach event that said something, and the newest of all (it may only tick steps).
    newest_coach, newest_at = "t DESC, rowid DESC", "at DESC, rowid DESC"
    coach_rows = newest(COACH_COLUMNS, "coach", newest_coach, 1, " AND coalesce(prompt, '') != ''")
    coach_rows += [r for r in newest(COACH_COLUMNS, "coach", newest_coach, 1) if r not in coach_rows]
    return {
        "call": started,
        "turns": [_turn(base, r) for r in newest(TURN_COLUMNS, "turns", "start_t DESC, t DESC", turns)],
        "sentiments": sentiments,
        "heat": [_heat(base, r) for r in newest(HEAT_COLUMNS, "heat", "t DESC", 120)],
        "alerts": [_alert(base, r) for r in newest(ALERT_COLUMNS, "alerts", "t DESC, rowid DESC", 20)],
        "acks": [
            _ack(base, r)
            for r in conn.execute(
                f"SELECT {ACK_COLUMNS} FROM acks WHERE call_pk = ? ORDER BY at, rowid", (pk,)
            )
        ],
        "coach": [_coach(base, r) for r in sorted(coach_rows, key=lambda r: r[1])],
        "messages": [_message(base, r) for r in newest(MESSAGE_COLUMNS, "messages", newest_at, 20)],
    }


# -- rows to events ---------------------------------------------------------------------------


def _turn(base: dict[str, Any], row: tuple[Any, ...]) -> dict[str, Any]:
    seq, t, speaker, text, start, end, sentiment, extra = row
    turn = {"type": "turn", **base, "t": t, "speaker": speaker, "text": text, "start": start, "end": end}
    if sentiment:
        turn["sentiment"] = json.loads(sentiment)
    return _with_seq(turn | (json.loads(extra) if extra else {}), seq)


def _heat(base: dict[str, Any], row: tuple[Any, ...]) -> dict[str, Any]:
    seq, t, value, level, trend, reasons = row
    event = {"type": "heat", **base, "t": t, "value": value, "level": level, "trend": trend}
    return _with_seq({**event, "reasons": _list(reasons)}, seq)


def _alert(base: dict[str, Any], row: tuple[Any, ...]) -> dict[str, Any]:
    seq, t, aid, kind, level, message, evidence = row
    event = {"type": "alert", **base, "t": t, "id": aid, "kind": kind, "level": level}
    return _with_seq({**event, "message": message or "", "evidence": _list(evidence)}, seq)


def _ack(base: dict[str, Any], row: tuple[Any, ...]) -> dict[str, Any]:
    seq, aid, by, at, t = row
    return _with_seq(_with_t({"type": "alert_ack", **base, "id": aid, "by": by, "at": at}, t), seq)


def _coach(base: dict[str, Any], row: tuple[Any, ...]) -> dict[str, Any]:
    seq, t, step, prompt, phrases, done = row
    event = {"type": "coach", **base, "t": t, "step": step, "prompt": prompt or "", "phrases": _list(phrases)}
    return _with_seq({**event, "done": json.loads(done) if done else {}}, seq)


def _message(base: dict[str, Any], row: tuple[Any, ...]) -> dict[str, Any]:
    seq, sender, text, at, t = row
    return _with_seq(
        _with_t({"type": "supervisor_message", **base, "from": sender, "text": text, "at": at}, t), seq
    )


def _list(raw: str | None) -> list[Any]:
    value = json.loads(raw) if raw else []
    return value if isinstance(value, list) else []


def _with_t(event: dict[str, Any], t: float | None) -> dict[str, Any]:
    """An ack or message with its call time; one stored before schema v3 has none, and then
    no `t` (absent, not a made-up number)."""
    if t is not None:
        event["t"] = t
    return event


def _with_seq(event: dict[str, Any], seq: int | None) -> dict[str, Any]:
    if seq is not None:
        event["seq"] = seq
    return event
