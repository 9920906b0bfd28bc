"""Live capture for real: a PulseAudio null sink, speech played into it, captured by `heatmon run`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from support.ko_speech import conversation, dialogue, write_wav

pytestmark = pytest.mark.slow  # live capture through PulseAudio, in real time

SINK = "heatmon_test"


def _pactl(*args: str) -> str:
    return subprocess.run(["pactl", *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def null_sink() -> Iterator[str]:
    """A PulseAudio null sink whose monitor source is what PortAudio's `pulse` device records."""
    assert shutil.which("pulseaudio") and shutil.which("paplay"), "CI installs pulseaudio"
    if subprocess.run(["pulseaudio", "--check"]).returncode != 0:
        subprocess.run(["pulseaudio", "-D", "--exit-idle-time=-1"], check=True, capture_output=True)
        for _ in range(50):
            if subprocess.run(["pulseaudio", "--check"]).returncode == 0:
                break
            time.sleep(0.1)
    module = _pactl("load-module", "module-null-sink", f"sink_name={SINK}").strip()
    try:
        yield f"{SINK}.monitor"
    finally:
        _pactl("unload-module", module)


def test_devices_lists_the_pulse_device(null_sink: str) -> None:
    """`heatmon devices` lists PortAudio's inputs, the PulseAudio bridge among them."""
    out = subprocess.run(
        [sys.executable, "-m", "monitor", "devices"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert "pulse" in out.stdout


def test_live_call_is_captured_and_transcribed(null_sink: str, tmp_path: Path) -> None:
    """Speech played into a sink is captured live through sounddevice and comes out as caller turns."""
    frames, spans = conversation(dialogue(2), 16000, 20.0)
    caller_only = write_wav(tmp_path / "caller.wav", np.ascontiguousarray(frames[:, 0]), 16000)
    env = {**os.environ, "PULSE_SOURCE": null_sink}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--caller-device", "pulse", "--call", "live"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        # Play only once capture has started, or the first words are lost.
        deadline = time.monotonic() + 60
        while "capturing audio" not in proc.stderr.readline():
            assert time.monotonic() < deadline and proc.poll() is None, "capture never started"
        subprocess.run(["paplay", f"--device={SINK}", str(caller_only)], check=True, timeout=60)
        time.sleep(2.0)  # the last turn's trailing silence
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert proc.returncode == 130, err
    assert "never awaited" not in err and "Traceback" not in err, err
    assert events[0]["type"] == "call_started" and events[-1]["type"] == "call_ended"
    turns = [e for e in events if e["type"] == "turn"]
    spoken = sum(1 for who, _, _ in spans if who == "caller")
    assert len(turns) >= spoken and all(t["speaker"] == "caller" and t["text"] for t in turns)
    assert all(t["loudness_db"] > -40 for t in turns)  # real signal, not silence
