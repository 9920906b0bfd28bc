"""`heatmon run` end to end with real Vosk (the Korean model) on real synthetic speech."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.ko_speech import model_dir, write_wav
from support.process import Result, free_port, heatmon

pytestmark = pytest.mark.slow  # real Vosk on real speech

Spans = list[tuple[str, float, float]]


def _speakers_of_words(turn: dict[str, Any], spans: Spans) -> set[str]:
    """Who really spoke at the middle of each of this turn's words."""
    found = set()
    for word in turn["words"]:
        middle = (word["start"] + word["end"]) / 2
        found |= {who for who, s, e in spans if s - 0.3 <= middle <= e + 0.3}
    return found


def _check_call(result: Result, call: str, spans: Spans, speakers: set[str]) -> None:
    events = [e for e in result.events if e["call"] == call]
    assert events[0]["type"] == "call_started" and events[-1]["type"] == "call_ended"
    turns = [e for e in events if e["type"] == "turn"]
    assert {t["speaker"] for t in turns} == speakers
    for turn in turns:
        assert turn["text"].strip()
        assert _speakers_of_words(turn, spans) == {turn["speaker"]}, turn
        assert turn["start"] < turn["end"] <= turn["t"] + 1e-6
        times = [(w["start"], w["end"]) for w in turn["words"]]
        assert times == sorted(times) and times[0][0] == turn["start"] and times[-1][1] == turn["end"]
        assert 0 < turn["confidence"] <= 1 and turn["loudness_db"] < 0 and turn["rate_wps"] > 0
    for speaker in speakers:
        starts = [t["start"] for t in turns if t["speaker"] == speaker]
        assert starts == sorted(starts)
    assert events[-1]["duration"] == pytest.approx(21.0, abs=0.2)


def test_stereo_call_gives_turns_for_each_party(two_party_call: tuple[Path, Spans]) -> None:
    """A stereo call yields turns for both parties, each on its own channel's speech, with word times."""
    wav, spans = two_party_call
    result = heatmon("run", str(wav))
    assert result.code == 0, result.stderr
    _check_call(result, "two_party", spans, {"caller", "agent"})
    assert len(result.of("turn")) >= 4


def test_caller_channel_swaps_roles(two_party_call: tuple[Path, Spans]) -> None:
    """--caller-channel right makes the right channel's speech the caller's."""
    wav, spans = two_party_call
    swapped = [("agent" if who == "caller" else "caller", s, e) for who, s, e in spans]
    result = heatmon("run", "--caller-channel", "right", str(wav))
    assert result.code == 0, result.stderr
    _check_call(result, "two_party", swapped, {"caller", "agent"})


def test_telephone_rate_stdin_pcm(call_frames: tuple[np.ndarray, Spans]) -> None:
    """Raw 8 kHz stereo PCM on stdin is transcribed per party."""
    frames, spans = call_frames
    result = heatmon(
        "run", "-", "--rate", "8000", "--channels", "2", "--call", "pipe", stdin=frames.tobytes()
    )
    assert result.code == 0, result.stderr
    turns = result.of("turn", call="pipe")
    assert {t["speaker"] for t in turns} == {"caller", "agent"}
    assert all(_speakers_of_words(t, spans) == {t["speaker"]} for t in turns)


def test_several_calls_and_party_files_in_one_process(
    tmp_path: Path, two_party_call: tuple[Path, Spans], call_frames: tuple[np.ndarray, Spans]
) -> None:
    """Several files are monitored at once, one model, each call with its own events."""
    wav, spans = two_party_call
    frames, spans8 = call_frames
    mono = write_wav(tmp_path / "mono8k.wav", frames[:, 0].copy(), 8000)
    result = heatmon("run", str(wav), str(mono))
    assert result.code == 0, result.stderr
    _check_call(result, "two_party", spans, {"caller", "agent"})
    _check_call(result, "mono8k", spans8, {"caller"})  # mono = the caller alone
    caller = write_wav(tmp_path / "c.wav", frames[:, 0].copy(), 8000)
    agent = write_wav(tmp_path / "a.wav", frames[:, 1].copy(), 8000)
    result = heatmon("run", "--caller", str(caller), "--agent", str(agent), "--call", "split")
    assert result.code == 0, result.stderr
    _check_call(result, "split", spans8, {"caller", "agent"})


def test_partials_are_rate_limited(two_party_call: tuple[Path, Spans]) -> None:
    """--partials adds partial events, no two of one speaker closer than the limit."""
    wav, _ = two_party_call
    result = heatmon("run", "--partials", str(wav))
    partials = result.of("partial")
    assert partials and all(p["text"] for p in partials)
    for speaker in ("caller", "agent"):
        times = [p["t"] for p in partials if p["speaker"] == speaker]
        assert all(b - a >= 0.5 - 1e-6 for a, b in itertools.pairwise(times))


def test_console_view_is_readable(two_party_call: tuple[Path, Spans]) -> None:
    """--console prints readable lines instead of JSON."""
    import subprocess
    import sys

    wav, _ = two_party_call
    out = subprocess.run(
        [sys.executable, "-m", "monitor", "run", "--console", str(wav)],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "call started" in out and "CALLER" in out and "AGENT" in out and "call ended" in out
    assert not out.lstrip().startswith("{")


def test_stock_endpointing_is_selectable(two_party_call: tuple[Path, Spans]) -> None:
    """--endpointing stock runs with the model's own rules and still finds every line."""
    wav, spans = two_party_call
    result = heatmon("run", "--endpointing", "stock", "--model", str(model_dir()), str(wav))
    assert result.code == 0, result.stderr
    _check_call(result, "two_party", spans, {"caller", "agent"})


def test_turns_end_soon_after_the_last_word(two_party_call: tuple[Path, Spans]) -> None:
    """By default each turn is out within 0.7 s of its last word (stock Vosk takes about 1 s)."""
    wav, _ = two_party_call
    result = heatmon("run", str(wav))
    ended_by_file = result.of("call_ended")[0]["t"]
    late = [t["t"] - t["end"] for t in result.of("turn") if t["t"] < ended_by_file]
    assert late and max(late) <= 0.7, late


def test_skipping_silence_loses_no_speech(two_party_call: tuple[Path, Spans]) -> None:
    """With the silence gate (default) and without it, every spoken line becomes a turn of
    its speaker at the same call time: held-back silence neither cuts words nor shifts them."""
    wav, spans = two_party_call
    gated, every_sample = heatmon("run", str(wav)), heatmon("run", "--no-skip-silence", str(wav))
    assert gated.code == 0 and every_sample.code == 0, gated.stderr + every_sample.stderr
    for result in (gated, every_sample):
        for who, start, end in spans:
            assert any(
                t["speaker"] == who and t["start"] < end + 0.3 and start - 0.3 < t["end"]
                for t in result.of("turn")
            ), (who, start, end)
    pairs = list(zip(gated.of("turn"), every_sample.of("turn"), strict=True))
    for a, b in pairs:
        assert a["speaker"] == b["speaker"]
        assert abs(a["start"] - b["start"]) < 0.35 and abs(a["end"] - b["end"]) < 0.35, (a, b)


def test_hub_gets_partials_but_the_output_only_with_partials(two_party_call: tuple[Path, Spans]) -> None:
    """With --hub, partials are made for the hub (the agent's live transcript), but stdout
    carries them only when --partials asks for them. (The hub here is down: exit code 1.)"""
    hub = f"ws://127.0.0.1:{free_port()}"
    wav, _ = two_party_call
    quiet = heatmon("run", "--hub", hub, "--hub-token", "t", str(wav))
    assert quiet.code == 1 and quiet.of("turn") and not quiet.of("partial"), quiet.stderr
    asked = heatmon("run", "--hub", hub, "--hub-token", "t", "--partials", str(wav))
    assert asked.code == 1 and asked.of("partial"), asked.stderr


def spans_end(wav: Path) -> float:
    """A WAV's length in seconds."""
    import wave

    with wave.open(str(wav)) as w:
        return w.getnframes() / w.getframerate()


def test_sigterm_ends_every_call_like_ctrl_c(two_party_call: tuple[Path, Spans]) -> None:
    """A service manager's SIGTERM mid-call: the call still ends with its call_ended (with its
    summary), exit code 143, nothing on stderr but the usual."""
    import json
    import signal
    import subprocess
    import sys

    wav, _ = two_party_call
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--realtime", str(wav)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert first["type"] == "call_started"
        # Mid-call means after the first turn (a condition, not a sleep: a busy machine is slow).
        heard = first
        while heard["type"] != "turn":
            heard = json.loads(proc.stdout.readline())
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    last = json.loads(out.splitlines()[-1])
    assert last["type"] == "call_ended" and "peak_heat" in last["summary"]
    assert heard["end"] <= last["duration"] < spans_end(wav), last
    assert "Traceback" not in err, err
