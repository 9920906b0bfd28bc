"""The coaching playbook: the steps, how each is detected, and what to suggest.

Data, not code (`models/playbook.json`; the file's `about` documents every key), so a team
can reword the method or make A = Apologize. Phrases are matched on ASR-like words, so
punctuation, case and apostrophes in the file do not matter.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from monitor.analysis.lexicon import tokens_of
from monitor.datafile import load_json
from monitor.errors import InputError
from monitor.paths import BUNDLED_MODELS

BUNDLED_PLAYBOOK = BUNDLED_MODELS / "playbook.json"
DETECT_KINDS = ("listening", "phrases", "questions", "ownership")


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the method."""

    letter: str
    name: str
    prompt: str
    kind: str
    detect: tuple[tuple[str, ...], ...]
    next_step: tuple[tuple[str, ...], ...]
    phrases: dict[str, tuple[str, ...]]
    warn: tuple[tuple[str, ...], ...] = ()
    warn_message: str = ""
    not_questions: tuple[tuple[str, ...], ...] = ()

    def suggestions(self, situation: str) -> tuple[str, ...]:
        return self.phrases.get(situation) or self.phrases.get("default", ())


@dataclass(frozen=True, slots=True)
class Playbook:
    """The whole playbook, steps in order."""

    name: str
    steps: tuple[Step, ...]
    abuse_prompt: str
    abuse_phrases: tuple[str, ...]
    name_capture: tuple[tuple[str, ...], ...]
    name_questions: tuple[tuple[str, ...], ...]
    not_names: frozenset[str]
    summary: str
    min_level: str
    cooldown_s: float
    same_step_cooldown_s: float
    heat_relief: float
    source: str
    intensifiers: frozenset[str] = frozenset()  # may sit inside a phrase: "thats really frustrating"
    #: Agent lines that fight back or lecture ("our system shows", "calm down"), and the warning.
    defensive: tuple[tuple[str, ...], ...] = ()
    defensive_message: str = ""
    defensive_phrases: tuple[str, ...] = ()
    #: Words that take back a listening or empathy phrase said just before them ("i understand but").
    voiders: frozenset[str] = frozenset()
    void_window: int = 2
    #: Steps the coach moves on to at a boiling peak once the next step was already prompted.
    at_boiling: tuple[str, ...] = ()

    @property
    def letters(self) -> tuple[str, ...]:
        return tuple(s.letter for s in self.steps)

    @staticmethod
    def from_file(path: str | Path) -> Playbook:
        """Read a playbook JSON file; raise InputError naming the file and the problem."""
        return Playbook.from_dict(load_json(path, "playbook"), source=str(path))

    @staticmethod
    def from_dict(data: Any, *, source: str = "<dict>") -> Playbook:
        """Build a playbook from decoded JSON; raise InputError on a missing or misshapen key."""
        if not isinstance(data, dict) or not isinstance(data.get("steps"), list) or not data["steps"]:
            raise InputError(f"playbook {source}: needs a non-empty 'steps' list")
        steps = tuple(_step(raw, source, i) for i, raw in enumerate(data["steps"]))
        letters = [s.letter for s in steps]
        if len(set(letters)) != len(letters):
            raise InputError(f"playbook {source}: step letters must be unique, got {letters}")
        coaching = data.get("coaching", {})
        abuse = data.get("abuse", {})
        defensive = data.get("defensive", {})
        if not isinstance(defensive, dict):
            raise InputError(f"playbook {source}: 'defensive' must be an object")
        at_boiling = tuple(str(x) for x in coaching.get("at_boiling", []))
        if not set(at_boiling) <= set(letters):
            raise InputError(
                f"playbook {source}: coaching.at_boiling names a step not in 'steps': {at_boiling}"
            )
        min_level = str(coaching.get("min_level", "warm"))
        if min_level not in ("calm", "warm", "hot", "boiling"):
            raise InputError(f"playbook {source}: coaching.min_level must be a heat level, not {min_level!r}")
        return Playbook(
            name=str(data.get("name", "H.E.A.T.")),
            steps=steps,
            abuse_prompt=str(abuse.get("prompt", "Calmly set a limit on abusive language.")),
            abuse_phrases=tuple(str(p) for p in abuse.get("phrases", [])),
            name_capture=_phrases(data.get("name_capture", ["my name is"])),
            name_questions=_phrases(data.get("name_questions", ["your name"])),
            not_names=frozenset(tokens_of(" ".join(data.get("not_names", [])))),
            summary=str(data.get("summary", "So{name}, if I have this right: {complaint}. Is that correct?")),
            min_level=min_level,
            cooldown_s=float(coaching.get("cooldown_s", 20)),
            same_step_cooldown_s=float(coaching.get("same_step_cooldown_s", 45)),
            heat_relief=float(coaching.get("heat_relief", 8.0)),
            source=source,
            intensifiers=frozenset(tokens_of(" ".join(data.get("intensifiers", [])))),
            defensive=_phrases(defensive.get("phrases", [])),
            defensive_message=str(defensive.get("message", "Never fight back: own the problem instead.")),
            defensive_phrases=tuple(str(p) for p in defensive.get("suggestions", [])),
            voiders=frozenset(tokens_of(" ".join(coaching.get("void_after", [])))),
            void_window=int(coaching.get("void_window", 2)),
            at_boiling=at_boiling,
        )

    def says(self, words: list[str], phrases: tuple[tuple[str, ...], ...]) -> tuple[str, ...] | None:
        """The first of `phrases` in `words`, intensifiers allowed between a phrase's words."""
        return contains(words, phrases, self.intensifiers)


def _step(raw: Any, source: str, index: int) -> Step:
    where = f"playbook {source}: step {index + 1}"
    if not isinstance(raw, dict):
        raise InputError(f"{where} must be an object")
    for key in ("letter", "name", "prompt", "detect", "phrases"):
        if key not in raw:
            raise InputError(f"{where} is missing {key!r}")
    detect = raw["detect"]
    kind = detect.get("kind", "phrases") if isinstance(detect, dict) else None
    if kind not in DETECT_KINDS:
        raise InputError(f"{where}: detect.kind must be one of {', '.join(DETECT_KINDS)}, not {kind!r}")
    phrases = raw["phrases"]
    if not isinstance(phrases, dict) or not phrases.get("default"):
        raise InputError(f"{where}: phrases needs a non-empty 'default' list")
    warn = raw.get("warn", {})
    return Step(
        letter=str(raw["letter"]),
        name=str(raw["name"]),
        prompt=str(raw["prompt"]),
        kind=str(kind),
        detect=_phrases(detect.get("phrases", [])),
        next_step=_phrases(detect.get("next_step", [])),
        phrases={str(k): tuple(str(p) for p in v) for k, v in phrases.items()},
        warn=_phrases(warn.get("phrases", [])),
        warn_message=str(warn.get("message", "")),
        not_questions=_phrases(detect.get("not_questions", [])),
    )


def _phrases(raw: Any) -> tuple[tuple[str, ...], ...]:
    return tuple(t for t in (tuple(tokens_of(str(p))) for p in raw) if t)


def contains(
    words: list[str], phrases: tuple[tuple[str, ...], ...], skip: frozenset[str] = frozenset()
) -> tuple[str, ...] | None:
    """The first of `phrases` that occurs in `words` as whole words, or None. Words in `skip`
    may come between a phrase's words (people say "that's really frustrating", and a
    playbook cannot list every way to stress a phrase)."""
    for phrase in phrases:
        first = phrase[0]
        for i, word in enumerate(words):
            if word == first and _phrase_at(words, i + 1, phrase[1:], skip):
                return phrase
    return None


def phrase_ends(
    words: list[str], phrases: tuple[tuple[str, ...], ...], skip: frozenset[str] = frozenset()
) -> list[int]:
    """Where each occurrence of any of `phrases` in `words` ends (the index after its last word)."""
    ends: list[int] = []
    for phrase in phrases:
        first = phrase[0]
        for i, word in enumerate(words):
            if word == first:
                end = _phrase_end(words, i + 1, phrase[1:], skip)
                if end is not None:
                    ends.append(end)
    return ends


def _phrase_end(words: list[str], at: int, rest: tuple[str, ...], skip: frozenset[str]) -> int | None:
    """The index after `rest` when it follows from `words[at]` on (`skip` words in between)."""
    for wanted in rest:
        while at < len(words) and words[at] != wanted and words[at] in skip:
            at += 1
        if at == len(words) or words[at] != wanted:
            return None
        at += 1
    return at


def _phrase_at(words: list[str], at: int, rest: tuple[str, ...], skip: frozenset[str]) -> bool:
    """`rest` follows from `words[at]` on, with `skip` words allowed in between."""
    for wanted in rest:
        while at < len(words) and words[at] != wanted and words[at] in skip:
            at += 1
        if at == len(words) or words[at] != wanted:
            return False
        at += 1
    return True


_WH = frozenset(("what", "when", "where", "which", "who", "whom", "whose", "why", "how"))
_AUX = frozenset(
    (
        "is",
        "are",
        "was",
        "were",
        "do",
        "does",
        "did",
        "can",
        "could",
        "would",
        "will",
        "should",
        "have",
        "has",
    )
)
_SUBJECTS = frozenset(
    ("you", "it", "they", "that", "this", "he", "she", "there", "one", "we", "i", "your", "the")
)


#: Words before a verb that make "verb + subject" a statement, not a question.
_LEADS_STATEMENT = _SUBJECTS | _AUX | frozenset(("to", "cant", "wont", "dont"))


def is_question(words: list[str], not_questions: tuple[tuple[str, ...], ...] = ()) -> bool:
    """Whether ASR words (no '?') hold a question: a question word or verb leading a clause.

    "when did it start", "are they off", "can you tell me": a question word followed by a
    verb, or a verb followed by its subject. Phrases in `not_questions` ("how can i help")
    are taken out first.
    """
    words = _without(words, not_questions)
    before = ""
    for first, second in itertools.pairwise(words):
        if first in _WH and second in _AUX:
            return True
        # A verb after its own subject or another verb is a statement: "i can do that",
        # "it was the router", "to do this".
        if first in _AUX and second in _SUBJECTS and before not in _LEADS_STATEMENT:
            return True
        before = first
    return False


def _without(words: list[str], phrases: tuple[tuple[str, ...], ...]) -> list[str]:
    out = list(words)
    for phrase in phrases:
        size = len(phrase)
        for i in range(len(out) - size + 1):
            if tuple(out[i : i + size]) == phrase:
                out[i : i + size] = ["|"] * size
    return out


@lru_cache(maxsize=1)
def bundled_playbook() -> Playbook:
    """The playbook shipped in `models/`, read once per process."""
    return Playbook.from_file(BUNDLED_PLAYBOOK)
