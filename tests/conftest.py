"""Shared fixtures: Korean test speech for the real-Vosk tests (see ko_speech.py)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
from support.ko_speech import conversation, dialogue, write_wav

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


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every heatmon and Vosk location inside `tmp_path`; no model, mirror or proxy from the
    environment in the way (the model tests serve archives on 127.0.0.1)."""
    for name in (
        "HEATMON_MODEL",
        "VOSK_MODEL_PATH",
        "LOCALAPPDATA",
        "HEATMON_MODEL_URL",
        "HEATMON_MODELS_MANIFEST",
        *("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"),
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HEATMON_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("HEATMON_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("HEATMON_CACHE", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as `openssl` makes them."""
    cert, key = tmp_path / "hub.pem", tmp_path / "hub.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key
