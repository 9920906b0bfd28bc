"""Overload: a viewer that falls behind gets heat and partials coalesced instead of being cut
off for them, and one that is cut off catches up with last_seq, missing no turn."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from support.hub import TOKENS, Publishing, heat, publisher, started, turn, until
from support.process import run
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from monitor.hub import Hub, HubConfig, serve_hub

CALLS = 400


async def paused_viewer(hub: Hub, **hello: Any) -> ClientConnection:
    """A supervisor that says hello and then reads nothing until told (a tiny receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", hub.port))
    ws = await connect(hub.url, sock=sock, max_queue=1, max_size=None)
    await ws.send(
        json.dumps(
            {"type": "hello", "role": "supervisor", "token": TOKENS.first("supervisor").token, **hello}
        )
    )
    return ws


async def read_all(ws: ClientConnection, until_seq: int, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Every event the viewer gets (after its welcome) up to `until_seq`."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while not got or got[-1]["seq"] < until_seq:
            msg = json.loads(await ws.recv())
            if msg["type"] == "batch":
                got.extend(msg["events"])
            elif msg["type"] != "welcome":
                got.append(msg)
    return got


#: Rounds of 20 turns: well past what the socket buffers and the client can hold besides the
#: bound, however the hub's sender happens to take the queue.
ROUNDS = 100
CONFIG = HubConfig(viewer_bound=300, stall_timeout=600.0, write_limit=8 * 1024, viewer_sndbuf=8 * 1024)


def test_a_viewer_behind_is_not_cut_off_for_heat_and_gets_every_turn() -> None:
    """While a viewer reads nothing, heat for many calls piles up far past its event bound: it
    stays connected, and once it reads it gets every turn and the newest heat of each call."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0, config=CONFIG) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(*[started(f"c{i}", "alice") for i in range(CALLS)])
            await pub.acked()
            slow = await paused_viewer(hub)
            await until(lambda: len(hub.viewers) == 1)
            for round_ in range(10):
                await pub.send(*[heat(f"c{i}", 10 + round_, t=float(round_)) for i in range(CALLS)])
                await pub.send(
                    *[turn(f"c{i}", f"round {round_}", t=round_ + 0.5) for i in range(round_, CALLS, 20)]
                )
            await pub.acked()
            assert hub.cut_offs == 0
            got = await read_all(slow, hub.floor.seq)
            assert hub.cut_offs == 0
            turns = [e for e in got if e["type"] == "turn"]
            assert len(turns) == sum(len(range(r, CALLS, 20)) for r in range(10))
            newest = {e["call"]: e["value"] for e in got if e["type"] == "heat"}
            assert newest == {f"c{i}": 19 for i in range(CALLS)}
            assert sum(e["type"] == "heat" for e in got) < 10 * CALLS  # coalesced, not all 2,000
            await slow.close()

    run(main())


def test_a_viewer_cut_off_catches_up_with_last_seq_missing_no_turn() -> None:
    """A viewer whose queue passes its bound of turns is cut off; reconnecting with the last seq
    it saw, it is replayed every turn it missed and the newest heat per call."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0, config=CONFIG) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(*[started(f"c{i}", "alice") for i in range(20)])
            await pub.acked()
            slow = await paused_viewer(hub)
            await until(lambda: len(hub.viewers) == 1)
            welcome_seq = hub.floor.seq
            sent_turns = 0
            for round_ in range(ROUNDS):
                await pub.send(*[turn(f"c{i}", f"r{round_} c{i}", t=round_ + 1.0) for i in range(20)])
                await pub.send(*[heat(f"c{i}", round_, t=round_ + 1.0) for i in range(20)])
                sent_turns += 20
            await pub.acked()
            await until(lambda: hub.cut_offs == 1)
            seen: list[dict[str, Any]] = []
            try:
                async with asyncio.timeout(60):
                    async for raw in slow:
                        msg = json.loads(raw)
                        seen += msg["events"] if msg["type"] == "batch" else []
            except ConnectionClosed:
                pass
            # 1008 "viewer too slow", or 1006 when the close frame could not get past the full buffers
            # within the second the hub gives it (then the hub aborts the connection)
            assert (slow.close_code, slow.close_reason) in ((1008, "viewer too slow"), (1006, ""))
            last_seq = seen[-1]["seq"] if seen else welcome_seq
            again = await connect(hub.url, max_size=None)
            token = TOKENS.first("supervisor").token
            await again.send(
                json.dumps({"type": "hello", "role": "supervisor", "token": token, "last_seq": last_seq})
            )
            welcome = json.loads(await again.recv())
            assert welcome["replay"] is True
            rest = await read_all(again, hub.floor.seq)
            turns = [e for e in seen + rest if e["type"] == "turn"]
            assert len(turns) == sent_turns and len({e["seq"] for e in turns}) == sent_turns
            assert {e["call"]: e["value"] for e in rest if e["type"] == "heat"} == {
                f"c{i}": ROUNDS - 1 for i in range(20)
            }
            assert sum(e["type"] == "heat" for e in rest) == 20  # one per call, the newest
            await again.close()

    run(main())
