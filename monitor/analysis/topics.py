"""Escalation topics (`models/topics.json`): which topic a caller's escalation phrase is
about, so that a new topic (a lawyer after a manager) is news to the alert board."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.datafile import load_json
from monitor.errors import InputError
from monitor.paths import BUNDLED_MODELS

BUNDLED_TOPICS = BUNDLED_MODELS / "topics.json"


@dataclass(frozen=True, slots=True)
class Topics:
    """Word -> topic."""

    by_word: Mapping[str, str]

    def of(self, phrase: str) -> str:
        """The topic of a phrase: that of its first topic word, else the phrase itself."""
        return next((self.by_word[w] for w in phrase.split() if w in self.by_word), phrase)

    @staticmethod
    def from_file(path: str | Path) -> Topics:
        return Topics.from_dict(load_json(path, "topics"), source=str(path))

    @staticmethod
    def from_dict(data: Any, *, source: str = "<dict>") -> Topics:
        table = data.get("topics") if isinstance(data, dict) else None
        if not isinstance(table, dict):
            raise InputError(f"topics {source}: needs a 'topics' object of topic -> [words]")
        by_word: dict[str, str] = {}
        for topic, words in table.items():
            if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
                raise InputError(f"topics {source}: topic {topic!r} needs a list of words")
            by_word.update((w.lower(), topic) for w in words)
        return Topics(by_word)


@functools.cache
def bundled_topics() -> Topics:
    """The bundled topic table, read once per process."""
    return Topics.from_file(BUNDLED_TOPICS)
