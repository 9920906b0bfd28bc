"""The anger layer's features: what of a caller turn the logistic regression reads.

ASR-like text (lowercase, no punctuation, digits dropped): word 1-2-grams and character
2-5-grams inside word boundaries, hashed into one table, plus VADER's `compound`, `neg`, `pos`
and the lexicon's turn score as dense inputs. Buckets are CRC-32 of the n-gram's UTF-8 bytes
(stable across processes and platforms), never Python's `hash()`. The run-time model
(`monitor.analysis.anger`) and the training script both build features from here, so they
cannot drift apart.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable, Sequence
from itertools import pairwise

from monitor.analysis.lexicon import tokens_of

#: Starting CRC values: word n-grams and character n-grams hash into one table, apart.
WORD_SEED = 0x5A17
CHAR_SEED = 0xC4A2
#: Character n-gram sizes (of the word padded with a space each side).
CHAR_SIZES = (2, 3, 4, 5)
#: Longer words are cut to this many characters for their character n-grams (no spoken word is
#: longer; a 200 KB "word" from a broken feed costs no more than this).
MAX_WORD = 32
#: The dense inputs, in the order of the model's `dense` weights.
DENSE = ("compound", "neg", "pos", "lexicon", "lexicon_negative")

DIGITS = re.compile(r"[0-9]+")


def words_of(text: str) -> list[str]:
    """The words the layer reads: ASR-like (lowercase, no punctuation), digits dropped."""
    if DIGITS.search(text):
        text = DIGITS.sub(" ", text)
    return tokens_of(text)


def char_ngrams(word: str) -> list[str]:
    """The character n-grams of one word, padded with a space each side (" hi " -> " h", "hi", ...)."""
    padded = f" {word[:MAX_WORD]} "
    size = len(padded)
    return [padded[i : i + n] for n in CHAR_SIZES for i in range(size - n + 1)]


def bucket(gram: str, seed: int, mask: int) -> int:
    """The hash bucket of an n-gram: CRC-32 of its UTF-8 bytes from `seed`, masked to the table."""
    return zlib.crc32(gram.encode("utf-8", "surrogatepass"), seed) & mask


def word_pairs(words: Sequence[str]) -> list[str]:
    """Adjacent word pairs ("you people")."""
    return [f"{a} {b}" for a, b in pairwise(words)]


def dense_inputs(compound: float, neg: float, pos: float, lexicon: float) -> tuple[float, ...]:
    """The dense inputs in `DENSE` order, from VADER's figures and the lexicon's turn score."""
    return (compound, neg, pos, lexicon, min(lexicon, 0.0))


def feature_rows(
    texts: Iterable[str], dense_rows: Iterable[Sequence[float]], hash_bits: int
) -> tuple[list[int], list[int], list[float], list[list[float]]]:
    """Sparse rows of the training matrix, built exactly as `AngerModel.read` weighs a turn.

    Returns (row index, column, value) triples flattened, and the dense inputs per row; the
    caller scales the dense inputs by the model's `dense_scale`. Used by the training script.
    """
    mask = (1 << hash_bits) - 1
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    dense: list[list[float]] = []
    char_cache: dict[str, list[int]] = {}
    for r, (text, d) in enumerate(zip(texts, dense_rows, strict=True)):
        dense.append(list(d))
        words = words_of(text)
        if not words:
            continue
        grams: list[list[int]] = []
        for word in words:
            got = char_cache.get(word)
            if got is None:
                got = [bucket(g, CHAR_SEED, mask) for g in char_ngrams(word)]
                char_cache[word] = got
            grams.append(got)
        char_norm = 1.0 / math.sqrt(sum(len(g) for g in grams))
        word_norm = 1.0 / math.sqrt(2 * len(words) - 1)
        for g in grams:
            rows.extend([r] * len(g))
            cols.extend(g)
            vals.extend([char_norm] * len(g))
        units = [bucket(w, WORD_SEED, mask) for w in words] + [
            bucket(p, WORD_SEED, mask) for p in word_pairs(words)
        ]
        rows.extend([r] * len(units))
        cols.extend(units)
        vals.extend([word_norm] * len(units))
    return rows, cols, vals, dense
