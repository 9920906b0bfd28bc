"""Scoring a long text gives VADER's own figures, in time linear in its length."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer, SentiText

from monitor.analysis import sentiment
from monitor.analysis.sentiment import TurnScorer

#: Words that exercise every check VADER makes around a sentiment word: negation, boosters,
#: "no", "least", "kind of", idioms ("cut the mustard", "the bomb"), caps, "but", emoji.
VOCAB = [
    "no",
    "not",
    "never",
    "so",
    "this",
    "without",
    "doubt",
    "least",
    "at",
    "very",
    "kind",
    "of",
    "sort",
    "really",
    "extremely",
    "barely",
    "but",
    "good",
    "bad",
    "GREAT",
    "awful",
    "happy",
    "the",
    "bomb",
    "cut",
    "mustard",
    "hand",
    "to",
    "mouth",
    "yeah",
    "right",
    "nor",
    "or",
    "isn't",
    "help",
    "i",
    "am",
    "upset",
    "!",
    "wait",
    "nobody",
    "😀",
    "café",
    "lol",
    "love",
]
VADER = SentimentIntensityAnalyzer()
SCORER = TurnScorer()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(VOCAB), min_size=0, max_size=60))
def test_windowed_scoring_matches_vader_exactly(words: list[str]) -> None:
    """For any text of VADER's tricky words (short or long, ASCII or not), the figures are
    exactly those of VADER's polarity_scores."""
    text = " ".join(words)
    got = SCORER.score(text)
    want = VADER.polarity_scores(text)
    assert (got.compound, got.neg, got.neu, got.pos) == tuple(
        want[k] for k in ("compound", "neg", "neu", "pos")
    )


def test_scoring_work_grows_linearly_with_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """VADER's per-word checks see a bounded window: the words they lowercase grow with the
    text's length, not with its square (counted, not timed)."""
    seen: list[int] = []
    real = sentiment._near

    def counting(sentitext: SentiText, i: int) -> tuple[SentiText, int]:
        near, at = real(sentitext, i)
        seen.append(len(near.words_and_emoticons))
        return near, at

    monkeypatch.setattr(sentiment, "_near", counting)
    for n in (500, 2000):
        seen.clear()
        SCORER.score(" ".join(["not good at all"] * (n // 4)))
        assert seen and max(seen) <= 7 and len(seen) <= n
