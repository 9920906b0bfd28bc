"""A hub restart keeps the boards: the calls still in progress come back from the store."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.hub import TOKENS, Publishing, alert, heat, publisher, started, turn, viewer
from support.process import HubProcess, run
from websockets.asyncio.client import connect

from monitor.hub import HubConfig, serve_hub
from monitor.store import Store, StoreSink, db_path


def recent(minutes: float = 1.0) -> str:
    return (
        (datetime.now(UTC) - timedelta(minutes=minutes))
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def hot_call(call: str, agent: str, turns: int) -> list[dict[str, Any]]:
    events = [started(call, agent, started_at=recent(), caller_name="Dana", caller_number="+15550101")]
    events += [turn(call, f"{call} line {i}", t=2.0 * i + 1.0) for i in range(turns)]
    events += [heat(call, 72, t=2.0 * turns, level="hot"), alert(call, f"{call}-a1", t=2.0 * turns)]
    return events


async def say_hello(url: str, role: str, token: str) -> tuple[Any, dict[str, Any]]:
    ws = await connect(url, max_size=None)
    await ws.send(json.dumps({"type": "hello", "role": role, "token": token, "publisher": "restart"}))
    return ws, json.loads(await asyncio.wait_for(ws.recv(), 10))


@pytest.mark.slow  # two real hub processes, one killed
def test_killed_hub_comes_back_with_the_calls_in_progress(tmp_path: Path) -> None:
    """`heatmon hub` killed with SIGKILL and started again on the same store: a new page's
    welcome has the calls still in progress with their last 50 turns, open alerts (and who
    acked them) and heat; an ended call stays off the board."""
    first = HubProcess(tmp_path)
    tokens = json.loads((tmp_path / "tokens.json").read_text())["tokens"]
    token = {t["role"]: t["token"] for t in tokens}
    url = f"ws://127.0.0.1:{first.port}/ws"

    async def publish() -> None:
        pub, _ = await say_hello(url, "publisher", token["publisher"])
        sending = Publishing(pub)
        await sending.send(*hot_call("live-1", "agent", 60))
        await sending.send(*hot_call("live-2", "agent", 3))
        await sending.send(*hot_call("done-1", "agent", 2))
        await sending.send({"type": "call_ended", "call": "done-1", "t": 9.0, "duration": 9.0, "summary": {}})
        await sending.acked(timeout=20)
        sup, _ = await say_hello(url, "supervisor", token["supervisor"])
        await sup.send(json.dumps({"type": "ack_alert", "call": "live-2", "id": "live-2-a1"}))
        async with asyncio.timeout(10):
            while True:
                msg = json.loads(await sup.recv())
                if any(e.get("type") == "alert_ack" for e in msg.get("events", [msg])):
                    break

    try:
        run(publish())
        store = Store.open(db_path(tmp_path), create=False)
        try:
            for _ in range(400):  # the hub stores the ack after fanning it out: wait for it
                if store.conn.execute("SELECT count(*) FROM acks").fetchone()[0]:
                    break
                time.sleep(0.05)
        finally:
            store.close()
        first.kill_9()
        second = HubProcess(tmp_path)
    except BaseException:
        first.stop()
        raise
    try:

        async def look() -> dict[str, Any]:
            _, welcome = await say_hello(
                f"ws://127.0.0.1:{second.port}/ws", "supervisor", token["supervisor"]
            )
            return welcome

        welcome = run(look())
    finally:
        second.stop()
    calls = {c["call"]: c for c in welcome["snapshot"]["calls"]}
    assert sorted(calls) == ["live-1", "live-2"]
    one = calls["live-1"]
    assert [t["text"] for t in one["turns"]] == [f"live-1 line {i}" for i in range(10, 60)]
    assert one["agent"] == "agent" and one["heat"]["value"] == 72 and one["heat"]["level"] == "hot"
    assert (one["caller_name"], one["caller_number"]) == ("Dana", "+15550101")
    assert one["heat_history"][-1] == [120.0, 72] and len(one["sentiments"]) == 60
    assert one["sentiments"][-1] == [119.0, -0.5]
    assert [a["id"] for a in one["alerts"]] == ["live-1-a1"] and one["alerts"][0]["acked_by"] is None
    two = calls["live-2"]
    assert [a["acked_by"] for a in two["alerts"]] == ["supervisor1"]
    assert sorted(a["id"] for a in welcome["snapshot"]["alerts"]) == ["live-1-a1", "live-2-a1"]
    assert all(isinstance(t["seq"], int) for t in one["turns"])


def test_restarted_hub_leaves_out_silent_calls_and_follows_new_events(tmp_path: Path) -> None:
    """A call unheard of for longer than the floor keeps silent calls is not brought back; a
    call brought back goes on with its publisher's new events, and an agent sees only theirs."""

    async def main() -> None:
        sink = StoreSink(db_path(tmp_path))
        try:
            async with serve_hub(TOKENS, port=0, sink=sink) as hub:
                pub = Publishing(await publisher(hub))
                await pub.send(*hot_call("now", "alice", 2))
                old = hot_call("stale", "bob", 2)
                old[0]["started_at"] = recent(minutes=300)
                await pub.send(*old)
                await pub.acked()
        finally:
            await sink.aclose()
        store = Store.open(db_path(tmp_path), create=False)
        try:
            live = store.live_calls(datetime.now(UTC).timestamp())
        finally:
            store.close()
        assert [c["call"]["call"] for c in live] == ["now"]
        async with serve_hub(TOKENS, port=0, live_calls=live, config=HubConfig()) as hub:
            alice, welcome = await viewer(hub, "agent", "alice")
            assert [c["call"] for c in welcome["snapshot"]["calls"]] == ["now"]
            _, welcome = await viewer(hub, "agent", "bob")
            assert welcome["snapshot"]["calls"] == []
            pub = Publishing(await publisher(hub, "p2"))
            await pub.send(
                started("now", "alice", started_at=live[0]["call"]["started_at"]),
                turn("now", "back again", t=9.0),
            )
            await pub.acked()
            _, welcome = await viewer(hub)
            (call,) = welcome["snapshot"]["calls"]
            assert [t["text"] for t in call["turns"]] == ["now line 0", "now line 1", "back again"]
            await alice.close()

    run(main())
