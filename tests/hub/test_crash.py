"""`kill -9` of a real `heatmon hub` in the middle of a busy floor loses nothing it acknowledged.

The hub runs as a subprocess with a call store; twenty real `Publisher` clients (the ones
`heatmon run/replay --hub` use, which buffer and resend) stream demo calls through it. The
hub is killed with SIGKILL mid-stream, the store file is checked as the kill left it, the
hub is restarted on the same port and data directory, the publishers finish, and then the
store must hold every event exactly once and every call its end.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from support.process import HubProcess

from monitor.hub.auth import Tokens
from monitor.hub.publisher import Publisher
from monitor.paths import BUNDLED_MODELS
from monitor.store import Store, StoreError, db_path
from monitor.transcripts.reader import read_transcript
from monitor.transcripts.replay import Replay

DEMO = BUNDLED_MODELS / "demo_calls"
CALLS = 20
EVENT_GAP = 0.04  # seconds between one publisher's events: a call's ~70 events take ~3 s
KILL_AFTER = 1.0


def floor_calls() -> list[list[dict[str, Any]]]:
    """CALLS calls made from the demo transcripts through the real analysis chain."""
    index = json.loads((DEMO / "index.json").read_text())["calls"]
    calls = []
    for n in range(CALLS):
        entry = index[n % len(index)]
        turns = read_transcript(DEMO / entry["file"]).turns
        events = Replay(
            turns, f"crash-{n:02d}", agent=entry["agent"], started_at=f"2026-11-23T10:{n:02d}:00Z"
        ).events()
        calls.append([e.to_dict() for e in events])
    return calls


def key(event: dict[str, Any]) -> tuple[Any, ...]:
    """What makes an event itself in the store: a resend must land on the same key."""
    kind, call = event["type"], event["call"]
    if kind == "turn":
        return (kind, call, event["speaker"], event["start"])
    if kind == "heat":
        return (kind, call, event["t"], event["value"])
    if kind == "alert":
        return (kind, call, event["id"])
    if kind == "coach":
        return (kind, call, event["t"], event["step"])
    return (kind, call)


def stored(path: Path, call_ids: list[str]) -> tuple[dict[tuple[Any, ...], int], dict[str, int]]:
    """Every stored event's key with how often it is there, and how many call rows each id has."""
    counts: dict[tuple[Any, ...], int] = {}
    store = Store.open(path, create=False)
    try:
        for call_id in call_ids:
            try:
                detail = store.call_detail(call_id)
            except StoreError:
                continue  # not started before the kill
            counts[("call_started", call_id)] = 1
            if detail["call"]["ended"]:
                counts[("call_ended", call_id)] = 1
            for name in ("turns", "heat", "alerts", "coach"):
                for event in detail[name]:
                    counts[key(event)] = counts.get(key(event), 0) + 1
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        rows = dict(conn.execute("SELECT id, count(*) FROM calls GROUP BY id").fetchall())
    return counts, rows


def history(port: int, token: str) -> list[dict[str, Any]]:
    """The hub's history list, as the history page asks for it."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/calls?limit=1000")
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        calls: list[dict[str, Any]] = json.loads(response.read())["calls"]
        return calls


class CallPublisher:
    """One call's publisher process, as `heatmon run --hub` is: its events, paced, and how many it sent."""

    def __init__(self, url: str, token: str, events: list[dict[str, Any]]) -> None:
        self.events = events
        self.sent = 0
        self.client = Publisher(url, token, f"pub-{events[0]['call']}", backoff=(0.05, 0.5))

    async def run(self) -> None:
        for event in self.events:
            self.client.publish(event)
            self.sent += 1
            await asyncio.sleep(EVENT_GAP)

    def acked(self) -> list[dict[str, Any]]:
        """The events the hub has acknowledged: acks come in order, so the first sent minus unacked."""
        return self.events[: self.sent - self.client.unacked]


@pytest.mark.slow  # a real hub process killed mid-floor
def test_kill_9_mid_floor_loses_and_duplicates_nothing_acknowledged(tmp_path: Path) -> None:
    """Acknowledged events survive kill -9; after a restart every event lands once and every call ends."""
    calls = floor_calls()
    call_ids = [events[0]["call"] for events in calls]
    path = db_path(tmp_path)
    hub = HubProcess(tmp_path)
    tokens = Tokens.load(tmp_path / "tokens.json")
    token, supervisor = tokens.first("publisher").token, tokens.first("supervisor").token
    hubs = [hub]

    async def main() -> tuple[list[dict[str, Any]], int, bool]:
        floor = [CallPublisher(f"ws://127.0.0.1:{hub.port}/ws", token, events) for events in calls]
        for member in floor:
            await member.client.__aenter__()
        try:
            tasks = [asyncio.create_task(member.run()) for member in floor]
            await asyncio.sleep(KILL_AFTER)
            hub.kill_9()
            await asyncio.sleep(0.2)  # acks the hub sent before it died are read by now
            acked = [event for member in floor for event in member.acked()]
            sent = sum(member.sent for member in floor)
            # The store as the kill left it, before any restart or resend could fill it in.
            at_kill, _ = await asyncio.to_thread(stored, path, call_ids)
            missing = [key(e) for e in acked if key(e) not in at_kill]
            assert not missing, f"{len(missing)} acknowledged events lost by kill -9: {missing[:5]}"
            hubs.append(await asyncio.to_thread(HubProcess, tmp_path, hub.port))
            await asyncio.gather(*tasks)
            flushed = await asyncio.gather(*(member.client.flush(timeout=20) for member in floor))
            listed = await asyncio.to_thread(history, hubs[-1].port, supervisor)
            assert sorted(c["id"] for c in listed) == call_ids, "`heatmon hub` serves the stored calls"
            return acked, sent, all(flushed)
        finally:
            for member in floor:
                await member.client.close()

    try:
        acked, sent_at_kill, flushed = asyncio.run(main())
    finally:
        for running in hubs:
            running.stop()
    total = sum(len(events) for events in calls)
    print(f"{total} events, {sent_at_kill} sent and {len(acked)} acknowledged when the hub was killed")
    assert 0 < len(acked) < sent_at_kill <= total, "the kill must come mid-stream, with events in flight"
    assert flushed, "the restarted hub must acknowledge everything the publishers sent"
    counts, call_rows = stored(path, call_ids)
    expected = {key(event) for events in calls for event in events}
    assert expected - counts.keys() == set(), "events missing after the restart"
    assert counts.keys() - expected == set(), "events stored that no publisher sent"
    assert [k for k, n in counts.items() if n > 1] == [], "events stored twice"
    assert call_rows == dict.fromkeys(call_ids, 1), "one call row per call, no duplicate from re-announcing"
    assert all(("call_ended", call_id) in counts for call_id in call_ids)
