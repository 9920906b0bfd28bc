"""Shared fixtures: Korean test speech for the real-Vosk tests (see ko_speech.py)."""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np
import pytest
from ko_speech import conversation, dialogue, write_wav

# Several tests press Ctrl-C (SIGINT) on heatmon processes. A shell starts a background job
# with SIGINT ignored, its children inherit that, and an ignored SIGINT stays ignored in
# Python: those tests would fail only because of how the suite was started. A handler of
# our own is reset to the default in every child we start.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def two_party_call(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, float, float]]]:
    """A 16 kHz stereo call (left caller, right agent), two lines each, and its true spans."""
    frames, spans = conversation(dialogue(2), 16000, 21.0)
    return write_wav(tmp_path_factory.mktemp("audio") / "two_party.wav", frames, 16000), spans


@pytest.fixture(scope="session")
def call_frames() -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """The same kind of call as raw int16 frames at 8 kHz (telephone rate)."""
    return conversation(dialogue(2), 8000, 21.0, seed=2)
