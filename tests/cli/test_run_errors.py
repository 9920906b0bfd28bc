"""`heatmon run` on bad input: one clear line, exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from support.ko_speech import write_wav
from support.process import error_lines, heatmon


def _fails_clearly(*args: str, says: str, stdin: bytes | None = None) -> None:
    result = heatmon(*args, stdin=stdin, timeout=60)
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("heatmon: error:"), result.stderr
    assert says in lines[0], lines[0]


@pytest.fixture
def good_wav(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "ok.wav", np.zeros(8000, dtype=np.int16), 8000)


def test_missing_file(tmp_path: Path) -> None:
    """A file that does not exist is named in the error."""
    _fails_clearly("run", str(tmp_path / "nope.wav"), says="nope.wav: no such file")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    """A directory given as the call is refused."""
    _fails_clearly("run", str(tmp_path), says="is a directory")


def test_not_a_wav(tmp_path: Path) -> None:
    """A text file is not taken for audio."""
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is not audio\n" * 10)
    _fails_clearly("run", str(bogus), says="not a WAV file")


def test_truncated_header(tmp_path: Path, good_wav: Path) -> None:
    """A WAV cut inside its header is reported as truncated."""
    cut = tmp_path / "cut.wav"
    cut.write_bytes(good_wav.read_bytes()[:30])
    _fails_clearly("run", str(cut), says="cut.wav")


@pytest.mark.slow  # real Vosk
def test_truncated_data_is_decoded_up_to_the_cut_then_reported(tmp_path: Path, good_wav: Path) -> None:
    """A WAV whose data stops short of its header (a recording cut off) is decoded up to the
    cut, with its call_ended, and then reported on one line with exit code 2."""
    cut = tmp_path / "short.wav"
    cut.write_bytes(good_wav.read_bytes()[:8044])  # 44-byte header + 0.5 s of the 1 s promised
    result = heatmon("run", str(cut))
    assert result.code == 2, result.stderr
    assert result.events[-1]["type"] == "call_ended" and result.events[-1]["duration"] == 0.5
    assert error_lines(result.stderr) == [
        f"heatmon: error: {cut}: truncated WAV: its header promises 1.0 s of audio "
        "but the file ends after 0.5 s (decoded up to there)"
    ]


@pytest.mark.slow  # real Vosk
def test_a_streamed_wav_of_unknown_length_is_not_truncated(tmp_path: Path) -> None:
    """sox writing a WAV to a pipe cannot know its length and puts a placeholder in the
    header: such a file is read to its end without complaint."""
    streamed = tmp_path / "streamed.wav"
    made = subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-t", "wav", "-", "synth", "0.5", "sine", "440"],
        capture_output=True,
        check=True,
    )
    streamed.write_bytes(made.stdout)
    with wave.open(str(streamed)) as wav:
        assert wav.getnframes() * 2 >= 0x7FFF0000  # the placeholder, as this test assumes
    result = heatmon("run", str(streamed))
    assert result.code == 0, result.stderr
    assert result.events[-1]["duration"] == 0.5


def test_float_wav_is_an_unsupported_format(tmp_path: Path, good_wav: Path) -> None:
    """A 32-bit float WAV gets a message that says how to convert it."""
    floaty = tmp_path / "float.wav"
    subprocess.run(["sox", str(good_wav), "-e", "floating-point", "-b", "32", str(floaty)], check=True)
    _fails_clearly("run", str(floaty), says="unsupported sample format (32-bit float)")


def test_too_many_channels(tmp_path: Path) -> None:
    """A four-channel WAV is refused with what heatmon takes instead."""
    path = tmp_path / "quad.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(4)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0" * 8000)
    _fails_clearly("run", str(path), says="4 channels")


def test_unknown_device() -> None:
    """A device that does not exist is named, with where to look."""
    _fails_clearly("run", "--caller-device", "no such microphone", says="heatmon devices")


def test_not_a_vosk_model(tmp_path: Path, good_wav: Path) -> None:
    """A --model directory that is not a Vosk model says what is missing."""
    _fails_clearly("run", "--model", str(tmp_path), str(good_wav), says="final.mdl")


def test_no_model_anywhere(tmp_path: Path, good_wav: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no model to be found, the message says how to get one."""
    env = {
        "HEATMON_MODELS": str(tmp_path / "none"),
        "HOME": str(tmp_path),
        "PYTHONNOUSERSITE": "1",
    }
    import os
    import sys

    script = (
        "import sys, monitor.speech.resolve as r; r.pip_model_dirs = lambda: []; "
        "from monitor.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "run", str(good_wav)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "heatmon models pull en-us" in proc.stderr


def test_nothing_to_monitor() -> None:
    """`heatmon run` alone explains what it needs."""
    _fails_clearly("run", says="nothing to monitor")


def test_stdin_needs_a_rate() -> None:
    """Raw PCM on stdin without --rate is refused before any decoding."""
    _fails_clearly("run", "-", says="--rate", stdin=b"\0" * 100)


def test_mixed_inputs(good_wav: Path) -> None:
    """Files and devices at once are refused."""
    _fails_clearly("run", str(good_wav), "--caller-device", "0", says="not a mix")


def test_a_wav_piped_as_raw_pcm_is_refused(good_wav: Path) -> None:
    """A WAV file on stdin would have its header decoded as audio: say to give its path."""
    _fails_clearly("run", "-", "--rate", "8000", says="stdin carries a WAV file", stdin=good_wav.read_bytes())


def test_rate_belongs_to_stdin_and_devices(good_wav: Path) -> None:
    """--rate with a WAV file (which has its own rate) or of zero is refused, not ignored."""
    _fails_clearly("run", str(good_wav), "--rate", "8000", says="a WAV file carries its own")
    _fails_clearly("run", "-", "--rate", "0", says="a sample rate of 0 Hz", stdin=b"\0" * 100)


@pytest.mark.parametrize(
    ("option", "says"),
    [(["--quiet-end", "-1"], "--quiet-end"), (["--endpointing", "foo"], "--endpointing takes")],
)
def test_bad_options_are_reported_before_looking_for_a_model(
    good_wav: Path, tmp_path: Path, option: list[str], says: str
) -> None:
    """A bad option is named even where no model could be found (it is checked first)."""
    _fails_clearly("run", str(good_wav), *option, "--model", str(tmp_path / "no-model-here"), says=says)


@pytest.mark.slow  # real Vosk
def test_a_call_from_a_wav_per_party_is_named_without_the_caller_suffix(tmp_path: Path) -> None:
    """--caller X_caller.wav --agent X_agent.wav is call "X", not "X_caller"."""
    quiet = np.zeros(4000, dtype=np.int16)
    caller = write_wav(tmp_path / "Auto_Repairs_40_caller.wav", quiet, 8000)
    agent = write_wav(tmp_path / "Auto_Repairs_40_agent.wav", quiet, 8000)
    result = heatmon("run", "--caller", str(caller), "--agent", str(agent))
    assert result.code == 0, result.stderr
    assert {e["call"] for e in result.events} == {"Auto_Repairs_40"}
