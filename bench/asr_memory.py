"""Memory: process RSS over 30 minutes of call audio (the shared two-party call, looped)
through heatmon's whole pipeline vs plain Vosk use (a recogniser per party, `Result()` at
each endpoint), in one run, each in a process of its own, side by side.

Reports RSS at 5 and 30 minutes of audio and the lowest and highest RSS in between.
Target: RSS at 30 min within 60 MB of RSS at 5 min.
    python bench/asr_memory.py [--minutes 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

from _asr import eval_call, read_pcm, rss_mb, verdict
from support.ko_speech import model_dir

from monitor.analysis.chain import CallAnalysis
from monitor.speech.blocks import AudioBlock
from monitor.speech.overlay import Endpointing, endpointing_overlay
from monitor.speech.pool import run_calls
from monitor.speech.recognizer import SpeechModel
from monitor.speech.session import CallOptions, CallSpec

POLICIES = ("heatmon", "plain Vosk")


@dataclass
class LoopedCall:
    """The eval call's two parties, looped to `minutes`, recording RSS every minute of audio."""

    minutes: float
    description: str = "eval call, looped"
    rss: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        caller, agent = eval_call()
        self._pcm = {"caller": read_pcm(caller)[0], "agent": read_pcm(agent)[0]}
        self.rate = read_pcm(caller)[1]

    @property
    def rates(self) -> dict[str, int]:
        return {"caller": self.rate, "agent": self.rate}

    def blocks(self) -> Iterator[AudioBlock]:
        step = self.rate // 10 * 2  # 0.1 s of 16-bit samples
        length = min(len(p) for p in self._pcm.values())
        total = int(self.minutes * 60 * 10)
        for i in range(total):
            at = i * step % (length - length % step)
            yield AudioBlock({party: pcm[at : at + step] for party, pcm in self._pcm.items()})
            if (i + 1) % 600 == 0:  # every minute of audio
                self.rss[(i + 1) // 600] = rss_mb()

    def close(self) -> None:
        pass


def measure(minutes: float, policy: str) -> dict[int, float]:
    model = SpeechModel(endpointing_overlay(model_dir(), Endpointing()))
    source = LoopedCall(minutes)
    source.rss[0] = rss_mb()
    if policy == "heatmon":
        spec = CallSpec("long", source, CallAnalysis("long"))
        asyncio.run(run_calls([spec], model, lambda e: None, options=CallOptions()))
        return source.rss
    recognizers = {party: model.recognizer(rate) for party, rate in source.rates.items()}
    for block in source.blocks():
        for party, pcm in block.pcm.items():
            if recognizers[party].AcceptWaveform(pcm):
                recognizers[party].Result()
    return source.rss


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--child", choices=POLICIES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.minutes < 6:
        parser.error("--minutes must be at least 6 (RSS is compared with the 5-minute mark)")
    if args.child is not None:
        print(json.dumps(measure(args.minutes, args.child)))
        return
    children = {
        name: subprocess.Popen(
            [sys.executable, __file__, "--minutes", str(args.minutes), "--child", name],
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in POLICIES
    }
    results = {
        name: {int(k): v for k, v in json.loads(p.communicate()[0]).items()} for name, p in children.items()
    }
    last = int(args.minutes)
    print(f"process RSS (MB) over {last} minutes of two-party call audio, Korean model")
    print(
        f"  {'policy':30} {'start':>6} {'@5 min':>7} {'@' + str(last) + ' min':>8} {'growth':>7}"
        f" {'min..max after 5':>17}"
    )
    for name, rss in results.items():
        after = [v for k, v in rss.items() if k >= 5]
        growth = rss[last] - rss[5]
        print(
            f"  {name:30} {rss[0]:6.0f} {rss[5]:7.0f} {rss[last]:8.0f} {growth:+7.0f} "
            f"{min(after):8.0f}..{max(after):.0f}"
        )
    ours = results["heatmon"]
    growth = ours[last] - ours[5]
    print(
        f"  target: growth from 5 to {last} min within 60 MB: {growth:+.0f} MB  {verdict(abs(growth) <= 60)}"
    )
    print("  per-minute RSS, heatmon: " + " ".join(f"{ours[k]:.0f}" for k in sorted(ours)))


if __name__ == "__main__":
    main()
