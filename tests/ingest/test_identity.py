"""The phone system's word on a call (caller number and name, agent) on the wire and in the store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from support.process import heatmon

from monitor.events import CallStarted, Event
from monitor.store import CallFilter, Store, db_path
from monitor.store.schema import LATEST_VERSION, MIGRATIONS, SCHEMA_V1


def started(call: str, number: str | None, at: str) -> dict[str, object]:
    event: dict[str, object] = {"type": "call_started", "call": call, "t": 0.0, "agent": "alice"}
    event["started_at"] = at
    if number is not None:
        event["caller_number"] = number
    return event


def test_call_started_carries_the_caller_number_both_ways() -> None:
    """caller_number is an optional string of call_started: written when set, read back, left out when not."""
    event = CallStarted(call="c", t=0.0, agent="a", started_at="x", caller_number="+1555", caller_name="Kim")
    assert Event.from_json(event.to_json()) == event
    assert "caller_number" not in CallStarted(call="c", t=0.0, agent="a", started_at="x").to_dict()


def test_the_hub_checks_the_caller_number_is_a_string() -> None:
    """The hub's validator takes a string caller_number and refuses any other kind."""
    assert Event.check(started("c", "+15551230000", "2026-12-01T10:00:00Z")) is None
    bad = started("c", None, "2026-12-01T10:00:00Z") | {"caller_number": 15551230000}
    problem = Event.check(bad)
    assert problem is not None and "'caller_number'" in problem


def test_a_callers_earlier_calls_are_found_by_number(tmp_path: Path) -> None:
    """The store keeps each call's caller number; `heatmon calls --caller` lists that caller's calls."""
    db = db_path(tmp_path)
    store = Store.open(db)
    store.write_events(
        [
            started("first", "+15551230000", "2026-12-01T10:00:00Z"),
            started("other", "+15559990000", "2026-12-02T10:00:00Z"),
            started("second", "+15551230000", "2026-12-03T10:00:00Z"),
            started("anonymous", None, "2026-12-03T11:00:00Z"),
        ]
    )
    rows = store.list_calls(CallFilter(caller="+15551230000"))
    store.close()
    assert [r.id for r in rows] == ["second", "first"]
    assert rows[0].caller_number == "+15551230000"
    result = heatmon("calls", "--data", str(tmp_path), "--caller", "+15551230000", "--json")
    assert result.code == 0, result.stderr
    assert [e["id"] for e in result.events] == ["second", "first"]


def test_a_v3_store_migrates_and_takes_caller_numbers(tmp_path: Path) -> None:
    """A store of schema v3 (before caller numbers) opens with today's code: its calls keep their
    rows with no number, new calls get theirs."""
    db = db_path(tmp_path)
    db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript(SCHEMA_V1)
    for step in MIGRATIONS[:2]:
        step(conn)
    conn.execute("INSERT INTO calls (pk, id, agent, started_ts) VALUES (1, 'old', 'maria', 1.0)")
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    store = Store.open(db, create=False)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION == 5
    store.write_events([started("new", "+4930123", "2026-12-03T10:00:00Z")])
    numbers = {r.id: r.caller_number for r in store.list_calls()}
    assert store.call_detail("new")["call"]["caller_number"] == "+4930123"
    store.close()
    assert numbers == {"old": None, "new": "+4930123"}


def test_ingest_without_a_listener_says_what_to_give() -> None:
    """`heatmon ingest` with no listener exits 2-ish with one line naming the listener options."""
    result = heatmon("ingest")
    assert result.code != 0 and "nothing to listen on" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["1.2.3.4/33", "example.com"])
def test_a_bad_allow_value_is_refused(value: str) -> None:
    """--allow takes addresses and CIDR blocks; anything else is one clear line, no traceback."""
    from monitor.errors import InputError
    from monitor.ingest.listeners import parse_networks

    with pytest.raises(InputError, match="--allow"):
        parse_networks([value])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--twilio", "127.0.0.1:0", "--max-calls", "0"], "--max-calls must be 1 or more"),
        (["--siprec", ":0", "--siprec-rtp-ports", "9000-100"], "--siprec-rtp-ports"),
        (["--twilio", ":0", "--twilio-url", "http://x/media"], "--twilio-url must be"),
        (["--siprec", ":0", "--allow", "nowhere"], "--allow"),
        (["--twilio", "localhost:x"], "port must be a number"),
    ],
)
def test_bad_ingest_options_are_one_line_before_the_model_loads(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every ingest option is checked before the speech model loads: one line, exit 2."""
    from monitor.cli import main

    assert main(["ingest", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
