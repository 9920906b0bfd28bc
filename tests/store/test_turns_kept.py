"""Distinct turns that share a speaker and a start time all reach the store through a real hub."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from support.hub import TOKENS, Publishing, publisher, started, turn
from support.process import run

from monitor.hub import serve_hub
from monitor.store import Store, StoreSink, db_path
from monitor.store.schema import MIGRATIONS, SCHEMA_V1


def same_start(call: str, text: str) -> dict[str, object]:
    return {**turn(call, text, t=6.0), "start": 4.0, "end": 6.0}


def stored_texts(data: Path, call: str) -> list[str]:
    store = Store.open(db_path(data), create=False)
    try:
        return sorted(t["text"] for t in store.call_detail(call)["turns"])
    finally:
        store.close()


def test_turns_with_one_start_time_are_all_kept_and_a_resend_is_stored_once(tmp_path: Path) -> None:
    """Three different caller turns starting at 4.0 s are all stored; the same turn sent again
    under a new pseq (a publisher resending after a hub restart) is stored once."""

    async def main() -> None:
        sink = StoreSink(db_path(tmp_path))
        try:
            async with serve_hub(TOKENS, port=0, sink=sink) as hub:
                pub = Publishing(await publisher(hub))
                await pub.send(started("c1", "alice"))
                await pub.send(same_start("c1", "first"), same_start("c1", "second"))
                await pub.send(same_start("c1", "third"), same_start("c1", "first"))
                await pub.acked()
                await pub.ws.close()
        finally:
            await sink.aclose()

    run(main())
    assert stored_texts(tmp_path, "c1") == ["first", "second", "third"]


def test_a_v3_store_migrates_and_keeps_its_turns(tmp_path: Path) -> None:
    """A store made by schema v3 (one turn per speaker and start) opens with its turns intact and
    then keeps new turns that share a start time."""
    path = db_path(tmp_path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(SCHEMA_V1)
    MIGRATIONS[0](conn)
    MIGRATIONS[1](conn)
    conn.execute(
        "INSERT INTO calls (pk, id, agent, started_at) VALUES (1, 'old', 'maria', '2026-10-01T08:00:00Z')"
    )
    conn.execute(
        "INSERT INTO turns (call_pk, seq, t, speaker, text, start_t, end_t)"
        " VALUES (1, 3, 3, 'caller', 'hi', 1, 3)"
    )
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    store = Store.open(path)
    try:
        store.write_events(
            [
                {
                    "type": "turn",
                    "call": "old",
                    "t": 3.0,
                    "speaker": "caller",
                    "text": "again",
                    "start": 1.0,
                    "end": 3.0,
                }
            ]
        )
    finally:
        store.close()
    assert stored_texts(tmp_path, "old") == ["again", "hi"]
