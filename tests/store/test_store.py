"""The call store: round trip, history filters, retention, schema migration, group commit
and crash durability, all on real SQLite files."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from support.store_events import DEMO, call_events, demo_index

from monitor.errors import InputError
from monitor.store import CallFilter, Store, StoreError, StoreReader, StoreSink, db_path, filter_from_params
from monitor.store.schema import LATEST_VERSION, MIGRATIONS, SCHEMA_V1, iso_to_ts


def write_all(path: Path, batches: list[list[dict[str, Any]]], *, redact: bool = False) -> int:
    """Write the batches concurrently through one StoreSink; return its commit count."""

    async def main() -> int:
        sink = StoreSink(path, redact=redact)
        try:
            await asyncio.gather(*(sink.write(batch) for batch in batches))
        finally:
            await sink.aclose()
        return sink.commits

    return asyncio.run(main())


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return db_path(tmp_path)


def test_round_trip_keeps_every_event_of_a_call(db: Path) -> None:
    """Everything written for a call comes back from call_detail as the same wire events."""
    events = call_events("heat-deescalation", "2026-11-20T09:00:00Z")
    events.append(
        {
            "type": "supervisor_message",
            "call": "heat-deescalation",
            "from": "lead",
            "text": "offer the missed appointment credit",
            "at": "2026-11-20T09:02:00Z",
            "t": 120.4,
            "seq": 999,
        }
    )
    events.append(
        {"type": "partial", "call": "heat-deescalation", "t": 1.0, "speaker": "caller", "text": "i"}
    )
    write_all(db, [events[i : i + 7] for i in range(0, len(events), 7)])
    store = Store.open(db, create=False)
    detail = store.call_detail("heat-deescalation")
    store.close()

    def strip(e: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in e.items() if k != "type"}

    for kind, key in (
        ("turn", "turns"),
        ("heat", "heat"),
        ("alert", "alerts"),
        ("coach", "coach"),
        ("alert_ack", "acks"),
        ("supervisor_message", "messages"),
    ):
        sent = [strip(e) for e in events if e["type"] == kind]
        got = [strip(e) for e in detail[key]]
        assert got == sent, kind
    call = detail["call"]
    entry = demo_index()["heat-deescalation"]
    assert (call["agent"], call["caller_name"], call["source"]) == (
        entry["agent"],
        entry["caller_name"],
        "demo",
    )
    assert call["ended"] is True and call["summary"] == {"alerts": 1}
    assert call["peak_heat"] == max(e["value"] for e in events if e["type"] == "heat")


def test_filters_select_calls_by_agent_date_heat_alert_and_text(db: Path) -> None:
    """Each history filter narrows the list as documented, newest call first."""
    write_all(
        db,
        [
            call_events("escalation", "2026-11-01T10:00:00Z"),
            call_events("calm-move", "2026-11-10T10:00:00Z"),
            call_events("heat-deescalation", "2026-11-20T10:00:00Z"),
            call_events("calm-upgrade", "2026-11-21T10:00:00+00:00"),
        ],
    )
    store = Store.open(db, create=False)

    def ids(**kw: Any) -> list[str]:
        return [row.id for row in store.list_calls(CallFilter(**kw))]

    assert ids() == ["calm-upgrade", "heat-deescalation", "calm-move", "escalation"]
    assert ids(agent="MARIA") == ["calm-upgrade"]
    assert ids(since=iso_to_ts("2026-11-10T00:00:00Z"), until=iso_to_ts("2026-11-21T00:00:00Z")) == [
        "heat-deescalation",
        "calm-move",
    ]
    assert ids(min_heat=55) == ["heat-deescalation", "escalation"]
    assert ids(alert_kind="heat") == ["heat-deescalation", "escalation"]
    assert ids(alert_kind="abuse") == []
    assert ids(text="company policy") == ["escalation"]
    assert ids(text="Helen") == ["calm-move"]  # the caller's name
    assert ids(text="100%") == []  # LIKE wildcards are taken literally
    assert ids(limit=2, offset=1) == ["heat-deescalation", "calm-move"]
    row = store.list_calls(CallFilter(agent="kevin"))[0]
    assert row.alert_kinds == ("heat",) and row.turns == 27 and row.ended and row.ref == f"#{row.pk}"
    store.close()


def test_purge_deletes_old_calls_with_all_their_rows(db: Path) -> None:
    """Retention removes calls that started before the cutoff and every row that belongs to them."""
    write_all(
        db,
        [call_events("escalation", "2026-08-01T10:00:00Z"), call_events("calm-move", "2026-11-20T10:00:00Z")],
    )
    store = Store.open(db)
    now = iso_to_ts("2026-11-23T10:00:00Z")
    assert now is not None
    assert store.purge_older_than(30, now) == 1
    assert [row.id for row in store.list_calls()] == ["calm-move"]
    for table in ("turns", "heat", "alerts", "acks", "coach", "messages"):
        orphans = store.conn.execute(
            f"SELECT count(*) FROM {table} WHERE call_pk NOT IN (SELECT pk FROM calls)"
        )
        assert orphans.fetchone()[0] == 0, table
    assert store.purge_older_than(30, now) == 0
    with pytest.raises(StoreError):
        store.call_detail("escalation")
    store.close()


def test_a_v1_database_migrates_to_the_latest_schema(db: Path) -> None:
    """A store written by schema v1 opens with today's code: data kept, v2 columns backfilled."""
    conn = sqlite3.connect(db)
    conn.executescript(SCHEMA_V1)
    conn.execute(
        "INSERT INTO calls (pk, id, agent, started_at) VALUES (1, 'old', 'maria', '2026-10-01T08:00:00Z')"
    )
    conn.execute("INSERT INTO calls (pk, id, agent) VALUES (2, 'orphan', NULL)")
    conn.executemany(
        "INSERT INTO heat (call_pk, t, value, level) VALUES (1, ?, ?, ?)",
        [(1.0, 20.0, "calm"), (5.0, 71.5, "hot"), (9.0, 40.0, "warm")],
    )
    conn.execute(
        "INSERT INTO turns (call_pk, t, speaker, text, start_t, end_t) VALUES (1, 3, 'caller', 'hi', 1, 3)"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()

    store = Store.open(db, create=False)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION == 5
    rows = {row.id: row for row in store.list_calls()}
    assert rows["old"].peak_heat == 71.5
    assert rows["old"].started_ts == iso_to_ts("2026-10-01T08:00:00Z")
    assert rows["orphan"].started_ts is not None  # from created_at, so retention can reach it
    assert store.call_detail("old")["turns"][0]["text"] == "hi"
    store.write_events(
        [{"type": "supervisor_message", "call": "old", "from": "lead", "text": "ok", "at": "x"}]
    )
    assert store.call_detail("old")["messages"][0]["text"] == "ok"
    store.close()


def test_acks_and_messages_keep_their_call_time(db: Path) -> None:
    """An `alert_ack` and a `supervisor_message` stored with `t` (as the hub sends them) come
    back from call_detail and the export with that `t`, as hub-protocol.md lists it."""
    from monitor.review.report import export_document

    events = call_events("escalation", "2026-11-20T09:00:00Z", ack_by=None)
    alert = next(e for e in events if e["type"] == "alert")
    ack: dict[str, Any] = {"type": "alert_ack", "call": "escalation", "id": alert["id"], "by": "sam"}
    ack |= {"at": "2026-11-20T09:01:30Z", "t": alert["t"] + 4.2, "seq": 1001}
    message: dict[str, Any] = {
        "type": "supervisor_message",
        "call": "escalation",
        "from": "sam",
        "text": "I'm listening",
    }
    message |= {"at": "2026-11-20T09:01:40Z", "t": alert["t"] + 14.2, "seq": 1002}
    write_all(db, [[*events, ack, message]])
    store = Store.open(db, create=False)
    detail = store.call_detail("escalation")
    store.close()
    assert detail["acks"] == [ack] and detail["messages"] == [message]
    exported = export_document(detail)
    assert exported["acks"][0]["t"] == ack["t"] and exported["messages"][0]["t"] == message["t"]


def test_a_v2_database_migrates_and_keeps_its_acks_and_messages(db: Path) -> None:
    """A store written by schema v2 (no call time on acks and messages) opens with today's code:
    its rows come back as before, without a made-up `t`, and new rows keep theirs."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript(SCHEMA_V1)
    MIGRATIONS[0](conn)  # v1 -> v2, exactly as heatmon made v2 stores
    conn.execute(
        "INSERT INTO calls (pk, id, agent, started_at) VALUES (1, 'old', 'maria', '2026-10-01T08:00:00Z')"
    )
    conn.execute(
        "INSERT INTO alerts (call_pk, seq, t, alert_id, kind, level, message, evidence)"
        " VALUES (1, 5, 30.0, 'a1', 'heat', 'warning', 'hot', '[]')"
    )
    conn.execute(
        "INSERT INTO acks (call_pk, seq, alert_id, by, at)"
        " VALUES (1, 6, 'a1', 'lead', '2026-10-01T08:00:40Z')"
    )
    conn.execute(
        "INSERT INTO messages (call_pk, seq, sender, text, at)"
        " VALUES (1, 7, 'lead', 'ok', '2026-10-01T08:00:50Z')"
    )
    conn.execute("PRAGMA user_version = 2")
    conn.close()

    store = Store.open(db, create=False)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    detail = store.call_detail("old")
    assert detail["acks"] == [
        {"type": "alert_ack", "call": "old", "id": "a1", "by": "lead", "at": "2026-10-01T08:00:40Z", "seq": 6}
    ]
    assert detail["messages"] == [
        {
            "type": "supervisor_message",
            "call": "old",
            "from": "lead",
            "text": "ok",
            "at": "2026-10-01T08:00:50Z",
            "seq": 7,
        }
    ]
    store.write_events(
        [
            {
                "type": "alert_ack",
                "call": "old",
                "id": "a1",
                "by": "sam",
                "at": "2026-10-01T08:01:00Z",
                "t": 61.0,
            },
            {"type": "supervisor_message", "call": "old", "from": "sam", "text": "hi", "at": "x", "t": 62.5},
        ]
    )
    detail = store.call_detail("old")
    store.close()
    assert [a.get("t") for a in detail["acks"]] == [None, 61.0]
    assert [m.get("t") for m in detail["messages"]] == [None, 62.5]


def test_a_newer_or_foreign_database_is_refused_clearly(tmp_path: Path) -> None:
    """A store from a newer heatmon, or some other SQLite file, gives a StoreError, not a crash."""
    newer = tmp_path / "newer.sqlite3"
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer than this heatmon"):
        Store.open(newer)
    foreign = tmp_path / "foreign.sqlite3"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE stuff (x)")
    conn.close()
    with pytest.raises(StoreError, match="not a heatmon call store"):
        Store.open(foreign)
    with pytest.raises(StoreError, match="no call store at"):
        Store.open(tmp_path / "missing.sqlite3", create=False)


def test_concurrent_writes_share_commits(db: Path) -> None:
    """Writes that arrive during a commit are merged into the next one (group commit), in order."""
    events = call_events("escalation", "2026-11-20T09:00:00Z")

    async def main() -> tuple[int, int]:
        sink = StoreSink(db)
        # Hold the first commit until every other write has queued behind it, so the test
        # does not depend on how fast this machine runs the event loop against the thread.
        gate, commit, held = threading.Event(), sink._commit, []

        def gated(group: list[Any]) -> None:
            held.append(len(group))
            gate.wait(10)
            commit(group)

        sink._commit = gated  # type: ignore[method-assign]
        writes = [asyncio.ensure_future(sink.write([e])) for e in events]
        for _ in range(1000):
            await asyncio.sleep(0.005)
            with sink._wake:
                if held and held[0] + len(sink._pending) == len(events):
                    break
        gate.set()
        await asyncio.gather(*writes)
        await sink.aclose()
        return sink.commits, held[0]

    commits, first = asyncio.run(main())
    # what the writer took first, then everything that queued during that commit, together
    assert commits == (1 if first == len(events) else 2), (commits, first)
    store = Store.open(db)
    detail = store.call_detail("escalation")
    assert [t["seq"] for t in detail["turns"]] == [e["seq"] for e in events if e["type"] == "turn"]
    store.close()


def test_a_bad_batch_fails_alone(db: Path) -> None:
    """A batch the store cannot take fails its own write, not the others in the same group."""

    async def main() -> list[BaseException | None]:
        sink = StoreSink(db)
        good = call_events("calm-move", "2026-11-20T09:00:00Z")
        bad = [{"type": "turn", "call": "calm-move", "t": 1.0, "speaker": "caller", "text": {"not": "text"}}]
        results = await asyncio.gather(
            sink.write(good[:10]), sink.write(bad), sink.write(good[10:]), return_exceptions=True
        )
        await sink.aclose()
        with pytest.raises(StoreError, match="closed"):
            await sink.write(good)
        return [r if isinstance(r, BaseException) else None for r in results]

    first, second, third = asyncio.run(main())
    assert first is None and third is None
    assert isinstance(second, StoreError)
    store = Store.open(db)
    assert len(store.call_detail("calm-move")["turns"]) == 25
    store.close()


def test_a_reused_call_id_starts_a_new_call_but_a_reannounce_does_not(db: Path) -> None:
    """Same id with a new started_at is a new call; a publisher re-announcing the same start is not."""
    first = call_events("calm-move", "2026-11-20T09:00:00Z")
    again = call_events("calm-move", "2026-11-22T09:00:00Z")
    write_all(db, [first[:5]])
    write_all(db, [first[:1] + first[5:]])  # after a reconnect the publisher re-sends call_started
    write_all(db, [again])
    store = Store.open(db)
    rows = store.list_calls()
    assert [row.started_at for row in rows] == ["2026-11-22T09:00:00Z", "2026-11-20T09:00:00Z"]
    assert [row.turns for row in rows] == [25, 25]
    assert store.call_detail("calm-move")["call"]["started_at"] == "2026-11-22T09:00:00Z"
    assert store.call_detail(rows[1].ref)["call"]["started_at"] == "2026-11-20T09:00:00Z"
    store.close()


def test_events_of_an_unannounced_call_still_land(db: Path) -> None:
    """Events whose call_started the store never saw create the call instead of being lost."""
    events = [e for e in call_events("outage", "2026-11-20T09:00:00Z") if e["type"] != "call_started"]
    write_all(db, [events])
    store = Store.open(db)
    (row,) = store.list_calls()
    assert row.id == "outage" and row.agent is None and row.turns == 24
    store.close()


def test_redacting_sink_stores_no_spoken_card_number(db: Path) -> None:
    """With redact on, a card number read out in groups over several turns never reaches the file."""
    events = call_events("card-payment", "2026-11-20T09:00:00Z")
    for event in events:
        if event["type"] == "turn":
            event["words"] = [{"word": w, "conf": 1.0} for w in event["text"].split()]
    write_all(db, [events[:16], events[16:18], events[18:]], redact=True)  # groups in different commits
    store = Store.open(db)
    turns = store.call_detail("card-payment")["turns"]
    store.close()
    texts = [t["text"] for t in turns]
    start = texts.index("it's [4 digits redacted]")
    assert texts[start : start + 5] == [
        "it's [4 digits redacted]",
        "mm hmm",  # the agent's acknowledgement does not end the number
        "[4 digits redacted]",
        "[4 digits redacted]",
        "[4 digits redacted]",
    ]
    assert [w["word"] for w in turns[start]["words"]] == ["it's", "*", "*", "*", "*"]
    assert "oh nine twenty eight" in texts  # the expiry, after the agent's question, is short and stays
    raw = b"".join(f.read_bytes() for f in db.parent.glob(db.name + "*"))  # the WAL file too
    for group in (b"four five three two", b"eight one seven seven", b"zero nine one five", b"oh six two two"):
        assert group not in raw
    assert b'"four"' not in raw  # nor in the stored word lists


CRASH_WRITER = """
import asyncio, sys
from pathlib import Path
from monitor.store import StoreSink

async def main():
    sink = StoreSink(Path(sys.argv[1]))
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    n = 0
    async def one(i):
        await sink.write([{"type": "turn", "call": f"c{i % 8}", "t": float(i), "speaker": "caller",
                           "text": f"event {i}", "start": float(i), "end": float(i) + 0.5}])
        sys.stdout.write(f"{i}\\n"); sys.stdout.flush()
    while True:
        await asyncio.gather(*(one(n + k) for k in range(16)))
        n += 16

asyncio.run(main())
"""


def test_kill_9_loses_nothing_that_write_acknowledged(db: Path) -> None:
    """Every event whose write() returned before a kill -9 is in the store after it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASH_WRITER, str(db)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    acked: set[int] = set()
    deadline = time.monotonic() + 20
    while len(acked) < 400 and time.monotonic() < deadline:
        acked.add(int(proc.stdout.readline()))
    os.kill(proc.pid, signal.SIGKILL)
    # Lines already in the pipe were acknowledged before the kill as well.
    acked.update(int(line) for line in proc.stdout.read().split())
    proc.wait()
    assert len(acked) >= 400
    store = Store.open(db, create=False)
    stored = {int(t.split()[1]) for (t,) in store.conn.execute("SELECT text FROM turns")}
    store.close()
    assert acked <= stored, sorted(acked - stored)[:10]


def test_the_real_analysis_chain_round_trips_through_the_store(db: Path) -> None:
    """Events from replaying demo calls through the real analysis are stored and reviewed faithfully."""
    from monitor.review.summary import summarize
    from monitor.transcripts.reader import read_transcript
    from monitor.transcripts.replay import Replay

    sent: dict[str, list[dict[str, Any]]] = {}
    for name in ("heat-deescalation", "calm-move"):
        turns = read_transcript(DEMO / f"{name}.jsonl").turns
        sent[name] = [e.to_dict() for e in Replay(turns, name, started_at="2026-11-20T09:00:00Z").events()]
    write_all(db, list(sent.values()))
    store = Store.open(db)
    for name, events in sent.items():
        detail = store.call_detail(name)
        for kind, key in (("turn", "turns"), ("heat", "heat"), ("alert", "alerts"), ("coach", "coach")):
            assert detail[key] == [e for e in events if e["type"] == kind], (name, kind)
        summary = events[-1]["summary"]
        review = summarize(detail)
        steps = {s["step"]: s["at"] for s in review["steps"] if s["done"]}
        assert steps == {k: v for k, v in summary.get("steps_done_at", {}).items() if v is not None}
        assert detail["call"]["peak_heat"] == summary.get("peak_heat", detail["call"]["peak_heat"])
    store.close()


def test_the_reader_serves_history_queries_off_the_event_loop(db: Path) -> None:
    """StoreReader answers the history page's query parameters and a call's review while a sink writes."""
    now = iso_to_ts("2026-11-23T12:00:00Z")
    assert now is not None
    where = filter_from_params({"min_heat": "55", "since": "7d", "q": "technician", "limit": "5"}, now)
    assert where == CallFilter(min_heat=55.0, since=now - 7 * 86400, text="technician", limit=5)
    with pytest.raises(InputError, match="min_heat must be a number"):
        filter_from_params({"min_heat": "hot"}, now)
    with pytest.raises(InputError, match="not a date"):
        filter_from_params({"since": "last tuesday"}, now)

    async def main() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        reader = StoreReader(db)
        before = await reader.list_calls(where)  # no store yet: an empty history, not an error
        sink = StoreSink(db)
        await sink.write(call_events("heat-deescalation", "2026-11-20T09:00:00Z"))
        await sink.write(call_events("calm-move", "2026-11-21T09:00:00Z"))
        rows, detail = await asyncio.gather(reader.list_calls(where), reader.call_detail("heat-deescalation"))
        await sink.aclose()
        return before, rows, detail

    before, rows, detail = asyncio.run(main())
    assert before == []
    assert [r["id"] for r in rows] == ["heat-deescalation"] and rows[0]["ref"].startswith("#")
    assert detail["call"]["id"] == rows[0]["id"] and len(detail["turns"]) == 37
    assert "review" not in detail  # the store keeps and finds calls; reviewing them is review/'s job


def test_opening_for_reading_does_not_wait_for_a_writer(db: Path) -> None:
    """A history read opens and queries the store while the hub's writer holds its write lock."""
    write_all(db, [call_events("calm-move", "2026-11-20T09:00:00Z")])
    writer = Store.open(db)
    writer.conn.execute("BEGIN IMMEDIATE")
    try:
        began = time.monotonic()
        reader = Store.open(db, create=False)
        assert [row.id for row in reader.list_calls()] == ["calm-move"]
        reader.close()
        assert time.monotonic() - began < 1.0
    finally:
        writer.conn.execute("ROLLBACK")
        writer.close()
