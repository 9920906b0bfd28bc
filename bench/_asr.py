"""Shared pieces of the speech benchmarks: the eval call, the Korean model, small helpers."""

from __future__ import annotations

import sys
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # ko_speech: Korean test speech made with espeak-ng

from _eval_data import require_eval  # noqa: E402


def eval_call() -> tuple[Path, Path]:
    """The shared 4-minute two-party call (8 kHz): (caller WAV, agent WAV)."""
    folder = require_eval() / "call_audio"
    return folder / "Auto_Repairs_40_UTC_caller.wav", folder / "Auto_Repairs_40_UTC_agent.wav"


def read_pcm(path: Path, seconds: float | None = None) -> tuple[bytes, int]:
    """A mono 16-bit WAV's samples (the first `seconds` of them) and its rate."""
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        frames = wav.getnframes() if seconds is None else min(wav.getnframes(), int(seconds * rate))
        return wav.readframes(frames), rate


def rss_mb() -> float:
    """This process's resident memory in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"
