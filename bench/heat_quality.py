"""Heat quality: angry-turn detection F1 of heatmon's turn score vs raw VADER compound.

Reads `../shared/eval` (or $HEATMON_EVAL); text is made ASR-like (lowercase, no
punctuation) first. For each score the best threshold is searched (angry = score below it).
Also the Pearson r of both scores against the human ratings of VADER's tweet ground truth.

    python bench/heat_quality.py            # EmoContext valid, MELD dev, tweets
    python bench/heat_quality.py --train    # the train splits instead (a generality check)
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _eval_data import emocontext, meld, require_eval, tweets

from monitor.analysis.lexicon import Lexicon, asr_like
from monitor.analysis.sentiment import TurnScorer


def best_f1(scores: list[float], labels: list[bool]) -> tuple[float, float]:
    """The best F1 over all thresholds (positive = score < threshold), and that threshold."""
    pairs = sorted(zip(scores, labels, strict=False))
    total_pos = sum(labels)
    best, best_t, tp, i = 0.0, 0.0, 0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            tp += pairs[j][1]
            j += 1
        predicted = j
        f1 = 2 * tp / (predicted + total_pos) if predicted + total_pos else 0.0
        if f1 > best:
            nxt = pairs[j][0] if j < len(pairs) else pairs[i][0] + 0.01
            best, best_t = f1, (pairs[i][0] + nxt) / 2
        i = j
    return best, best_t


def pearson(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=False))
    vx = sum((x - mx) ** 2 for x in xs)
    vy = sum((y - my) ** 2 for y in ys)
    return cov / math.sqrt(vx * vy)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", action="store_true", help="measure on the train splits")
    parser.add_argument("--lexicon", help="a lexicon file instead of the bundled one")
    args = parser.parse_args()
    require_eval()
    scorer = TurnScorer(Lexicon.from_file(args.lexicon) if args.lexicon else None)
    sets = [
        (
            "EmoContext " + ("train" if args.train else "valid"),
            emocontext("train" if args.train else "valid"),
            0.10,
        ),
        (
            "MELD " + ("train" if args.train else "dev") + " anger+disgust",
            meld("train" if args.train else "dev"),
            0.05,
        ),
    ]
    ok = True
    print(f"{'set':34} {'rows':>6} {'VADER F1':>9} {'heatmon F1':>11} {'gain':>7} {'target':>8}")
    for name, rows, target in sets:
        results = [scorer.score(asr_like(text)) for text, _ in rows]
        labels = [angry for _, angry in rows]
        vader_f1, vt = best_f1([r.compound for r in results], labels)
        heat_f1, ht = best_f1([r.score for r in results], labels)
        gain = heat_f1 - vader_f1
        verdict = "PASS" if gain >= target else "FAIL"
        ok &= gain >= target
        print(
            f"{name:34} {len(rows):6} {vader_f1:9.3f} {heat_f1:11.3f} {gain:+7.3f} "
            f"{'+' + format(target, '.2f'):>8} {verdict}  (thresholds {vt:+.3f} / {ht:+.3f}, "
            f"ratio {heat_f1 / vader_f1:.2f}x)"
        )
    rows_t = tweets()
    results = [scorer.score(asr_like(text)) for text, _ in rows_t]
    human = [rating for _, rating in rows_t]
    r_vader = pearson([r.compound for r in results], human)
    r_heat = pearson([r.score for r in results], human)
    verdict = "PASS" if r_heat >= r_vader - 0.02 else "FAIL"
    ok &= r_heat >= r_vader - 0.02
    print(
        f"{'tweets Pearson r':34} {len(rows_t):6} {r_vader:9.3f} {r_heat:11.3f} {r_heat - r_vader:+7.3f} "
        f"{'>=-0.02':>8} {verdict}  (ratio {r_heat / r_vader:.3f}x)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
