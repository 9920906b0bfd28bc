"""Heat quality: angry-turn detection of heatmon's turn score and anger layer vs raw VADER.

Reads `../shared/eval` (or $HEATMON_EVAL); text is made ASR-like (lowercase, no
punctuation) first. For each score the best threshold is searched (angry = score below it, or
P(angry) above it) and its F1 printed; the held-out call-centre lines (heatmon's own,
`models/anger/caller_lines_heldout.tsv`, never trained on) give the AUC of P(angry).
Also the Pearson r of both scores against the human ratings of VADER's tweet ground truth.

Columns: raw VADER `compound`; `lexicon` = VADER + the domain lexicon (heatmon's score
without the learned layer); `P(angry)` = the learned layer; `heatmon` = heatmon's turn
score (all layers), the figure the target is for. EmoContext turn 3 is read with turn 1 (the
same user's previous turn) as context.

    python bench/heat_quality.py            # the dev / validation splits
    python bench/heat_quality.py --train    # EmoContext and MELD train splits (a generality check)
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _eval_data import dailydialog, emocontext_turns, goemotions, meld, require_eval, tweets

from monitor.analysis.lexicon import Lexicon, asr_like
from monitor.analysis.sentiment import TurnScore, TurnScorer

HELDOUT = Path(__file__).resolve().parent.parent / "models" / "anger" / "caller_lines_heldout.tsv"


def best_f1(scores: Sequence[float], labels: Sequence[bool]) -> tuple[float, float]:
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


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve of `scores` ranking the positives first (higher = positive)."""
    order = sorted(zip(scores, labels, strict=True))
    pos = sum(labels)
    neg = len(labels) - pos
    rank_sum, i = 0.0, 0
    while i < len(order):
        j = i
        while j < len(order) and order[j][0] == order[i][0]:
            j += 1
        rank_sum += (i + j + 1) / 2 * sum(lab for _, lab in order[i:j])
        i = j
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=False))
    vx = sum((x - mx) ** 2 for x in xs)
    vy = sum((y - my) ** 2 for y in ys)
    return cov / math.sqrt(vx * vy)


def heldout_lines() -> list[tuple[str, bool]]:
    rows = []
    with open(HELDOUT, encoding="utf-8") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            rows.append((parts[0], parts[1] == "1"))
    return rows


def scored(
    scorer: TurnScorer, rows: Sequence[tuple[str | None, str, bool]]
) -> list[tuple[TurnScore, TurnScore]]:
    """Each row's (lexicon-only, full) scores; a row's first item is the previous caller turn."""
    out = []
    for previous, text, _ in rows:
        before = scorer.score(asr_like(previous)) if previous is not None else None
        out.append((scorer.score(asr_like(text), anger=False), scorer.score(asr_like(text), before)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", action="store_true", help="EmoContext and MELD train splits instead")
    parser.add_argument("--lexicon", help="a lexicon file instead of the bundled one")
    args = parser.parse_args()
    require_eval()
    scorer = TurnScorer(Lexicon.from_file(args.lexicon) if args.lexicon else None)
    split = "train" if args.train else None
    sets: list[tuple[str, list[tuple[str | None, str, bool]], float]] = [
        (f"EmoContext {split or 'valid'} angry", list(emocontext_turns(split or "valid")), 0.70),
        (
            f"MELD {split or 'dev'} anger+disgust",
            [(None, t, y) for t, y in meld(split or "dev")],
            0.40,
        ),
    ]
    if not args.train:
        sets += [
            ("GoEmotions dev anger+annoy+disgust", [(None, t, y) for t, y in goemotions("dev")], 0.58),
            ("DailyDialog valid anger+disgust", [(None, t, y) for t, y in dailydialog()], 0.28),
        ]
    ok = True
    print("best-threshold F1 of the angry class (ASR-like text)")
    print(f"{'set':36} {'rows':>6} {'VADER':>6} {'lexicon':>8} {'P(angry)':>9} {'heatmon':>8} {'target':>8}")
    for name, rows, target in sets:
        results = scored(scorer, rows)
        labels = [y for _, _, y in rows]
        vader_f1, _ = best_f1([r.compound for r, _ in results], labels)
        lex_f1, _ = best_f1([r.score for r, _ in results], labels)
        p_f1, pt = best_f1([-(f.anger.probability if f.anger else 0.0) for _, f in results], labels)
        heat_f1, ht = best_f1([f.score for _, f in results], labels)
        passed = heat_f1 >= target
        ok &= passed
        print(
            f"{name:36} {len(rows):6} {vader_f1:6.3f} {lex_f1:8.3f} {p_f1:9.3f} {heat_f1:8.3f} "
            f"{'>=' + format(target, '.2f'):>8} {'PASS' if passed else 'FAIL'}  "
            f"(thresholds P > {-pt:.2f}, score < {ht:+.2f})"
        )
    if not args.train:
        lines = heldout_lines()
        results = scored(scorer, [(None, t, y) for t, y in lines])
        labels = [y for _, y in lines]
        a_vader = auc([-r.compound for r, _ in results], labels)
        a_lex = auc([-r.score for r, _ in results], labels)
        a_p = auc([f.anger.probability if f.anger else 0.0 for _, f in results], labels)
        a_heat = auc([-f.score for _, f in results], labels)
        passed = a_p >= 0.95
        ok &= passed
        print(
            f"{'held-out caller lines, AUC':36} {len(lines):6} {a_vader:6.3f} {a_lex:8.3f} {a_p:9.3f} "
            f"{a_heat:8.3f} {'>=0.95':>8} {'PASS' if passed else 'FAIL'}  (target on P(angry))"
        )
    rows_t = tweets()
    results = scored(scorer, [(None, t, False) for t, _ in rows_t])
    human = [rating for _, rating in rows_t]
    r_vader = pearson([r.compound for r, _ in results], human)
    r_lex = pearson([r.score for r, _ in results], human)
    r_heat = pearson([f.score for _, f in results], human)
    passed = r_heat >= r_vader - 0.02
    ok &= passed
    print(
        f"{'tweets Pearson r (general sentiment)':36} {len(rows_t):6} {r_vader:6.3f} {r_lex:8.3f} {'':>9} "
        f"{r_heat:8.3f} {'>=' + format(r_vader - 0.02, '.3f'):>8} {'PASS' if passed else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
