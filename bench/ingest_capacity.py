"""Capacity of `heatmon ingest`: how many live two-party calls one process on this machine
decodes with each caller and agent line's turn within 0.8 s of the end of its speech.

A two-party Korean call is synthesized with espeak-ng (the Korean Vosk model is the one
installable here), so the true end of every line is known. For each count of calls, one
`heatmon ingest --twilio` subprocess is started and the bench streams that many copies of
the call to it at once as Twilio Media Streams forks (both tracks, mu-law, 20 ms frames
paced in real time by the wall clock, the calls' starts spread over 2 s). For every line,
the latency is the wall time at which heatmon printed the turn that ends it minus the wall
time at which the line's last frame was sent: the websocket, the decoding, the analysis.
The process's CPU time over the streaming gives its CPU use (100% = one core).

Each count is tried twice. "aligned": copies of the call started within 2 s, so every
caller speaks at the same moment (the worst case: decoding comes in bursts). "spread": the
same, but each copy begins at a different line of the dialogue (the lines before it move to
its end), so the parties speak at different moments, as on a real floor; all the calls are
still live the whole time. "warm": aligned, into a service that has just taken a wave of as
many calls (not measured), so each call's recognisers come warm from the calls before, as
on a floor where calls come and go.
A count passes when its p95 is within 0.8 s, no audio was dropped and no line was missed.
The single call is the baseline. Target: at least 8 calls pass.

Then the service's own guard: with its default --max-calls, calls are offered one every
`--every` seconds (`--offer` of them); once decoding falls behind, the service refuses new
calls as busy (a websocket close 1013) instead of letting every call fall behind. The row
gives how many were taken and the latency of those.

    python bench/ingest_capacity.py [--counts 1,2,4,6,8,10] [--rounds 3] [--offer 10 --every 3]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.ko_speech import conversation, dialogue, model_dir

from monitor.ingest.g711 import ULAW

TARGET_P95 = 0.8
TARGET_CALLS = 8
RATE = 8000
FRAME = 160  # samples: 20 ms
HEATMON = [sys.executable, "-m", "monitor"]


def ulaw_encode(pcm: np.ndarray) -> bytes:
    """int16 to mu-law by the decoder's table (nearest code), for the bench's own streams."""
    order = np.argsort(ULAW)
    values = ULAW[order].astype(np.int32)
    index = np.clip(np.searchsorted(values, pcm.astype(np.int32)), 1, 255)
    nearer = np.where(np.abs(values[index] - pcm) < np.abs(values[index - 1] - pcm), index, index - 1)
    return order[nearer].astype(np.uint8).tobytes()


@dataclass
class Service:
    """`heatmon ingest --twilio` on a free port; every stdout event with its arrival time."""

    proc: subprocess.Popen[str]
    port: int = 0
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    @classmethod
    def start(cls, max_calls: int | None, guard: bool = False) -> Service:
        env = {**os.environ, "HEATMON_MODEL": str(model_dir())}
        limit = ["--max-calls", str(max_calls)] if max_calls else []
        if not guard:
            limit += ["--max-behind", "0"]
        proc = subprocess.Popen(
            [*HEATMON, "ingest", "--twilio", "127.0.0.1:0", *limit],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        service = cls(proc)
        assert proc.stderr is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not service.port:
            line = proc.stderr.readline()
            if not line:
                break
            found = re.search(r"twilio: listening on \S+:(\d+)", line)
            if found:
                service.port = int(found.group(1))
        if not service.port:
            proc.kill()
            raise SystemExit("heatmon ingest did not start")
        threading.Thread(target=service._read, daemon=True).start()
        threading.Thread(target=lambda: proc.stderr.read() if proc.stderr else None, daemon=True).start()
        return service

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip():
                self.events.append((time.time(), json.loads(line)))

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def stream_call(port: int, call: str, frames: np.ndarray, delay: float) -> np.ndarray | None:
    """One fork of both tracks, paced by the wall clock; the wall time each frame was sent
    (so a bench that falls behind its own pacing does not count against heatmon), or None
    when the service refused the call."""
    await asyncio.sleep(delay)
    tracks = {"inbound": ulaw_encode(frames[:, 0]), "outbound": ulaw_encode(frames[:, 1])}
    start = {
        "event": "start",
        "streamSid": "MZ" + call,
        "start": {
            "streamSid": "MZ" + call,
            "callSid": call,
            "tracks": ["inbound", "outbound"],
            "customParameters": {"agent": f"agent-{call}", "caller": "+15550000000"},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": RATE, "channels": 1},
        },
    }
    try:
        async with connect(f"ws://127.0.0.1:{port}/media", compression=None) as ws:
            await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            await ws.send(json.dumps(start))
            loop = asyncio.get_running_loop()
            began = loop.time()
            sent = np.zeros(len(frames) // FRAME)
            for k in range(len(frames) // FRAME):
                due = began + k * FRAME / RATE
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                for track, audio in tracks.items():
                    payload = base64.b64encode(audio[k * FRAME : (k + 1) * FRAME]).decode()
                    media = {"track": track, "chunk": str(k + 1), "timestamp": str(k * 20)}
                    media["payload"] = payload
                    await ws.send(json.dumps({"event": "media", "streamSid": "MZ" + call, "media": media}))
                sent[k] = time.time()
            await ws.send(json.dumps({"event": "stop", "streamSid": "MZ" + call}))
    except ConnectionClosed as closed:
        if closed.rcvd is not None and closed.rcvd.code == 1013:  # busy: the service refused it
            return None
        raise
    return sent


def latencies(
    service: Service, starts: dict[str, np.ndarray], spans: dict[str, list[tuple[str, float, float]]]
) -> tuple[list[float], int]:
    """Per line of every call: when its ending turn was printed minus when its last frame was
    sent; and how many lines got no turn at all."""
    found, missed = [], 0
    for call, sent in starts.items():
        turns = [(at, e) for at, e in service.events if e.get("call") == call and e["type"] == "turn"]
        for speaker, start, end in spans[call]:
            covering = [
                at for at, e in turns if e["speaker"] == speaker and e["start"] < end and e["end"] > start
            ]
            if not covering:
                missed += 1
                continue
            last_frame = min(int(end * RATE) // FRAME, len(sent) - 1)
            found.append(max(covering) - sent[last_frame])
    return found, missed


Audio = tuple[np.ndarray, list[tuple[str, float, float]]]


def begun_at_line(call: Audio, turns: list[tuple[str, float, str]], line: int) -> Audio:
    """The call begun at its `line`-th line: what came before moves to its end. The cut falls
    in the pause before that line, so no line is split."""
    frames, spans = call
    if line % len(turns) == 0:
        return call
    cut = int((turns[line % len(turns)][1] - 0.3) * RATE)
    length = len(frames) / RATE
    shift = cut / RATE
    moved = [
        (speaker, start - shift if start >= shift else start - shift + length,
         end - shift if start >= shift else end - shift + length)
        for speaker, start, end in spans
    ]  # fmt: skip
    return np.concatenate([frames[cut:], frames[:cut]]), moved


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def stream_wave(
    service: Service, calls: list[str], audio: list[Audio], delays: list[float]
) -> dict[str, np.ndarray]:
    """Stream `calls` (call i gets audio i, modulo) after their delays and wait for each taken
    one's call_ended; the frames' send times of the calls the service took."""
    streams = (
        stream_call(service.port, c, audio[i % len(audio)][0], d)
        for i, (c, d) in enumerate(zip(calls, delays, strict=True))
    )
    results = dict(zip(calls, await asyncio.gather(*streams), strict=True))
    starts = {call: sent for call, sent in results.items() if sent is not None}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ended = {e["call"] for _, e in service.events if e["type"] == "call_ended"}
        if set(starts) <= ended:
            break
        await asyncio.sleep(0.1)
    return starts


async def run_count(
    count: int,
    audio: list[Audio],
    *,
    every: float | None = None,
    guard: bool = False,
    warm: bool = False,
) -> dict[str, Any]:
    """`count` calls at once (spread over 2 s) into a service with --max-calls `count`; or,
    with `every`, one call every `every` seconds into a service with its default limit,
    with or without its busy guard (--max-behind). With `warm`, the service first takes a
    wave of `count` calls that is not measured, as on a floor where calls come and go."""
    service = Service.start(max_calls=None if every else max(count, 1), guard=guard)
    try:
        if every:
            delays = [i * every for i in range(count)]
        else:
            delays = [float(d) for d in np.linspace(0.0, 2.0, count)] if count > 1 else [0.0]
        if warm:
            await stream_wave(service, [f"WA{count:02d}x{i:02d}" for i in range(count)], audio, delays)
        cpu0, wall0 = service.cpu_seconds(), time.monotonic()
        calls = [f"CA{count:02d}x{i:02d}" for i in range(count)]
        starts = await stream_wave(service, calls, audio, delays)
        cpu = (service.cpu_seconds() - cpu0) / (time.monotonic() - wall0)
    finally:
        service.stop()
    found, missed = latencies(service, starts, {c: audio[i % len(audio)][1] for i, c in enumerate(calls)})
    summaries = [e["summary"] for _, e in service.events if e["type"] == "call_ended" and e["call"] in calls]
    dropped = sum(s.get("dropped_audio_blocks", 0) for s in summaries)
    late = sum(s.get("late_audio_seconds", 0.0) for s in summaries)
    return {
        "calls": count,
        "taken": len(starts),
        "ended": len(summaries),
        "p50": percentile(found, 50),
        "p95": percentile(found, 95),
        "cpu": cpu,
        "dropped": dropped,
        "late": late,
        "missed": missed,
        "lines": len(found) + missed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--counts", default="1,2,4,6,8,10", help="numbers of concurrent calls to try")
    parser.add_argument("--rounds", type=int, default=3, help="lines per party in the call")
    parser.add_argument(
        "--modes", default="aligned,spread,warm", help="which of aligned, spread, warm to run"
    )
    parser.add_argument("--offer", type=int, default=10, help="calls offered one by one (0: skip)")
    parser.add_argument("--every", type=float, default=3.0, help="seconds between offered calls")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    turns = dialogue(args.rounds)
    seconds = turns[-1][1] + 5.0
    frames, spans = conversation(turns, RATE, seconds, seed=3)
    load = os.getloadavg()
    print(f"ingest capacity: {seconds:.0f} s two-party Korean call per stream, Twilio Media Streams, "
          f"{os.cpu_count()} cores, load average {load[0]:.1f} at start")  # fmt: skip
    print(
        f"{'calls':>5} {'speech':>8} {'p50 s':>7} {'p95 s':>7} {'CPU':>6} {'dropped':>8} {'late s':>7} "
        f"{'missed':>7}  pass"
    )
    best = {"aligned": 0, "spread": 0, "warm": 0}
    lines = len(turns)
    for count in counts:
        modes = [m for m in args.modes.split(",") if m in best and (count > 1 or m != "spread")]
        for mode in modes:
            if mode == "spread":
                audio = [begun_at_line((frames, spans), turns, i * lines // count) for i in range(count)]
            else:
                audio = [(frames, spans)]
            row = asyncio.run(run_count(count, audio, warm=mode == "warm"))
            ok = (
                row["p95"] <= TARGET_P95
                and row["dropped"] == 0
                and row["missed"] == 0
                and row["taken"] == row["ended"] == count
            )
            best[mode] = max(best[mode], count) if ok else best[mode]
            label = "baseline" if count == 1 and mode == "aligned" else ("yes" if ok else "no")
            print(
                f"{count:>5} {mode:>8} {row['p50']:>7.2f} {row['p95']:>7.2f} {row['cpu'] * 100:>5.0f}% "
                f"{row['dropped']:>8} {row['late']:>7.2f} {row['missed']:>4}/{row['lines']:<3} {label}",
                flush=True,
            )
    print(f"largest count with p95 <= {TARGET_P95} s, nothing dropped or missed: {best['aligned']} "
          f"aligned, {best['spread']} spread, {best['warm']} warm (target >= {TARGET_CALLS})")  # fmt: skip
    if args.offer:
        print(f"offered {args.offer} calls, one every {args.every:g} s, default --max-calls:")
        for guard in (False, True):
            audio = [begun_at_line((frames, spans), turns, i) for i in range(len(turns))]
            row = asyncio.run(run_count(args.offer, audio, every=args.every, guard=guard))
            name = "busy guard on (--max-behind default)" if guard else "busy guard off (baseline)"
            print(f"  {name}: {row['taken']} taken, {args.offer - row['taken']} refused; the taken "
                  f"ones p50 {row['p50']:.2f} s, p95 {row['p95']:.2f} s, CPU {row['cpu'] * 100:.0f}%, "
                  f"dropped {row['dropped']}, missed {row['missed']}/{row['lines']}", flush=True)  # fmt: skip
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} at the end")


if __name__ == "__main__":
    main()
