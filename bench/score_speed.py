"""Speed: caller turns scored per second by heatmon's turn scorer vs raw VADER.

Both score the same ASR-like texts (EmoContext valid turn 3 and MELD dev, from
`../shared/eval` or $HEATMON_EVAL). Raw VADER = `SentimentIntensityAnalyzer.polarity_scores`;
heatmon = `TurnScorer.score` (VADER plus the domain layer). Best of several interleaved rounds, in CPU time.

    python bench/score_speed.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _eval_data import emocontext, meld, require_eval
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from monitor.analysis.lexicon import asr_like
from monitor.analysis.sentiment import TurnScorer

TARGET = 0.7
ROUNDS = 7


def rates(fns: dict[str, Callable[[str], object]], texts: list[str]) -> dict[str, float]:
    """Texts per second of each function, in CPU time of this process, best of ROUNDS.

    The rounds interleave the functions, so load from other processes on the machine
    falls on both alike; CPU time rather than wall time leaves out time spent descheduled.
    """
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(ROUNDS):
        for name, fn in fns.items():
            start = time.process_time()
            for text in texts:
                fn(text)
            best[name] = min(best[name], time.process_time() - start)
    return {name: len(texts) / seconds for name, seconds in best.items()}


def main() -> int:
    require_eval()
    texts = [asr_like(t) for t, _ in emocontext("valid") + meld("dev")]
    vader = SentimentIntensityAnalyzer()
    scorer = TurnScorer()
    measured = rates({"vader": vader.polarity_scores, "heatmon": scorer.score}, texts)
    raw, ours = measured["vader"], measured["heatmon"]
    ratio = ours / raw
    print(f"{'scorer':24} {'turns/s':>10}")
    print(f"{'raw VADER':24} {raw:10.0f}")
    print(f"{'heatmon TurnScorer':24} {ours:10.0f}")
    verdict = "PASS" if ratio >= TARGET else "FAIL"
    print(f"ratio heatmon/VADER: {ratio:.2f}x (target >= {TARGET:.1f}x) {verdict}  ({len(texts)} texts)")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
