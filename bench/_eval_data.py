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


def emocontext_turns(split: str = "valid") -> list[tuple[str, str, bool]]:
    """EmoContext rows as (turn 1, turn 3, angry): turn 1 is the same user's previous turn."""
    rows = []
    with open(require_eval() / "emocontext" / f"{split}.txt", encoding="utf-8") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 5:
                rows.append((parts[1], parts[3], parts[4].strip() == "angry"))
    return rows


#: GoEmotions label ids counted as angry: anger, annoyance, disgust.
GOEMOTIONS_ANGRY = frozenset({2, 3, 11})


def goemotions(split: str = "dev") -> list[tuple[str, bool]]:
    """GoEmotions comments and whether any label is anger, annoyance or disgust."""
    rows = []
    with open(require_eval() / "goemotions" / f"{split}.tsv", encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2:
                labels = {int(x) for x in parts[1].split(",") if x.strip().isdigit()}
                rows.append((parts[0], not GOEMOTIONS_ANGRY.isdisjoint(labels)))
    return rows


def dailydialog() -> list[tuple[str, bool]]:
    """DailyDialog validation utterances and whether the emotion is anger (1) or disgust (2)."""
    folder = require_eval() / "dailydialog" / "validation"
    rows = []
    with (
        open(folder / "dialogues_validation.txt", encoding="utf-8") as texts,
        open(folder / "dialogues_emotion_validation.txt", encoding="utf-8") as emotions,
    ):
        for dialogue, labels in zip(texts, emotions, strict=False):
            utterances = [u.strip() for u in dialogue.split("__eou__")][:-1]
            for utterance, label in zip(utterances, labels.split(), strict=False):
                rows.append((utterance, label in ("1", "2")))
    return rows
