"""Sample rates from a WAV header or `--rate` outside 4-192 kHz are refused in one line, and
SIGTERM or SIGINT always ends `heatmon run`."""

from __future__ import annotations

import signal
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from support.ko_speech import write_wav
from support.process import HEATMON, Result, error_lines, heatmon


def with_rate(path: Path, rate: int) -> Path:
    """A short mono WAV whose header claims `rate` (written at 8 kHz, then the field patched)."""
    write_wav(path, np.zeros(16000, dtype=np.int16), 8000)
    raw = bytearray(path.read_bytes())
    raw[24:28] = struct.pack("<I", rate)  # fmt chunk: sample rate
    raw[28:32] = struct.pack("<I", (rate * 2) & 0xFFFFFFFF)  # byte rate, as a writer would put it
    path.write_bytes(bytes(raw))
    return path


def refused(result: Result, says: str) -> None:
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("heatmon: error:") and says in lines[0], result.stderr


@pytest.mark.parametrize("rate", [0, 1, 3999, 192001, 4_000_000_000])
def test_a_wav_header_with_an_implausible_rate_is_refused(tmp_path: Path, rate: int) -> None:
    """A WAV claiming 0 Hz, 1 Hz, 3999 Hz, 192001 Hz or 4e9 Hz exits 2 with one line naming the file."""
    wav = with_rate(tmp_path / "odd.wav", rate)
    refused(heatmon("run", str(wav), timeout=60), "odd.wav")


@pytest.mark.parametrize("rate", ["0", "1", "-8000", "3999", "192001", "4000000000"])
def test_a_stdin_rate_outside_the_range_is_refused(rate: str) -> None:
    """`--rate` for raw PCM on stdin takes the same 4-192 kHz range, with the same one-line error."""
    refused(heatmon("run", "-", "--rate", rate, stdin=b"\0" * 1600, timeout=60), "--rate")


@pytest.mark.parametrize("rate", [4000, 192000])
def test_the_edges_of_the_range_are_accepted(tmp_path: Path, rate: int) -> None:
    """4 kHz and 192 kHz WAVs are decoded to their call_ended."""
    wav = with_rate(tmp_path / "edge.wav", rate)
    result = heatmon("run", str(wav), timeout=120)
    assert result.code == 0, result.stderr
    assert result.events[-1]["type"] == "call_ended"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_a_run_on_an_endless_stream(sig: signal.Signals) -> None:
    """SIGTERM or SIGINT to `heatmon run -` reading a stream that never ends stops it with the
    call's call_ended and exit code 128 + the signal."""
    proc = subprocess.Popen(
        [*HEATMON, "run", "-", "--rate", "8000", "--realtime"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(b"\0" * 16000)  # a second of silence; the pipe stays open
        proc.stdin.flush()
        first = proc.stdout.readline()  # call_started: the run is under way
        assert b"call_started" in first
        time.sleep(0.5)  # not a condition stand-in: the signal must land mid-stream, any time will do
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 128 + sig, err
    assert b'"call_ended"' in out and b"Traceback" not in err
