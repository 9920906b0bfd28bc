"""Overhead: CPU time of `heatmon run` on the 4-minute two-party eval call vs a bare loop
that feeds the same audio to Vosk recognisers (same model directory, same 0.1 s chunks).

Both run as subprocesses and both load the model; their CPU times (user + system) are
compared, alternating runs so machine load hits both alike. Target: ratio <= 1.10.

The bare loop decodes every sample, so the like-for-like run is `heatmon run
--no-skip-silence`: that ratio is the overhead. heatmon's default (the silence gate)
is shown beside it, for what it saves.
    python bench/asr_overhead.py [--runs 2]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

from _asr import eval_call, verdict
from support.ko_speech import model_dir

from monitor.speech.overlay import Endpointing, endpointing_overlay

BARE_LOOP = """
import sys, wave, vosk
vosk.SetLogLevel(-1)
model = vosk.Model(sys.argv[1])
wavs = [wave.open(p, "rb") for p in sys.argv[2:]]
recs = []
for w in wavs:
    r = vosk.KaldiRecognizer(model, float(w.getframerate()))
    r.SetWords(True)
    recs.append(r)
chunk = wavs[0].getframerate() // 10
while True:
    blocks = [w.readframes(chunk) for w in wavs]
    if not any(blocks):
        break
    for r, b in zip(recs, blocks):
        if b and r.AcceptWaveform(b):
            r.Result()
for r in recs:
    r.FinalResult()
"""


def cpu_of(cmd: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    caller, agent = eval_call()
    model = endpointing_overlay(model_dir(), Endpointing())  # the model dir heatmon run decodes with
    heatmon = [
        sys.executable,
        "-m",
        "monitor",
        "run",
        "--model",
        str(model),
        "--caller",
        str(caller),
        "--agent",
        str(agent),
    ]
    bare = [sys.executable, "-c", BARE_LOOP, str(model), str(caller), str(agent)]
    every_sample = [*heatmon, "--no-skip-silence"]
    theirs: list[float] = []
    ours: list[float] = []
    gated: list[float] = []
    for _ in range(args.runs):
        theirs.append(cpu_of(bare)[0])
        ours.append(cpu_of(every_sample)[0])
        gated.append(cpu_of(heatmon)[0])

    def line(name: str, runs: list[float]) -> str:
        return f"  {name:<36}: {min(runs):7.1f} s  (runs: {', '.join(f'{c:.1f}' for c in runs)})"

    ratio = min(ours) / min(theirs)
    print("overhead on the 4-minute two-party call (CPU seconds, best of runs)")
    print(line("bare Vosk loop", theirs))
    print(line("heatmon run --no-skip-silence", ours))
    print(line("heatmon run (default: skips silence)", gated))
    print(f"  overhead ratio (like for like)      : {ratio:7.3f}   target <= 1.10  {verdict(ratio <= 1.10)}")
    print(f"  default heatmon vs bare loop        : {min(gated) / min(theirs):7.3f}")


if __name__ == "__main__":
    main()
