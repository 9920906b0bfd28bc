"""Turn scoring: raw VADER plus heatmon's domain layer, fitted to speech-recognizer text.

This is the only module that imports vaderSentiment. ASR text is lowercase and has no
punctuation, so VADER's caps and "!" boosts never fire and call-centre complaints ("third
time calling", "speak to your manager") score 0. The domain layer adds their valence on
VADER's own scale: the raw VADER sum is recovered from `compound` (VADER's normalisation
is invertible), the cues' valences are added, and the sum is normalised the same way. So
`score` lives on the same -1..1 scale as `compound` and costs one VADER pass per turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from monitor.lexicon import Lexicon, bundled_lexicon, tokens_of

#: VADER's normalisation constant: compound = x / sqrt(x*x + ALPHA).
_ALPHA = 15.0


@dataclass(frozen=True, slots=True)
class Cue:
    """One lexicon match in a turn: what matched, its category, and the valence it added."""

    category: str
    phrase: str
    valence: float

    def label(self) -> str:
        return f"{self.category}: {self.phrase}"


@dataclass(frozen=True, slots=True)
class TurnScore:
    """Raw VADER figures and heatmon's score of one caller turn."""

    compound: float
    neg: float
    neu: float
    pos: float
    score: float
    cues: tuple[Cue, ...]

    def sentiment(self) -> dict[str, float]:
        """The wire contract's `sentiment` object: raw VADER, plus heatmon's `score`."""
        return {
            "compound": self.compound,
            "neg": self.neg,
            "neu": self.neu,
            "pos": self.pos,
            "score": self.score,
        }

    def categories(self) -> frozenset[str]:
        return frozenset(c.category for c in self.cues)


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    # Loading VADER reads its lexicon files (~50 ms); many calls share one analyzer.
    return SentimentIntensityAnalyzer()


def normalize(x: float) -> float:
    """VADER's compound normalisation of a raw valence sum, to -1..1."""
    return max(-1.0, min(1.0, x / math.sqrt(x * x + _ALPHA)))


def raw_sum(compound: float) -> float:
    """The raw valence sum VADER normalised into `compound` (the inverse of `normalize`)."""
    c = max(-0.9999, min(0.9999, compound))
    return c * math.sqrt(_ALPHA / (1.0 - c * c))


class TurnScorer:
    """Scores caller turns. Build one per lexicon (cheap after the first) and reuse it."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or bundled_lexicon()
        self._vader = _vader()
        self._index = self.lexicon.by_first_word
        self._settings = self.lexicon.settings
        # A slip cancels what VADER gives the phrase on its own ("no worries" reads as -0.6).
        self._slips = {
            s: -raw_sum(self._vader.polarity_scores(" ".join(s))["compound"]) for s in self.lexicon.slips
        }
        self._slip_first = {s[0] for s in self._slips}

    def score(self, text: str) -> TurnScore:
        """VADER's figures for `text` as given, and heatmon's score with the cues that moved it."""
        vs = self._vader.polarity_scores(text)
        compound = float(vs["compound"])
        words = tokens_of(text)
        cues = self._cues(words)
        x = raw_sum(compound) if compound else 0.0
        settings = self._settings
        if x < 0 and settings.directed_factor != 1.0 and not settings.second_person.isdisjoint(words):
            x *= settings.directed_factor
        x += sum(c.valence for c in cues)
        return TurnScore(
            compound=compound,
            neg=float(vs["neg"]),
            neu=float(vs["neu"]),
            pos=float(vs["pos"]),
            score=round(normalize(x), 4) + 0.0 if x else 0.0,
            cues=cues,
        )

    def _cues(self, words: list[str]) -> tuple[Cue, ...]:
        found: list[Cue] = []
        index, slips, slip_first = self._index, self._slips, self._slip_first
        negators, window = self._settings.negators, self._settings.negation_window
        i, n, slip_until = 0, len(words), 0
        while i < n:
            word = words[i]
            if word in slip_first and i >= slip_until:
                for slip, correction in slips.items():
                    if tuple(words[i : i + len(slip)]) == slip:
                        found.append(Cue("slip", " ".join(slip), correction))
                        slip_until = i + len(slip)
                        break
            step = 1
            # A slip does not hide a cue starting at the same word ("ill find you" after "ill").
            candidates = index.get(word)
            if candidates:
                for entry in candidates:
                    size = len(entry.words)
                    if size == 1 or tuple(words[i : i + size]) == entry.words:
                        if negators.isdisjoint(words[max(0, i - window) : i]):
                            found.append(Cue(entry.category, entry.phrase, entry.valence))
                        step = size
                        break
            i += step
        return tuple(found)
