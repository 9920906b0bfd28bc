"""Hub memory under big events: resident memory of a hub fed N events of 60 KB, with the
byte bounds of today's defaults beside the same hub bounded by event count only, in one run.

    python bench/hub_memory.py                      4,000 events of 60 KB over 40 calls
    python bench/hub_memory.py --events 2000

Each hub runs in a process of its own; one publisher sends caller turns of 60 KB (under the
64 KiB message limit) and waits for every ack; the figure is the hub's RSS after, less its
RSS before, measured from /proc. Target: with the byte bounds, the hub's memory stays within
its replay window's byte bound (64 MB) plus a few MB per thousand calls, whatever N.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import connect

from monitor.hub import HubConfig, Tokens, serve_hub


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def serve(tokens_file: str, unbounded: bool) -> None:
    config = HubConfig()
    if unbounded:  # the window and the welcome bounded by count only, as before the byte bounds
        config = HubConfig(replay_window_bytes=1 << 62, welcome_bytes=1 << 62, viewer_bytes=1 << 62)
    async with serve_hub(Tokens.load(Path(tokens_file)), port=0, config=config) as hub:
        print(f"port {hub.port}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def publish(url: str, token: str, events: int, calls: int, size: int) -> None:
    async with connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "hello", "role": "publisher", "token": token, "publisher": "mem"}))
        await ws.recv()
        pseq = 0
        for c in range(calls):
            pseq += 1
            await ws.send(json.dumps({"type": "call_started", "call": f"c{c}", "t": 0.0, "agent": "agent",
                                      "started_at": "2026-12-04T00:00:00Z", "pseq": pseq}))  # fmt: skip
        for n in range(events):
            pseq += 1
            t = float(n + 1)
            await ws.send(json.dumps({"type": "turn", "call": f"c{n % calls}", "t": t, "speaker": "caller",
                                      "text": f"{n} " + "word " * (size // 5), "start": t - 1, "end": t,
                                      "pseq": pseq}))  # fmt: skip
        while True:
            msg = json.loads(await ws.recv())
            if msg.get("type") == "ack" and msg["pseq"] >= pseq:
                return


def measure(unbounded: bool, events: int, calls: int, size: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        tokens = Tokens.make()
        tokens.save(Path(tmp) / "tokens.json")
        args = [sys.executable, __file__, "--serve", str(Path(tmp) / "tokens.json")]
        hub = subprocess.Popen([*args, *(["--unbounded"] if unbounded else [])],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            assert hub.stdout is not None and hub.stdin is not None
            port = int(hub.stdout.readline().split()[1])
            time.sleep(0.5)
            before = rss_mb(hub.pid)
            url = f"ws://127.0.0.1:{port}/ws"
            asyncio.run(publish(url, tokens.first("publisher").token, events, calls, size))
            time.sleep(0.5)
            after = rss_mb(hub.pid)
            hub.stdin.close()
            hub.wait(timeout=30)
        finally:
            if hub.poll() is None:
                hub.kill()
                hub.wait()
    return before, after


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--size", type=int, default=60_000, help="characters of text per turn")
    parser.add_argument("--serve", metavar="TOKENS", help=argparse.SUPPRESS)
    parser.add_argument("--unbounded", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.unbounded))
        return 0
    mb = args.events * args.size / 1e6
    print(f"{args.events} events of {args.size / 1000:g} KB ({mb:.0f} MB of text) over {args.calls} calls")
    print(f"{'hub':<28} {'MB before':>10} {'MB after':>10} {'grew MB':>10}")
    grew = {}
    for name, unbounded in (("count bounds only (before)", True), ("byte bounds (defaults)", False)):
        before, after = measure(unbounded, args.events, args.calls, args.size)
        grew[name] = after - before
        print(f"{name:<28} {before:>10.0f} {after:>10.0f} {after - before:>10.0f}", flush=True)
    bound = 64 + 64 * 1024 * args.calls / 1e6 + 20  # window + each call's turns + slack
    bounded = grew["byte bounds (defaults)"]
    ok = bounded <= bound
    print(f"{'PASS' if ok else 'FAIL'}  byte bounds: hub grew {bounded:.0f} MB <= {bound:.0f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
