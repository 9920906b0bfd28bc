"""Turn latency: audio time from the end of the last word to the `turn` event, heatmon's
fast endpointing vs the model's stock model.conf, on the same Korean two-party call made
with espeak-ng (the Korean Vosk model is the one installable here), in one run.
Target: median <= 0.7 s (stock is about 1.0 s).
    python bench/turn_latency.py [--rounds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from _asr import verdict
from support.ko_speech import conversation, dialogue, model_dir, write_wav

from monitor.events import Event, Turn
from monitor.speech.overlay import STOCK_ENDPOINTING, Endpointing, endpointing_overlay
from monitor.speech.pool import run_calls
from monitor.speech.recognizer import SpeechModel
from monitor.speech.recordings import WavSource
from monitor.speech.session import CallOptions, CallSpec


def latencies(wav: Path, endpointing: Endpointing, quiet_end: float | None) -> tuple[list[float], int]:
    """Latency of each turn ended by the endpointer (not by the end of the file), and turn count."""
    model = SpeechModel(endpointing_overlay(model_dir(), endpointing))
    events: list[Event] = []
    options = CallOptions(quiet_end=quiet_end)
    asyncio.run(
        run_calls([CallSpec("bench", WavSource({"call": wav}))], model, events.append, options=options)
    )
    turns = [e for e in events if isinstance(e, Turn)]
    end_of_file = events[-1].t
    return [t.t - t.end for t in turns if t.t < end_of_file - 1e-6], len(turns)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=8, help="caller + agent lines each")
    parser.add_argument("--rules", help="try other fast rules: RULE2,RULE3,RULE4 seconds")
    parser.add_argument("--quiet", type=float, default=CallOptions().quiet_end, help="try another quiet_end")
    args = parser.parse_args()
    fast_rules = Endpointing(*map(float, args.rules.split(","))) if args.rules else Endpointing()
    script = dialogue(args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for seed in (1, 2):
            frames, spans = conversation(script, 16000, script[-1][1] + 8.0, seed=seed)
            wav = write_wav(Path(tmp) / f"call{seed}.wav", frames, 16000)
            for name, rules, quiet in (
                ("stock model.conf", STOCK_ENDPOINTING, None),
                ("heatmon fast", fast_rules, args.quiet),
            ):
                lat, count = latencies(wav, rules, quiet)
                rows.append((seed, name, lat, count, len(spans)))
    print(f"heatmon fast: Kaldi rules {fast_rules}, quiet_end {args.quiet} s; stock: model.conf only")
    print(f"turn latency, Korean two-party call, {len(script)} lines, 2 noise seeds (audio seconds)")
    summary = {}
    for name in ("stock model.conf", "heatmon fast"):
        lat = [x for _, n, values, _, _ in rows if n == name for x in values]
        turns = sum(c for _, n, _, c, _ in rows if n == name)
        lines = sum(s for _, n, _, _, s in rows if n == name)
        summary[name] = statistics.median(lat)
        p90 = sorted(lat)[int(0.9 * (len(lat) - 1))]
        print(
            f"  {name:17}: median {summary[name]:.2f}  p90 {p90:.2f}  max {max(lat):.2f}"
            f"  turns {turns} for {lines} lines"
        )
    fast = summary["heatmon fast"]
    print(f"  ratio fast/stock : {fast / summary['stock model.conf']:.2f}")
    print(f"  target median <= 0.70 s: {fast:.2f}  {verdict(fast <= 0.7)}")


if __name__ == "__main__":
    main()
