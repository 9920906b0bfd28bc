"""The learned caller-anger layer: how likely a caller turn is angry, annoyed or contemptuous.

A logistic regression over hashed features of ASR-like text (lowercase, no punctuation, digits
dropped): word 1-2-grams and character 2-5-grams inside word boundaries, plus VADER's
`compound`, `neg`, `pos` and the lexicon's turn score. The model is a data file
(`models/anger/anger_model.npz`, loaded with numpy alone); `scripts/train_anger.py` builds it.

Features are exactly those of the training script (both build them in
`monitor.analysis.anger_features`), and cheap at run time: a word's character n-grams depend on
the word alone, so their summed weight is cached per word, and a turn costs one lookup per word
and one hash per word pair.

Explanations come from the turn itself: each word's and word pair's share of the logit; the
largest positive shares are the n-grams that pushed the turn hot.
"""

from __future__ import annotations

import json
import math
import zipfile
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from monitor.analysis.anger_features import (
    CHAR_SEED,
    DENSE,
    DIGITS,
    WORD_SEED,
    bucket,
    char_ngrams,
    word_pairs,
    words_of,
)
from monitor.analysis.anger_score import follow_anger
from monitor.errors import InputError
from monitor.paths import BUNDLED_MODELS

BUNDLED_ANGER_MODEL = BUNDLED_MODELS / "anger" / "anger_model.npz"

#: Model file format this code reads.
FORMAT = 1
#: Words whose character sums are cached, at most (the cache is emptied when full).
CACHE_WORDS = 50_000


@dataclass(frozen=True)
class ModelConfig:
    """What the feature extraction needs to know of a model (stored in the model file)."""

    hash_bits: int
    dense_scale: float
    #: How much of the previous caller turn's excess anger carries into this one (logit units).
    context_weight: float
    #: P(angry) at which heatmon's score starts to move toward negative.
    score_onset: float
    #: How far a certain P(angry) moves the score, on VADER's raw valence scale.
    score_weight: float
    #: The share of a turn's negative valence kept when the layer hears no anger at all.
    calm_negative: float = 1.0


class AngerReading(NamedTuple):
    """The layer's reading of one caller turn."""

    #: P(angry, annoyed or contemptuous), with the previous caller turn as context.
    probability: float
    #: This turn's own logit (no context): what the next caller turn reads as its context.
    own_logit: float
    #: The n-grams that pushed the turn hot, strongest first, with their share of the logit.
    ngrams: tuple[tuple[str, float], ...]
    #: The same n-grams as the caller said them: overlapping or touching ones joined, in the
    #: turn's order ("nobody told me", not "nobody told, told me").
    phrases: tuple[str, ...] = ()

    def label(self, limit: int = 3) -> str:
        """The explanation for heat reasons and alert evidence: 'sounds angry: joke, you people'."""
        said = self.phrases or tuple(g for g, _ in self.ngrams[:limit])
        return "sounds angry: " + ", ".join(said)


class AngerModel:
    """A loaded anger model. Build one per file (`bundled_anger_model()`) and share it."""

    def __init__(
        self,
        weights: np.ndarray,
        dense: Sequence[float],
        bias: float,
        config: ModelConfig,
        source: str = "<memory>",
    ) -> None:
        size = 1 << config.hash_bits
        if weights.shape != (size,) or len(dense) != len(DENSE):
            raise InputError(f"anger model {source}: weights do not match its config")
        self.config = config
        self.source = source
        self.mask = size - 1
        # array('f') indexes to a Python float without numpy's per-item overhead.
        self._w = array("f", np.asarray(weights, dtype=np.float32).tobytes())
        self._dense = tuple(float(d) * config.dense_scale for d in dense)
        self.bias = float(bias)
        self._words: dict[str, tuple[float, float, int]] = {}
        self._pairs: dict[tuple[str, str], float] = {}

    @staticmethod
    def from_file(path: str | Path) -> AngerModel:
        """Read a model file (numpy .npz, no pickles); raise InputError naming the problem."""
        try:
            with np.load(path, allow_pickle=False) as data:
                config = json.loads(str(np.asarray(data["config"]).reshape(-1)[0]))
                if config.get("format") != FORMAT:
                    raise InputError(
                        f"anger model {path}: format {config.get('format')!r}, expected {FORMAT}"
                    )
                return AngerModel(
                    np.asarray(data["weights"]),
                    [float(x) for x in data["dense"]],
                    float(np.asarray(data["bias"]).reshape(-1)[0]),
                    ModelConfig(
                        hash_bits=int(config["hash_bits"]),
                        dense_scale=float(config["dense_scale"]),
                        context_weight=float(config["context_weight"]),
                        score_onset=float(config["score_onset"]),
                        score_weight=float(config["score_weight"]),
                        calm_negative=float(config.get("calm_negative", 1.0)),
                    ),
                    str(path),
                )
        except InputError:
            raise
        except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
            raise InputError(f"anger model {path}: cannot read it ({err})") from err

    def _word(self, word: str) -> tuple[float, float, int]:
        """(summed weight of the word's character n-grams, its unigram weight, how many n-grams)."""
        cached = self._words.get(word)
        if cached is None:
            w, mask = self._w, self.mask
            grams = char_ngrams(word)
            chars = sum(w[bucket(g, CHAR_SEED, mask)] for g in grams)
            cached = (chars, w[bucket(word, WORD_SEED, mask)], len(grams))
            if len(self._words) >= CACHE_WORDS:
                self._words.clear()
            self._words[word] = cached
        return cached

    def _pair(self, first: str, second: str) -> float:
        """The weight of a word pair (cached like words)."""
        weight = self._w[bucket(f"{first} {second}", WORD_SEED, self.mask)]
        if len(self._pairs) >= CACHE_WORDS:
            self._pairs.clear()
        self._pairs[(first, second)] = weight
        return weight

    def read(
        self,
        text: str,
        compound: float,
        neg: float,
        pos: float,
        lexicon: float,
        previous_logit: float | None = None,
        *,
        tokens: list[str] | None = None,
        explain: bool | None = None,
    ) -> AngerReading:
        """P(angry) of a caller turn given VADER's figures and the lexicon score of the same text.

        `previous_logit` is the previous caller turn's `own_logit`: anger carries over from it
        (a curt "so what" after a rant), never calm. `tokens` may pass `tokens_of(text)` when the
        caller has it already. The n-grams behind the reading are worked out when `explain` is
        true, or by default when the turn reads at least `EXPLAIN_FROM` angry.
        """
        words = tokens if tokens is not None and not DIGITS.search(text) else words_of(text)
        d = self._dense
        z = (
            self.bias
            + d[0] * compound
            + d[1] * neg
            + d[2] * pos
            + d[3] * lexicon
            + (d[4] * lexicon if lexicon < 0 else 0.0)
        )
        per_word: list[tuple[float, float, int]] = []
        pair_weights: list[float] = []
        char_norm = word_norm = 0.0
        if words:
            cache, pairs = self._words, self._pairs
            chars = units = 0.0
            n_chars = 0
            previous = ""
            for word in words:
                got = cache.get(word)
                if got is None:
                    got = self._word(word)
                per_word.append(got)
                chars += got[0]
                units += got[1]
                n_chars += got[2]
                if previous:
                    weight = pairs.get((previous, word))
                    if weight is None:
                        weight = self._pair(previous, word)
                    pair_weights.append(weight)
                    units += weight
                previous = word
            char_norm = 1.0 / math.sqrt(n_chars)
            word_norm = 1.0 / math.sqrt(2 * len(words) - 1)
            z += chars * char_norm + units * word_norm
        own = z
        if previous_logit is not None and previous_logit > z:
            z += self.config.context_weight * (previous_logit - z)
        probability = _sigmoid(z)
        chosen: list[tuple[str, float, int]] = []
        if words and (explain or (explain is None and probability >= EXPLAIN_FROM)):
            chosen = _top_shares(
                words,
                [c * char_norm + u * word_norm for c, u, _ in per_word],
                word_pairs(words),
                [p * word_norm for p in pair_weights],
            )
        shares = tuple((gram, share) for gram, share, _ in chosen)
        return AngerReading(probability, own, shares, _phrases(words, chosen))

    def blend(self, score: float, probability: float) -> float:
        """heatmon's turn score once the layer has read the turn: `score` moved toward negative.

        See `monitor.analysis.anger_score.follow_anger`: a confident reading decides the score,
        and a turn the layer hears no anger in keeps only part of its negative valence.
        """
        c = self.config
        return follow_anger(score, probability, c.score_onset, c.score_weight, c.calm_negative)


def _top_shares(
    words: Sequence[str], word_shares: Sequence[float], pairs: Sequence[str], pair_shares: Sequence[float]
) -> list[tuple[str, float, int]]:
    """The n-grams with the largest positive share of the logit, at most three, strongest first,
    each with the index of its first word where it counted most.

    A pair counts with its own words' shares (what the listener hears is "you people", not
    "people"), and a word already inside a chosen pair is not listed again.
    """
    candidates: dict[str, tuple[float, int]] = {}
    for i, pair in enumerate(pairs):
        total = pair_shares[i] + word_shares[i] + word_shares[i + 1]
        if pair_shares[i] > 0 and total > candidates.get(pair, (0.0, 0))[0]:
            candidates[pair] = (total, i)
    for i, (word, share) in enumerate(zip(words, word_shares, strict=True)):
        if share > candidates.get(word, (0.0, 0))[0]:
            candidates[word] = (share, i)
    chosen: list[tuple[str, float, int]] = []
    for gram, (share, at) in sorted(candidates.items(), key=lambda kv: (-kv[1][0], kv[0])):
        if share < EXPLAIN_MIN_SHARE or len(chosen) == 3:
            break
        inside = set(gram.split())
        if any(inside <= set(g.split()) or set(g.split()) <= inside for g, _, _ in chosen):
            continue
        chosen.append((gram, round(share, 3), at))
    return chosen


def _phrases(words: Sequence[str], chosen: Sequence[tuple[str, float, int]]) -> tuple[str, ...]:
    """The chosen n-grams as stretches of the turn: those that overlap or touch are one phrase,
    listed in the order the caller said them."""
    spans = sorted((at, at + len(gram.split())) for gram, _, at in chosen)
    joined: list[list[int]] = []
    for start, end in spans:
        if joined and start <= joined[-1][1]:
            joined[-1][1] = max(joined[-1][1], end)
        else:
            joined.append([start, end])
    return tuple(" ".join(words[start:end]) for start, end in joined)


#: From this P(angry) on, a reading works out the n-grams behind it unless told otherwise.
EXPLAIN_FROM = 0.3
#: A share of the logit below this is not worth showing as a reason.
EXPLAIN_MIN_SHARE = 0.25


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@lru_cache(maxsize=1)
def bundled_anger_model() -> AngerModel:
    """The model shipped in `models/anger/`, read once per process."""
    return AngerModel.from_file(BUNDLED_ANGER_MODEL)
