"""The hub's memory is bounded by bytes, not only by event count: the replay window, each
viewer's queue, each call's turns and the welcome."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket

from support.hub import TOKENS, Publishing, heat, publisher, started, turn, until, viewer
from support.process import run
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from monitor.hub import HubConfig, serve_hub
from monitor.hub.call_state import TURN_CHARS_PER_CALL, Stamped
from monitor.hub.fanout import ViewerQueue
from monitor.hub.floor import Floor

BIG = 40_000  # characters of text per turn: big events, under the 64 KiB message limit


def big_turn(call: str, i: int) -> dict[str, object]:
    return turn(call, f"{i:05d} " + "x" * BIG, t=float(i + 1))


def test_replay_window_is_bounded_by_bytes() -> None:
    """Big events push the oldest out of the replay window once its JSON passes the byte bound;
    a viewer whose last_seq fell out of it gets a fresh welcome, a recent one its replay."""

    async def main() -> None:
        config = HubConfig(replay_window_bytes=1_000_000)
        async with serve_hub(TOKENS, port=0, config=config) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"))
            first = hub.floor.seq
            for i in range(100):
                await pub.send(big_turn("c1", i))
            await pub.acked()
            assert hub.floor.window_chars <= 1_000_000
            assert 20 <= len(hub.floor.window) <= 25
            assert hub.floor.window_chars == sum(len(e[3]) for e in hub.floor.window)
            _, welcome = await viewer(hub, last_seq=first)
            assert welcome["replay"] is False
            ws, welcome = await viewer(hub, last_seq=hub.floor.seq - 3)
            assert welcome["replay"] is True
            got = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert [e["text"][:5] for e in got["events"]] == ["00097", "00098", "00099"]

    run(main())


def test_welcome_past_its_byte_bound_keeps_the_newest_turns() -> None:
    """A welcome whose turns would pass its byte bound keeps fewer turns per call, the newest,
    and every call with its heat."""

    async def main() -> None:
        config = HubConfig(welcome_bytes=100_000)
        async with serve_hub(TOKENS, port=0, config=config) as hub:
            pub = Publishing(await publisher(hub))
            for call in ("c1", "c2", "c3"):
                await pub.send(started(call, "alice"), heat(call, 50))
                for i in range(6):
                    await pub.send(turn(call, f"{i} " + "y" * 20_000, t=float(i + 1)))
            await pub.acked()
            ws = await connect(hub.url, max_size=None)
            await ws.send(
                json.dumps({"type": "hello", "role": "supervisor", "token": TOKENS.first("supervisor").token})
            )
            raw = await asyncio.wait_for(ws.recv(), 5)
            assert isinstance(raw, str) and len(raw) <= 100_000
            calls = json.loads(raw)["snapshot"]["calls"]
            assert sorted(c["call"] for c in calls) == ["c1", "c2", "c3"]
            for call in calls:
                assert call["heat"]["value"] == 50
                texts = [t["text"][0] for t in call["turns"]]
                assert texts == ["5"]  # of the three the call keeps, the newest

    run(main())


def test_slow_viewer_is_cut_off_at_its_byte_bound() -> None:
    """A viewer that stops reading is cut off once its queue holds more than its byte bound,
    long before its event count or stall timeout would."""

    async def main() -> None:
        config = HubConfig(
            viewer_bytes=600_000, stall_timeout=600.0, write_limit=16 * 1024, viewer_sndbuf=16 * 1024
        )
        async with serve_hub(TOKENS, port=0, config=config) as hub:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", hub.port))
            stalled = await connect(hub.url, sock=sock, max_queue=1, max_size=None)
            token = TOKENS.first("supervisor").token
            await stalled.send(json.dumps({"type": "hello", "role": "supervisor", "token": token}))
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"))
            for i in range(150):  # 6 MB: past the bound whatever the buffers on the way hold
                await pub.send(big_turn("c1", i))
                if hub.cut_offs:
                    break
            await pub.acked()
            await until(lambda: hub.cut_offs > 0)
            assert hub.cut_offs == 1 and len(hub.viewers) == 0
            stalled.transport.abort()
            with contextlib.suppress(ConnectionClosed):
                await stalled.wait_closed()

    run(main())


def stamp(seq: int, kind: str, size: int, speaker: str = "caller") -> Stamped:
    key = ("c1", kind, speaker) if kind in ("heat", "partial") else None
    ends = ("c1", "partial", speaker) if kind == "turn" else None
    return Stamped(seq, None, key, json.dumps({"type": kind, "seq": seq, "x": "z" * size}), ends)


def test_viewer_queue_counts_bytes_and_forgets_what_it_coalesced() -> None:
    """The queue's byte count follows what it holds (coalesced and superseded events leave it),
    and `put` says False once it passes the byte bound."""
    queue = ViewerQueue(bound=1000, byte_bound=10_000)
    assert queue.put(stamp(1, "heat", 3000)) and queue.put(stamp(2, "heat", 3000))
    assert queue.put(stamp(3, "partial", 3000)) and queue.chars < 7000
    assert queue.put(stamp(4, "turn", 100))  # ends the caller's partial
    assert [json.loads(e)["seq"] for e in list(queue.take())] == [2, 4]
    assert queue.chars == 0 and queue.kept == 0
    assert queue.put(stamp(5, "turn", 4000)) and queue.put(stamp(6, "turn", 4000))
    assert not queue.put(stamp(7, "turn", 4000))


def test_floor_keeps_each_calls_turns_within_a_byte_bound() -> None:
    """A call's kept turns stay within TURN_CHARS_PER_CALL (the newest always kept), however big."""
    floor = Floor()
    floor.publish(started("c1", "alice"), 0.0)
    for i in range(50):
        floor.publish(big_turn("c1", i), 0.0)
    call = floor.calls["c1"]
    assert call.turn_chars == sum(len(t) for t in call.turns) <= TURN_CHARS_PER_CALL
    assert json.loads(call.turns[-1])["text"].startswith("00049")
    floor.publish(turn("c1", "z" * (2 * TURN_CHARS_PER_CALL), t=99.0), 0.0)
    assert len(call.turns) == 1
