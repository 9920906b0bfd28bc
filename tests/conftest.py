"""Shared fixtures: Korean test speech for the real-Vosk tests (see ko_speech.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ko_speech import conversation, dialogue, write_wav


@pytest.fixture(scope="session")
def two_party_call(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, float, float]]]:
    """A 16 kHz stereo call (left caller, right agent), two lines each, and its true spans."""
    frames, spans = conversation(dialogue(2), 16000, 21.0)
    return write_wav(tmp_path_factory.mktemp("audio") / "two_party.wav", frames, 16000), spans


@pytest.fixture(scope="session")
def call_frames() -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """The same kind of call as raw int16 frames at 8 kHz (telephone rate)."""
    return conversation(dialogue(2), 8000, 21.0, seed=2)
