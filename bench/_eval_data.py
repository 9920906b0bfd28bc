"""Readers for the shared evaluation data (`../shared/eval`), used by the benchmarks only."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

EVAL = Path(os.environ.get("HEATMON_EVAL", Path(__file__).resolve().parent.parent.parent / "shared" / "eval"))


def require_eval() -> Path:
    """The eval folder, or exit non-zero with a clear message when it is absent."""
    if not EVAL.is_dir():
        print(f"evaluation data not found at {EVAL} (set HEATMON_EVAL); nothing measured", file=sys.stderr)
        raise SystemExit(2)
    return EVAL


def emocontext(split: str = "valid") -> list[tuple[str, bool]]:
    """EmoContext turn 3 texts and whether the label is 'angry'."""
    rows = []
    with open(require_eval() / "emocontext" / f"{split}.txt", encoding="utf-8") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 5:
                rows.append((parts[3], parts[4].strip() == "angry"))
    return rows


def meld(split: str = "dev") -> list[tuple[str, bool]]:
    """MELD utterances and whether the emotion is anger or disgust."""
    with open(require_eval() / "meld" / f"{split}_sent_emo.csv", encoding="utf-8") as f:
        return [(r["Utterance"], r["Emotion"] in ("anger", "disgust")) for r in csv.DictReader(f)]


def tweets() -> list[tuple[str, float]]:
    """VADER's tweet ground truth: text and mean human rating (-4..+4)."""
    rows = []
    path = require_eval() / "vader_groundtruth" / "tweets_GroundTruth.txt"
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) >= 3:
                rows.append(("\t".join(parts[2:]), float(parts[1])))
    return rows
