"""heatmon's turn score once the anger layer has read the turn, on VADER's valence scale.

VADER's compound is a normalised raw valence sum, and the normalisation is invertible, so the
score can be moved on the raw scale (where a strongly negative word is about -3) and normalised
back: the same -1..1 scale as `compound`. Pure functions of the score and P(angry).
"""

from __future__ import annotations

import math

#: VADER's normalisation constant: compound = x / sqrt(x*x + ALPHA) (as in monitor.sentiment).
_ALPHA = 15.0


def normalize(x: float) -> float:
    """VADER's compound normalisation of a raw valence sum, to -1..1."""
    return max(-1.0, min(1.0, x / math.sqrt(x * x + _ALPHA)))


def raw_sum(compound: float) -> float:
    """The raw valence sum VADER normalised into `compound` (the inverse of `normalize`)."""
    c = max(-0.9999, min(0.9999, compound))
    return c * math.sqrt(_ALPHA / (1.0 - c * c))


def follow_anger(
    score: float, probability: float, onset: float, weight: float, calm_negative: float = 1.0
) -> float:
    """`score` (VADER + lexicon) once the anger layer's P(angry) is known.

    With h rising from 0 at `onset` to 1 at certainty, VADER's positive valence fades out by
    h = 0.5 (x 1-2h: sarcasm borrows polite words) and `weight` x h is taken off, on VADER's raw
    valence scale, so a confident reading decides the score. Below the onset the layer hears
    no anger: the turn's negative valence is kept in full at the onset, and at
    `calm_negative` of it at P(angry) = 0 (sad or worried is not hot), so heat follows the
    layer there too while the general-sentiment scale keeps its order.
    """
    x = raw_sum(score)
    if probability <= onset:
        if x >= 0 or calm_negative >= 1.0:
            return score
        x *= calm_negative + (1.0 - calm_negative) * probability / onset
        return round(normalize(x), 4) + 0.0
    h = (probability - onset) / (1.0 - onset)
    if x > 0:
        x *= max(0.0, 1.0 - 2.0 * h)
    return round(normalize(x - weight * h), 4) + 0.0
