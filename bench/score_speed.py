"""Speed: caller turns scored per second by heatmon's turn scorer vs raw VADER.

Both score the same ASR-like texts (EmoContext valid turn 3 and MELD dev, from
`../shared/eval` or $HEATMON_EVAL). Raw VADER = `SentimentIntensityAnalyzer.polarity_scores`;
heatmon = `TurnScorer.score` (VADER, the domain lexicon and the learned anger layer, with
its explanation); "lexicon only" leaves the anger layer out. Best of several interleaved
rounds, in CPU time; the first (cold) round of the full scorer is printed too, since the
anger layer caches each word's character n-gram sum on first sight.

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

TARGET = 0.5
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
    scorer.score("warm up")  # loads the anger model, outside the timing
    start = time.process_time()
    for text in texts:
        scorer.score(text)
    cold = len(texts) / (time.process_time() - start)
    measured = rates(
        {
            "vader": vader.polarity_scores,
            "heatmon": scorer.score,
            "lexicon": lambda text: scorer.score(text, anger=False),
        },
        texts,
    )
    raw, ours = measured["vader"], measured["heatmon"]
    ratio = ours / raw
    print(f"{'scorer':34} {'turns/s':>10}")
    print(f"{'raw VADER':34} {raw:10.0f}")
    print(f"{'heatmon, lexicon only':34} {measured['lexicon']:10.0f}")
    print(f"{'heatmon TurnScorer (all layers)':34} {ours:10.0f}")
    print(f"{'  first round, cold word cache':34} {cold:10.0f}")
    verdict = "PASS" if ratio >= TARGET else "FAIL"
    print(f"ratio heatmon/VADER: {ratio:.2f}x (target >= {TARGET:.1f}x) {verdict}  ({len(texts)} texts)")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
