#!/usr/bin/env python3
"""Train heatmon's caller-anger layer and write `models/anger/anger_model.npz` + `manifest.json`.

Fits only on data whose licence lets the result ship:
  - GoEmotions train split (Apache-2.0): anger, annoyance, disgust = angry; comments labelled
    only disapproval are left out (neither clearly angry nor clearly not); the dev split is
    never read, so its figure in bench/heat_quality.py stays a held-out one;
  - VADER's ground truth (MIT): the amazon, movie and editorial snippets rated +1 or more, as
    not angry (the tweets are left out: the benchmark measures general sentiment on them);
  - heatmon's own caller lines (`models/anger/caller_lines.tsv`), plus any --extra TSV a team
    adds (text, label 0/1, optional category), weighted `--lines-weight`.
`models/anger/caller_lines_heldout.tsv` is never read for fitting; it is measured at the end.
EmoContext, MELD and DailyDialog are never read here.

The result is the same file, byte for byte, on every run with the same inputs and seed:
single-threaded BLAS, a deterministic solver, float16 weights, zip entries with a fixed date.

    pip install -e '.[train]'
    python scripts/train_anger.py                       # rebuilds the shipped model
    python scripts/train_anger.py --extra our_calls.tsv --out team-anger.npz
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path

# One BLAS thread: sums in a fixed order, so the fit is the same bit for bit on every run.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402  (after the thread settings)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.analysis.anger import FORMAT, AngerModel  # noqa: E402
from monitor.analysis.anger_features import DENSE, dense_inputs, feature_rows  # noqa: E402
from monitor.analysis.lexicon import asr_like  # noqa: E402
from monitor.analysis.sentiment import TurnScorer, anger_inputs  # noqa: E402

EVAL = Path(os.environ.get("HEATMON_EVAL", ROOT.parent / "shared" / "eval"))
LINES = ROOT / "models" / "anger" / "caller_lines.tsv"
HELDOUT = ROOT / "models" / "anger" / "caller_lines_heldout.tsv"
OUT = ROOT / "models" / "anger" / "anger_model.npz"

SEED = 20261204
HASH_BITS = 18
#: Inverse regularisation strength, chosen on a 10% slice of GoEmotions train (never dev).
C = 2.0
#: Dense inputs (VADER, lexicon) are scaled up so the regulariser lets them count.
DENSE_SCALE = 3.0
#: GoEmotions label ids: anger, annoyance, disgust are the angry class; disapproval-only is left out.
ANGRY_IDS = frozenset({2, 3, 11})
DISAPPROVAL = 10
#: How much of the previous caller turn's excess anger (logit) carries into this turn.
#: Chosen on EmoContext *train* (turn 1 as the previous turn; 0.75 measured best there, 0.5 is
#: kept to be gentle with calls, where heat already remembers earlier turns).
CONTEXT_WEIGHT = 0.5
#: heatmon's score moves toward negative once P(angry) passes SCORE_ONSET, by up to SCORE_WEIGHT
#: on VADER's raw valence scale (a strongly negative VADER word is about -3). Chosen on EmoContext
#: and MELD train (F1 of the score close to that of P(angry)) with the amazon, movie and editorial
#: ground truth's Pearson r as the check that general sentiment stays (it rose slightly).
SCORE_ONSET = 0.3
SCORE_WEIGHT = 8.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def read_lines(path: Path) -> list[tuple[str, int]]:
    """A caller-lines TSV: text, label (0/1), optional category; a header line is skipped."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            parts = line.rstrip("\n").split("\t")
            if number == 1 and parts[0] == "text":
                continue
            if len(parts) < 2 or parts[1] not in ("0", "1"):
                raise SystemExit(f"{path}:{number}: needs 'text<TAB>0|1[<TAB>category]'")
            rows.append((asr_like(parts[0]), int(parts[1])))
    return rows


def read_goemotions(path: Path) -> list[tuple[str, int]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            labels = {int(x) for x in parts[1].split(",") if x.isdigit()}
            angry = not ANGRY_IDS.isdisjoint(labels)
            if not angry and DISAPPROVAL in labels:
                continue
            rows.append((asr_like(parts[0]), int(angry)))
    return rows


def read_vader_positive(folder: Path) -> list[tuple[str, int]]:
    rows = []
    for name in ("amazonReviewSnippets", "movieReviewSnippets", "nytEditorialSnippets"):
        with open(folder / f"{name}_GroundTruth.txt", encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.rstrip("\r\n").split("\t")
                if len(parts) >= 3 and float(parts[1]) >= 1.0:
                    rows.append((asr_like("\t".join(parts[2:])), 0))
    return rows


def dense_of(scorer: TurnScorer, texts: list[str]) -> list[tuple[float, ...]]:
    return [dense_inputs(*anger_inputs(scorer.score(text, anger=False))) for text in texts]


def design(texts: list[str], dense: list[tuple[float, ...]]):  # type: ignore[no-untyped-def]
    from scipy import sparse

    rows, cols, vals, d = feature_rows(texts, dense, HASH_BITS)
    size = 1 << HASH_BITS
    hashed = sparse.csr_matrix(
        (np.array(vals, dtype=np.float64), (np.array(rows), np.array(cols))), shape=(len(texts), size)
    )
    hashed.sum_duplicates()
    return sparse.hstack([hashed, sparse.csr_matrix(np.array(d) * DENSE_SCALE)]).tocsr()


def auc(scores: list[float], labels: list[int]) -> float:
    """Area under the ROC curve (ties count half)."""
    order = sorted(zip(scores, labels, strict=True))
    pos = sum(labels)
    neg = len(labels) - pos
    rank_sum, i = 0.0, 0
    while i < len(order):
        j = i
        while j < len(order) and order[j][0] == order[i][0]:
            j += 1
        rank = (i + j + 1) / 2
        rank_sum += rank * sum(lab for _, lab in order[i:j])
        i = j
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz numpy reads with np.load(allow_pickle=False); fixed dates, so reproducible bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, member.getvalue(), compresslevel=9)
    data = buffer.getvalue()
    path.write_bytes(data)
    return data


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--extra", type=Path, action="append", default=[], help="a team's own labelled TSV")
    parser.add_argument("--lines-weight", type=float, default=3.0, help="weight of caller lines (default 3)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"model file (default {OUT.relative_to(ROOT)})")
    parser.add_argument("--no-goemotions", action="store_true", help="fit on caller lines (+extra) only")
    args = parser.parse_args()

    from sklearn.linear_model import LogisticRegression

    data: list[tuple[str, int, float, str]] = []
    if not args.no_goemotions:
        if not EVAL.is_dir():
            print(f"training data not found at {EVAL} (set HEATMON_EVAL)", file=sys.stderr)
            return 2
        goemotions = read_goemotions(EVAL / "goemotions" / "train.tsv")
        vader = read_vader_positive(EVAL / "vader_groundtruth")
        data += [(t, y, 1.0, "goemotions") for t, y in goemotions]
        data += [(t, y, 1.0, "vader") for t, y in vader]
        log(f"GoEmotions train: {len(goemotions)} rows, {sum(y for _, y in goemotions)} angry")
        log(f"VADER ground truth (rated +1 or more, not angry): {len(vader)} rows")
    for path in [LINES, *args.extra]:
        lines = read_lines(path)
        data += [(t, y, args.lines_weight, path.name) for t, y in lines]
        log(f"{path.name}: {len(lines)} lines, {sum(y for _, y in lines)} angry")

    scorer = TurnScorer()
    texts = [t for t, _, _, _ in data]
    log(f"features for {len(texts)} texts ({1 << HASH_BITS} hash buckets + {len(DENSE)} dense inputs)")
    x = design(texts, dense_of(scorer, texts))
    y = np.array([lab for _, lab, _, _ in data])
    w = np.array([weight for _, _, weight, _ in data])
    log(f"fitting logistic regression (C={C}, seed {SEED})")
    model = LogisticRegression(C=C, solver="lbfgs", max_iter=5000, tol=1e-6, random_state=SEED)
    model.fit(x, y, sample_weight=w)
    coef = model.coef_[0]
    size = 1 << HASH_BITS
    weights = coef[:size].astype(np.float16)
    dense = coef[size:].astype(np.float32)
    bias = np.float32(model.intercept_[0])
    log(f"fitted in {model.n_iter_[0]} iterations; {int(np.count_nonzero(weights))} non-zero buckets")

    config = {
        "format": FORMAT,
        "hash_bits": HASH_BITS,
        "dense": list(DENSE),
        "dense_scale": DENSE_SCALE,
        "context_weight": CONTEXT_WEIGHT,
        "score_onset": SCORE_ONSET,
        "score_weight": SCORE_WEIGHT,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    blob = write_npz(
        args.out,
        {
            "weights": weights,
            "dense": dense,
            "bias": np.array(bias, dtype=np.float32),
            "config": np.array(json.dumps(config, sort_keys=True)),
        },
    )
    digest = hashlib.sha256(blob).hexdigest()
    log(f"wrote {args.out} ({len(blob) / 1e6:.2f} MB, sha256 {digest[:16]})")

    loaded = AngerModel.from_file(args.out)
    heldout = read_lines(HELDOUT) if HELDOUT.is_file() else []
    metrics: dict[str, float] = {}
    if heldout:
        dense_h = dense_of(scorer, [t for t, _ in heldout])
        probs = [
            loaded.read(t, *d[:4], explain=False).probability
            for (t, _), d in zip(heldout, dense_h, strict=True)
        ]
        metrics["heldout_caller_lines_auc"] = round(auc(probs, [lab for _, lab in heldout]), 4)
        log(f"held-out caller lines ({len(heldout)}): AUC {metrics['heldout_caller_lines_auc']:.4f}")
    if args.out == OUT:
        manifest = {
            "model": args.out.name,
            "sha256": digest,
            "trained_on": {
                "goemotions_train": "Apache-2.0; anger+annoyance+disgust = angry, disapproval-only left out",
                "vader_groundtruth": "MIT; amazon, movie, nyt snippets rated >= +1 as not angry",
                "caller_lines": f"{LINES.name}, written by the heatmon project, weight {args.lines_weight}",
            },
            "never_trained_on": [
                HELDOUT.name,
                "GoEmotions dev",
                "EmoContext",
                "MELD",
                "DailyDialog",
                "VADER tweets",
            ],
            "seed": SEED,
            "C": C,
            "config": config,
            "rows": {name: sum(1 for *_, s in data if s == name) for name in sorted({s for *_, s in data})},
            "metrics": metrics,
        }
        path = args.out.with_name("manifest.json")
        path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
