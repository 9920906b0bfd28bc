"""Slow and stalled viewers: coalescing, the cut-off, and the other viewers unaffected; the store hook."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

from support.hub import TOKENS, Publishing, alert, events, publisher, quiet, started, turn, viewer
from support.process import run
from websockets.asyncio.client import connect

from monitor.hub import HubConfig, serve_hub
from monitor.hub.publisher import Publisher


def test_stalled_viewer_is_cut_off_and_others_keep_up():
    """A viewer that never reads is closed once its queue or socket is full; a reading viewer
    gets every event promptly all the while, and the hub forgets the stalled one."""

    async def main() -> None:
        config = HubConfig(viewer_bound=400, stall_timeout=1.0, write_limit=64 * 1024)
        async with serve_hub(TOKENS, port=0, config=config) as hub:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", hub.port))
            stalled = await connect(hub.url, sock=sock, max_queue=1, max_size=None)
            token = TOKENS.first("supervisor").token
            await stalled.send(json.dumps({"type": "hello", "role": "supervisor", "token": token}))
            # ... and never reads again.
            fast, _ = await viewer(hub)
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"))
            lag: list[float] = []
            text = "x" * 2000
            count = 0
            deadline = time.monotonic() + 10
            while hub.cut_offs == 0 and time.monotonic() < deadline:
                await pub.send(*[turn("c1", text, t=time.monotonic()) for _ in range(20)])
                count += 20
                for event in await events(fast, 20 + (count == 20)):
                    if event["type"] == "turn":
                        lag.append(time.monotonic() - event["t"])
            assert hub.cut_offs == 1
            assert len(hub.viewers) == 1
            lag.sort()
            assert lag[len(lag) // 2] < 0.1 and lag[-1] < 1.0, (lag[len(lag) // 2], lag[-1])
            assert len(lag) == count
            stalled.transport.abort()

    run(main())


class SlowStore:
    """A sink that takes a while, and fails its first write if asked to."""

    def __init__(self, fail_first: bool = False) -> None:
        self.written: list[dict[str, Any]] = []
        self.fail_first = fail_first
        self.writing = False

    async def write(self, events: list[dict[str, Any]]) -> None:
        self.writing = True
        await asyncio.sleep(0.2)
        self.writing = False
        if self.fail_first:
            self.fail_first = False
            raise OSError("disk full")
        self.written.extend(events)


def test_ack_waits_for_the_store():
    """The hub acks a publisher's events only after the sink has written them, with their seq."""

    async def main() -> None:
        store = SlowStore()
        async with serve_hub(TOKENS, port=0, sink=store) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"), turn("c1", "hello"))
            started_at = time.monotonic()
            await pub.acked()
            assert time.monotonic() - started_at >= 0.15
            assert [e["type"] for e in store.written] == ["call_started", "turn"]
            assert all("seq" in e and "pseq" not in e for e in store.written)

    run(main())


def test_failed_store_write_is_resent_and_not_duplicated_for_viewers():
    """When the store fails, nothing is acked; the publisher resends; the store gets the events and
    viewers still see each event once."""

    async def main() -> None:
        store = SlowStore(fail_first=True)
        async with serve_hub(TOKENS, port=0, sink=store) as hub:
            sup, _ = await viewer(hub)
            async with Publisher(hub.url, TOKENS.first("publisher").token, backoff=(0.05, 0.1)) as pub:
                pub.publish(started("c1", "alice"))
                pub.publish(turn("c1", "hello"))
                assert await pub.flush(timeout=30)
                assert pub.connections == 2
            assert [e["type"] for e in store.written] == ["call_started", "turn"]
            got = await events(sup, 2)
            assert [e["type"] for e in got] == ["call_started", "turn"]
            assert await quiet(sup, 0.3) == []

    run(main())


def test_supervisor_acks_and_messages_go_to_the_store():
    """What supervisors do (acks, messages) is stored like the publishers' events, with seq and t."""

    async def main() -> None:
        store = SlowStore()
        async with serve_hub(TOKENS, port=0, sink=store) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"), turn("c1", "hello", t=4.0), alert("c1", "a1"))
            await pub.acked()
            sup, _ = await viewer(hub)
            await sup.send(json.dumps({"type": "ack_alert", "call": "c1", "id": "a1"}))
            await sup.send(json.dumps({"type": "message", "call": "c1", "text": "offer a refund"}))
            await events(sup, 2)
            # Requests are handled in order, each after the store has the last: an error reply
            # to a third request means both are stored.
            await sup.send(json.dumps({"type": "ack_alert", "call": "c1", "id": "nope"}))
            while json.loads(await asyncio.wait_for(sup.recv(), 5))["type"] != "error":
                pass
            ack, message = store.written[3:]
            assert ack["type"] == "alert_ack" and ack["by"] == "supervisor1" and ack["t"] == 4.0
            assert message["type"] == "supervisor_message" and message["text"] == "offer a refund"
            assert ack["seq"] < message["seq"]

    run(main())
