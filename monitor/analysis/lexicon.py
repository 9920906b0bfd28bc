"""The domain lexicon: call-centre words and phrases that VADER scores 0 or wrongly.

The lexicon is data (`models/lexicon.json`), so a team edits it without touching code.
Its keys are documented in the file's own `about` entries; in short:

- `settings`: numbers the turn scorer uses (see `ScoreSettings`).
- `categories`: name -> {`about`, `valence`, `entries`}; every entry is a word or phrase
  (matched on whole words of ASR-like text) with an optional own valence, on VADER's scale
  (-4 .. +4). A category's `valence` is the default for its entries.
- `slips`: phrases VADER gets wrong; their words' VADER valence is cancelled.

Phrases may have spaces (VADER's own lexicon update ignores such keys, which is why heatmon
matches them itself). Apostrophes are dropped on both sides, so "don't" matches "dont".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from monitor.datafile import load_json
from monitor.errors import InputError
from monitor.paths import BUNDLED_MODELS

BUNDLED_LEXICON = BUNDLED_MODELS / "lexicon.json"

_APOSTROPHES = re.compile(r"['’`´]")
_NOT_WORD = re.compile(r"[^\w]+")
_PLAIN = re.compile(r"[a-z0-9' ]*")


def asr_like(text: str) -> str:
    """Text as a speech recognizer gives it: lowercase, no punctuation, single spaces."""
    return " ".join(_NOT_WORD.sub(" ", _APOSTROPHES.sub("", text.lower()).replace("_", " ")).split())


def tokens_of(text: str) -> list[str]:
    """The whole words of a text, ASR-like, the form both lexicon keys and turns are matched in."""
    if _PLAIN.fullmatch(text):
        # Recognizer output is already lowercase words (Vosk keeps apostrophes): the fast path.
        return text.replace("'", "").split()
    return _NOT_WORD.sub(" ", _APOSTROPHES.sub("", text.lower()).replace("_", " ")).split()


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    """One word or phrase of the domain layer."""

    phrase: str
    words: tuple[str, ...]
    category: str
    valence: float


@dataclass(frozen=True, slots=True)
class ScoreSettings:
    """The turn scorer's knobs; the same values for every data set (see lexicon.json)."""

    #: Negative VADER sentiment aimed at the listener ("you ...") reads as anger, not sadness.
    directed_factor: float = 1.0
    #: Words that address the listener, for `directed_factor`.
    second_person: frozenset[str] = frozenset()
    #: Words that cancel a following cue within `negation_window` words ("not angry").
    negators: frozenset[str] = frozenset()
    negation_window: int = 3


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The domain layer: entries indexed by their first word for a fast scan of a turn."""

    entries: tuple[LexiconEntry, ...]
    slips: tuple[tuple[str, ...], ...]
    settings: ScoreSettings
    source: str
    #: Entries by their first word, longest phrase first ("not working" before "not"), then strongest.
    by_first_word: Mapping[str, tuple[LexiconEntry, ...]] = field(
        default_factory=dict, hash=False, compare=False, repr=False
    )
    #: Slips that are the real word when negated ("i dont like this": VADER's negated reading stands).
    negated_stand: frozenset[tuple[str, ...]] = frozenset()

    @staticmethod
    def from_file(path: str | Path) -> Lexicon:
        """Read a lexicon JSON file; raise InputError naming the file and the problem."""
        return Lexicon.from_dict(load_json(path, "lexicon"), source=str(path))

    @staticmethod
    def from_dict(data: Any, *, source: str = "<dict>") -> Lexicon:
        """Build a lexicon from decoded JSON; raise InputError on a key of the wrong shape."""
        if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
            raise InputError(f"lexicon {source}: needs an object with 'categories'")
        entries: list[LexiconEntry] = []
        for category, body in data["categories"].items():
            if not isinstance(body, dict) or not isinstance(body.get("entries"), (dict, list)):
                raise InputError(f"lexicon {source}: category {category!r} needs 'entries'")
            default = _number(body.get("valence", -1.0), f"{source}: {category}.valence")
            raw = body["entries"]
            items = raw.items() if isinstance(raw, dict) else ((p, None) for p in raw)
            for phrase, own in items:
                words = tuple(tokens_of(str(phrase)))
                if not words:
                    raise InputError(f"lexicon {source}: empty entry in {category!r}")
                valence = default if own is None else _number(own, f"{source}: {category}.{phrase}")
                entries.append(LexiconEntry(" ".join(words), words, str(category), valence))
        slips = tuple(tuple(tokens_of(str(p))) for p in _slip_phrases(data.get("slips", {}), source))
        return Lexicon(
            tuple(entries),
            tuple(s for s in slips if s),
            _settings(data, source),
            source,
            _index(entries),
            _when_negated(data.get("slips", {}), source),
        )


def _slip_phrases(raw: Any, source: str) -> list[str]:
    """Slip entries, plus each lost contraction ("ill" = "i'll") before each listed follower."""
    if not isinstance(raw, dict):
        raise InputError(f"lexicon {source}: 'slips' must be an object")
    phrases = [str(p) for p in raw.get("entries", [])]
    lost = raw.get("lost_apostrophes", {})
    for word in lost.get("words", []):
        phrases.extend(f"{word} {follower}" for follower in lost.get("followers", []))
    return phrases


def _when_negated(raw: Any, source: str) -> frozenset[tuple[str, ...]]:
    """`slips.when_negated`: the slips that are the real word when a negator comes before them."""
    when = raw.get("when_negated", []) if isinstance(raw, dict) else []
    if not isinstance(when, list):
        raise InputError(f"lexicon {source}: 'slips.when_negated' must be a list")
    return frozenset(t for t in (tuple(tokens_of(str(p))) for p in when) if t)


def _settings(data: dict[str, Any], source: str) -> ScoreSettings:
    raw = data.get("settings", {})
    if not isinstance(raw, dict):
        raise InputError(f"lexicon {source}: 'settings' must be an object")
    return ScoreSettings(
        directed_factor=_number(raw.get("directed_factor", 1.0), f"{source}: directed_factor"),
        second_person=frozenset(tokens_of(" ".join(raw.get("second_person", [])))),
        negators=frozenset(tokens_of(" ".join(raw.get("negators", [])))),
        negation_window=int(_number(raw.get("negation_window", 3), f"{source}: negation_window")),
    )


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"lexicon {where} must be a number, not {value!r}")
    return float(value)


def _index(entries: list[LexiconEntry]) -> dict[str, tuple[LexiconEntry, ...]]:
    index: dict[str, list[LexiconEntry]] = {}
    for entry in entries:
        index.setdefault(entry.words[0], []).append(entry)
    # Longest phrase first; among phrases of one length the strongest, so a phrase listed under
    # two categories ("dont talk to me": anger -2.0, refusal -3.5) counts with its stronger valence.
    return {k: tuple(sorted(v, key=lambda e: (-len(e.words), -abs(e.valence)))) for k, v in index.items()}


@lru_cache(maxsize=1)
def bundled_lexicon() -> Lexicon:
    """The lexicon shipped in `models/`, read once per process."""
    return Lexicon.from_file(BUNDLED_LEXICON)
