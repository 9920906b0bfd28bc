"""Processes for bench/hub_fanout.py, one role each, so load never runs in the server's process.

    python bench/hub_load.py hub --tokens FILE [--tick S]   the heatmon hub
    python bench/hub_load.py relay                          the baseline: a bare broadcast() relay
    python bench/hub_load.py publishers --url U --token T --first N --calls N [--relay]
    python bench/hub_load.py viewers --url U --token T --count N --out FILE
    python bench/hub_load.py staller --url U --token T      a viewer that stops reading

Each prints `ready` (servers: `port N`) once connected, waits for `go START END` on stdin,
runs until END (wall clock), and prints `result {json}`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import socket
import sys
import time
from array import array
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

RATE = 2.0  # events per second per call
WARMUP = 2.0  # seconds of each run left out of the latency figures


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def wait_go() -> tuple[float, float]:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    _, start, end = line.split()
    return float(start), float(end)


async def open_client(url: str, role: str, token: str, **extra: Any) -> ClientConnection:
    ws = await connect(url, compression=None, max_size=None, open_timeout=30, **extra.pop("connect", {}))
    await ws.send(json.dumps({"type": "hello", "role": role, "token": token, **extra}))
    welcome = json.loads(await ws.recv())
    assert welcome["type"] == "welcome", welcome
    return ws


# -- servers --------------------------------------------------------------------------------


async def run_hub(tokens_file: str, tick: float | None) -> None:
    import gc

    from monitor.hub import HubConfig, Tokens, serve_hub

    pauses: list[float] = []
    began = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        elif info["generation"] == 2:
            pauses.append(time.perf_counter() - began[0])

    gc.callbacks.append(on_gc)
    config = HubConfig(tick=tick)  # otherwise the defaults `heatmon hub` runs with
    async with serve_hub(Tokens.load(Path(tokens_file)), port=0, config=config) as hub:
        say(f"port {hub.port}")
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        counters = {"cut_offs": hub.cut_offs, "viewers": len(hub.viewers), **hub.stats}
        counters.update(gen2_collections=len(pauses), gen2_max_ms=round(1000 * max(pauses, default=0), 1))
        say(f"result {json.dumps(counters)}")


async def run_relay() -> None:
    """The naive design measured against: every message to every viewer, at once."""
    viewers: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        hello = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "welcome", "seq": 0, "last_pseq": 0}))
        if hello["role"] == "publisher":
            async for message in ws:
                broadcast(viewers, message)
        else:
            viewers.add(ws)
            try:
                await ws.wait_closed()
            finally:
                viewers.discard(ws)

    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        say(f"port {next(iter(server.sockets)).getsockname()[1]}")
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        say(f"result {json.dumps({'viewers': len(viewers)})}")


# -- load -----------------------------------------------------------------------------------


def bench_event(call: str, n: int, t: float) -> dict[str, Any]:
    """Half caller turns, half heat updates; `sent` (wall clock) and `n` ride along as extra keys."""
    if n % 2:
        return {"type": "heat", "call": call, "t": t, "value": 40 + n % 50, "level": "warm", "trend": 1.5,
                "reasons": ["negative caller turn"], "n": n, "sent": time.time()}  # fmt: skip
    return {"type": "turn", "call": call, "t": t, "speaker": "caller", "start": t - 2.0, "end": t,
            "text": "i have been waiting for three weeks and nobody called me back",
            "sentiment": {"compound": -0.42, "neg": 0.3, "neu": 0.7, "pos": 0.0}, "n": n,
            "sent": time.time()}  # fmt: skip


async def run_publishers(url: str, token: str, first: int, calls: int, relay: bool, drain: float) -> None:
    """One websocket per call, each sending RATE events/s from `start` to `end`. Like heatmon's
    Publisher, a call closes only once the hub acknowledged everything it sent (or `drain`
    seconds after `end`): an overloaded hub is late, and what it was slow to read is still
    delivered, not thrown away by a closing socket. The relay sends no acks."""

    async def one(i: int) -> ClientConnection:
        ws = await open_client(url, "publisher", token, publisher=f"bench-{i}")
        started = {"type": "call_started", "call": f"c{i}", "t": 0.0, "agent": f"agent{i % 50}",
                   "started_at": "2026-11-23T12:00:00Z", "pseq": 1}  # fmt: skip
        await ws.send(json.dumps(started))
        return ws

    conns: list[ClientConnection] = []
    for chunk in range(first, first + calls, 100):
        conns += await asyncio.gather(*(one(i) for i in range(chunk, min(chunk + 100, first + calls))))
    say("ready")
    start, end = await wait_go()
    sent = turns = unacked = 0

    async def read_acks(ws: ClientConnection, acked: list[int], last: list[int], done: asyncio.Event) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                pseq = json.loads(raw).get("pseq")
                if isinstance(pseq, int):
                    acked[0] = max(acked[0], pseq)
                    if acked[0] >= last[0]:
                        done.set()

    async def call_loop(i: int, ws: ClientConnection) -> None:
        nonlocal sent, turns, unacked
        acked, last, all_acked = [0], [2**62], asyncio.Event()
        reader = asyncio.create_task(read_acks(ws, acked, last, all_acked))
        n, due = 0, start + random.uniform(0, 1 / RATE)
        while due < end:
            await asyncio.sleep(max(0.0, due - time.time()))
            event = bench_event(f"c{i}", n, due - start)
            if not relay:
                event["pseq"] = n + 2
            try:
                await ws.send(json.dumps(event))
            except ConnectionClosed:
                break  # an overloaded server dropped this publisher (ping timeout): its call ends here
            n, due, sent, turns = n + 1, due + 1 / RATE, sent + 1, turns + (event["type"] == "turn")
        if relay:
            await asyncio.sleep(1.0)
        else:
            last[0] = n + 1  # the pseq of the last event sent
            if acked[0] < last[0]:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(all_acked.wait(), max(0.0, end + drain - time.time()))
            unacked += max(0, last[0] - acked[0])
        reader.cancel()
        with contextlib.suppress(ConnectionClosed):
            await ws.close()

    await asyncio.gather(
        *(call_loop(i, ws) for i, ws in zip(range(first, first + calls), conns, strict=True))
    )
    say(f"result {json.dumps({'sent': sent, 'turns': turns, 'unacked': unacked})}")


async def run_viewers(
    url: str, token: str, count: int, out: str, drain: float = 3.0, quiet: float = 0.0
) -> None:
    """Supervisor viewers that, like the dashboards, reconnect with last_seq when cut off. They
    read until `drain` seconds after END or, with `quiet`, until nothing came for that long
    after END (an overloaded hub still working through what it was sent)."""
    conns = [await open_client(url, "supervisor", token) for _ in range(count)]
    say("ready")
    start, end = await wait_go()
    latencies = array("d")
    received = [0] * count
    turns = [0] * count  # of which turns: these must all arrive (heat may be coalesced)
    closed = [0] * count
    rebuilt = [0] * count  # reconnects the hub could not replay (events lost for good)
    last_rx = [time.time()]

    async def read(k: int, ws: ClientConnection) -> None:
        last_seq = 0
        try:
            async with asyncio.timeout(end - time.time() + drain):
                while True:
                    try:
                        async for raw in ws:
                            now = last_rx[0] = time.time()
                            msg = json.loads(raw)
                            for event in msg["events"] if msg.get("type") == "batch" else (msg,):
                                last_seq = event.get("seq", last_seq)
                                sent = event.get("sent")
                                if sent is not None:
                                    received[k] += 1
                                    turns[k] += event["type"] == "turn"
                                    if sent >= start + WARMUP:
                                        latencies.append(now - sent)
                        return
                    except ConnectionClosed:
                        closed[k] += 1
                        if not last_seq:
                            return  # the relay: nothing to resume from
                        ws = await connect(url, compression=None, max_size=None)
                        await ws.send(json.dumps({"type": "hello", "role": "supervisor", "token": token,
                                                  "last_seq": last_seq}))  # fmt: skip
                        welcome = json.loads(await ws.recv())
                        rebuilt[k] += not welcome.get("replay")
        except TimeoutError:
            pass

    async def until_quiet() -> None:
        # A clock condition (the time of the last receipt), not an event to wait on: polled.
        while not quiet or time.time() < end or time.time() - last_rx[0] < quiet:  # noqa: ASYNC110
            await asyncio.sleep(0.5)

    readers = [asyncio.create_task(read(k, ws)) for k, ws in enumerate(conns)]
    everyone, quieted = asyncio.gather(*readers), asyncio.create_task(until_quiet())
    await asyncio.wait([everyone, quieted], return_when=asyncio.FIRST_COMPLETED)
    for task in [*readers, quieted]:
        task.cancel()
    await asyncio.gather(everyone, quieted, return_exceptions=True)
    await asyncio.to_thread(Path(out).write_bytes, latencies.tobytes())
    result = {"received": sum(received), "turns": sum(turns), "closed": sum(closed), "rebuilt": sum(rebuilt)}
    say(f"result {json.dumps(result)}")


async def run_staller(url: str, token: str) -> None:
    """Says hello, then stops reading: a small receive buffer and no reads, like a frozen tab."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    parts = urlsplit(url)
    sock.connect((parts.hostname or "127.0.0.1", parts.port or 80))
    ws = await open_client(url, "supervisor", token, connect={"sock": sock, "max_queue": 1})
    say("ready")
    _, end = await wait_go()
    await asyncio.sleep(max(0.0, end - time.time()))
    cut_off = False
    try:
        async with asyncio.timeout(3.0):
            async for _ in ws:
                pass
        cut_off = True
    except ConnectionClosed:
        cut_off = True
    except TimeoutError:
        cut_off = False
    say(f"result {json.dumps({'cut_off': cut_off})}")


def main() -> None:
    # An overloaded run closes many sockets under asyncio's feet; its line per failed write is noise.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("role", choices=("hub", "relay", "publishers", "viewers", "staller"))
    parser.add_argument("--tokens")
    parser.add_argument("--tick", type=float, help="a fixed fan-out tick (default: the hub's adaptive one)")
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--calls", type=int, default=0)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--out")
    parser.add_argument(
        "--drain",
        type=float,
        default=3.0,
        help="seconds after END: viewers read on, publishers wait for acks",
    )
    parser.add_argument("--quiet", type=float, default=0.0, help="viewers: stop this long after the last")
    parser.add_argument("--relay", action="store_true")
    parser.add_argument("--profile", help="hub: write a cProfile of the server to this file")
    args = parser.parse_args()
    if args.role == "hub" and args.profile:
        import cProfile

        cProfile.runctx("asyncio.run(run_hub(args.tokens, args.tick))", globals(), locals(), args.profile)
        return
    if args.role == "hub":
        job = run_hub(args.tokens, args.tick)
    elif args.role == "relay":
        job = run_relay()
    elif args.role == "publishers":
        job = run_publishers(args.url, args.token, args.first, args.calls, args.relay, args.drain)
    elif args.role == "viewers":
        job = run_viewers(args.url, args.token, args.count, args.out, args.drain, args.quiet)
    else:
        job = run_staller(args.url, args.token)
    asyncio.run(job)


if __name__ == "__main__":
    main()
