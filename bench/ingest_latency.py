"""Ingest latency: end of a caller's speech to the hub's `turn` event, through AudioSocket,
beside the same caller audio through `heatmon run -`, in one run.

A Korean call is synthesized with espeak-ng (the Korean Vosk model is the one installable
here), so the true end of every caller line is known; the caller's side is telephone audio,
8 kHz mono. `heatmon hub` runs as a subprocess; the bench watches it as a supervisor (the
websocket feed the floor board draws from) and notes the wall time each caller `turn`
arrives. Two paths, one after the other, each fed in real time 20 ms at a time, as a phone
line delivers it; the latency of a line is the turn's arrival minus the wall time at which
the line's last sample was handed over:

- `heatmon run - --rate 8000 --channels 1 --hub ...`, the audio on stdin (the baseline);
- `heatmon ingest --audiosocket ... --audiosocket-unknown caller --hub ...`, the bench acting
  as Asterisk: one AudioSocket stream (the UUID, then 0x10 frames of 320 bytes), taken as a
  call of its own whose audio is the caller. With ARI, Asterisk adds the agent's stream on
  a second connection and the caller's stream is exactly this.

Target: the AudioSocket path's p50 and p95 within 0.1 s of the baseline's.

    python bench/ingest_latency.py [--rounds 6] [--keep]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from e2e_latency import HEATMON, percentile, start_hub
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.ko_speech import conversation, dialogue, model_dir

from monitor.ingest.audiosocket_frames import AUDIO, UUID, encode

TARGET_GAP = 0.1
RATE = 8000
CHUNK = 0.02  # Asterisk's 20 ms frames


class Watcher:
    """A supervisor on the hub: the wall time each caller turn arrives, by call."""

    def __init__(self, ws_url: str, token: str) -> None:
        self.turns: list[tuple[str, float, float]] = []  # (call, turn end in call time, arrival)
        self.started: set[str] = set()
        self._ws = connect(ws_url, max_size=None).__enter__()
        self._ws.send(json.dumps({"type": "hello", "role": "supervisor", "token": token}))
        assert json.loads(self._ws.recv(timeout=10))["type"] == "welcome"
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for message in self._ws:
                at = time.time()
                msg = json.loads(message)
                for e in msg["events"] if msg.get("type") == "batch" else [msg]:
                    if e.get("type") == "call_started":
                        self.started.add(e["call"])
                    elif e.get("type") == "turn" and e.get("speaker") == "caller":
                        self.turns.append((e["call"], float(e["end"]), at))
        except Exception:  # closed at the end of the run
            return

    def wait_started(self, call: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while call not in self.started:
            if time.monotonic() > deadline:
                raise SystemExit(f"call {call} never reached the hub")
            time.sleep(0.02)

    def close(self) -> None:
        self._ws.__exit__(None, None, None)


def play(write: Any, pcm: np.ndarray, written: list[float]) -> None:
    """Hand the audio over in real time, CHUNK by CHUNK; note when each chunk went."""
    step = int(RATE * CHUNK)
    began = time.perf_counter()
    for index, first in enumerate(range(0, len(pcm), step)):
        wait = began + (index + 1) * CHUNK - time.perf_counter()  # sent once all of it was spoken
        if wait > 0:
            time.sleep(wait)
        write(pcm[first : first + step].tobytes())
        written.append(time.time())


def latencies(
    watcher: Watcher, call: str, written: list[float], ends: list[float]
) -> tuple[list[float], int]:
    time.sleep(1.5)  # the last turns' way through the hub
    turns = [(end, at) for c, end, at in watcher.turns if c == call]
    out = []
    for end in ends:
        reached = written[min(len(written) - 1, math.ceil(end / CHUNK) - 1)]
        match = next((at for t_end, at in turns if end - 0.5 <= t_end <= end + 1.0), None)
        if match is not None:
            out.append(match - reached)
    return out, len(turns)


def via_run(folder: Path, ws: str, tokens: Path, pcm: np.ndarray, watcher: Watcher) -> list[float]:
    call = "bench-run"
    log = (folder / f"{call}.log").open("wb")
    proc = subprocess.Popen(
        [*HEATMON, "run", "-", "--rate", str(RATE), "--channels", "1", "--model", str(model_dir()),
         "--call", call, "--hub", ws, "--tokens", str(tokens)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    assert proc.stdin is not None
    watcher.wait_started(call)
    written: list[float] = []

    def write(data: bytes) -> None:
        assert proc.stdin is not None
        proc.stdin.write(data)
        proc.stdin.flush()

    play(write, pcm, written)
    proc.stdin.close()
    if proc.wait(timeout=120) != 0:
        raise SystemExit(f"heatmon run failed:\n{(folder / f'{call}.log').read_text(errors='replace')}")
    return written


def via_audiosocket(
    folder: Path, ws: str, tokens: Path, pcm: np.ndarray, watcher: Watcher
) -> tuple[str, list[float]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log_path = folder / "ingest.log"
    proc = subprocess.Popen(
        [*HEATMON, "ingest", "--audiosocket", f"127.0.0.1:{port}", "--audiosocket-unknown", "caller",
         "--model", str(model_dir()), "--hub", ws, "--tokens", str(tokens)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log_path.open("wb"),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "audiosocket: listening" not in log_path.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"heatmon ingest did not start:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.05)
        leg = uuid.uuid4()
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.sendall(encode(UUID, leg.bytes))
            watcher.wait_started(str(leg))
            written: list[float] = []
            play(lambda data: conn.sendall(encode(AUDIO, data)), pcm, written)
        return str(leg), written
    finally:
        time.sleep(1.5)
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=6, help="caller + agent lines each (default 6)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, the hub's store)")
    args = parser.parse_args()
    turns = dialogue(args.rounds)
    frames, spans = conversation(turns, RATE, turns[-1][1] + 5.0)
    caller = np.ascontiguousarray(frames[:, 0])
    ends = [end for speaker, _, end in spans if speaker == "caller"]
    folder = Path(tempfile.mkdtemp(prefix="heatmon-ingest-"))
    hub, ws, board = start_hub(folder)
    token = re.search(r"#token=(\S+)", board)
    assert token is not None
    tokens = folder / "tokens.json"
    watcher: Watcher | None = None
    try:
        watcher = Watcher(ws, token[1])
        written_run = via_run(folder, ws, tokens, caller, watcher)
        run_lat, run_turns = latencies(watcher, "bench-run", written_run, ends)
        call, written_as = via_audiosocket(folder, ws, tokens, caller, watcher)
        as_lat, as_turns = latencies(watcher, call, written_as, ends)
    finally:
        if watcher is not None:
            watcher.close()
        hub.terminate()
        hub.wait(timeout=10)
        if args.keep:
            print(f"work folder kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print("ingest latency: end of caller speech -> the hub's turn event (supervisor websocket)")
    print(
        f"call: {len(ends)} Korean caller lines (espeak-ng), {len(caller) / RATE:.0f} s, 8 kHz mono, "
        "real time"
    )
    print(f"{'':34} {'seen':>5} {'p50':>7} {'p95':>7} {'max':>7}")
    rows = (
        ("`heatmon run -` (baseline)", run_lat, run_turns),
        ("AudioSocket `heatmon ingest`", as_lat, as_turns),
    )
    for label, values, count in rows:
        print(
            f"{label:34} {len(values):>2}/{len(ends):<2} {percentile(values, 50):6.2f}s "
            f"{percentile(values, 95):6.2f}s {max(values, default=math.nan):6.2f}s   ({count} caller turns)"
        )
    gap50 = percentile(as_lat, 50) - percentile(run_lat, 50)
    gap95 = percentile(as_lat, 95) - percentile(run_lat, 95)
    print(f"{'AudioSocket - baseline':34} {'':>5} {gap50:+6.2f}s {gap95:+6.2f}s")
    ok = len(as_lat) == len(ends) and abs(gap50) <= TARGET_GAP and gap95 <= TARGET_GAP
    print(
        f"target: within {TARGET_GAP} s of the baseline, every caller line seen: {'PASS' if ok else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
