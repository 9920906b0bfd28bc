"""`heatmon replay` and `heatmon score` as a user runs them; the transcript reader and replay."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.process import free_port, heatmon

from monitor.errors import InputError
from monitor.events import CallEnded, CallStarted, Event, Heat, Turn
from monitor.paths import BUNDLED_MODELS
from monitor.transcripts.reader import TranscriptError, parse_line, parse_transcript, read_transcript
from monitor.transcripts.replay import Replay

DEMO = BUNDLED_MODELS / "demo_calls"

CALL: list[dict[str, Any]] = [
    {"speaker": "agent", "text": "northline this is sam how can i help", "start": 0.5, "end": 3.0},
    {
        "speaker": "caller",
        "text": "this is the third time calling and it is still not working",
        "start": 3.5,
        "end": 7.0,
    },
    {"speaker": "agent", "text": "i see that must be frustrating", "start": 7.5, "end": 9.5},
    {"speaker": "caller", "text": "i want to speak to your manager", "start": 40.0, "end": 42.0},
]


def write(path: Path, rows: Sequence[object]) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def test_replay_fast_prints_the_whole_chain(tmp_path: Path) -> None:
    """--fast prints call_started, turns with caller sentiment, heat/alert events and call_ended."""
    path = write(tmp_path / "c7.jsonl", CALL)
    result = heatmon("replay", "--fast", "--agent", "sam", str(path))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["type"] == "call_started" and events[0]["agent"] == "sam"
    assert events[0]["call"] == "c7"  # the file name's stem when lines leave `call` out
    assert events[-1]["type"] == "call_ended" and events[-1]["summary"]["caller_turns"] == 2
    turns = [e for e in events if e["type"] == "turn"]
    assert [("sentiment" in e) for e in turns] == [False, True, False, True]
    assert {"compound", "neg", "neu", "pos", "score"} <= set(turns[1]["sentiment"])
    assert {"repeat_contact", "escalation"} <= {e["kind"] for e in events if e["type"] == "alert"}
    times = [e["t"] for e in events]
    assert times == sorted(times)
    # The 30 s gap between turns is dead air, found by the ticks between them.
    assert any(e["type"] == "alert" and e["kind"] == "dead_air" for e in events)


def test_replay_several_files_paced_runs_them_at_once(tmp_path: Path) -> None:
    """Paced replay of two files plays both calls together, in call time scaled by --speed."""
    short = [dict(r, end=r["end"] / 10, start=r["start"] / 10) for r in CALL]
    a = write(tmp_path / "a.jsonl", short)
    b = write(tmp_path / "b.jsonl", short)
    began = time.monotonic()
    result = heatmon("replay", "--speed", "2", str(a), str(b))
    elapsed = time.monotonic() - began
    assert result.returncode == 0, result.stderr
    kinds = [(e["type"], e["call"]) for e in result.events]
    # Together: each call started before the other ended (the order within is the scheduler's).
    assert kinds.index(("call_started", "b")) < kinds.index(("call_ended", "a"))
    assert kinds.index(("call_started", "a")) < kinds.index(("call_ended", "b"))
    assert elapsed >= 4.2 / 2 * 0.9  # paced: a lower bound, which a busy machine cannot break


def test_malformed_line_names_its_line_number(tmp_path: Path) -> None:
    """A malformed line is a one-line error with file and line number, exit code 2, no traceback."""
    path = write(tmp_path / "bad.jsonl", [CALL[0], "{not json", CALL[1]])
    result = heatmon("replay", "--fast", str(path))
    assert result.returncode == 2
    assert f"{path}:2: not JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_skip_bad_skips_with_a_warning(tmp_path: Path) -> None:
    """--skip-bad leaves a bad line out with a warning and replays the rest."""
    bad_speaker = dict(CALL[1], speaker="customer")
    path = write(tmp_path / "bad.jsonl", [CALL[0], bad_speaker, CALL[2]])
    result = heatmon("replay", "--fast", "--skip-bad", str(path))
    assert result.returncode == 0
    assert "bad.jsonl:2: unknown speaker 'customer'" in result.stderr and "skipped" in result.stderr
    assert sum(json.loads(line)["type"] == "turn" for line in result.stdout.splitlines()) == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"speaker": "bot", "text": "hi", "start": 0, "end": 1}, "unknown speaker 'bot'"),
        ({"text": "hi", "start": 0, "end": 1}, "a turn needs a 'speaker'"),
        ({"speaker": "agent", "text": "hi", "start": 2, "end": 1}, "ends (1 s) before it starts (2 s)"),
        ({"speaker": "agent", "text": "hi", "start": "zero", "end": 1}, "'start' must be a number"),
        ({"speaker": "agent", "text": 5, "start": 0, "end": 1}, "'text' must be a string"),
        ({"speaker": "agent", "text": "hi", "end": 1}, "missing 'start'"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_transcript_errors_are_specific(line: object, message: str) -> None:
    """Each kind of bad line gets its own message, prefixed with the line number."""
    with pytest.raises(InputError, match=r"t\.jsonl:1: .*" + re.escape(message)):
        parse_transcript([json.dumps(line)], name="t.jsonl")


def test_out_of_order_turns_are_reported_and_sorted() -> None:
    """Turns out of time order are reported as a warning and replayed in order."""
    rows = [json.dumps(CALL[1]), json.dumps(CALL[0])]
    transcript = parse_transcript(rows, name="t.jsonl")
    assert transcript.warnings and "before the previous one" in transcript.warnings[0]
    assert [t.start for t in transcript.turns] == [0.5, 3.5]


def test_missing_transcript_is_a_clear_error(tmp_path: Path) -> None:
    """A transcript path that does not exist is a one-line error."""
    result = heatmon("replay", "--fast", str(tmp_path / "nope.jsonl"))
    assert result.returncode == 2 and "cannot read transcript" in result.stderr


def test_replay_events_is_pure_and_repeatable() -> None:
    """The same transcript gives the same events (times from the transcript, no clock)."""
    turns = read_transcript(DEMO / "heat-deescalation.jsonl").turns
    first = [e.to_json() for e in Replay(turns, "x", started_at="2026-01-01T00:00:00Z").events()]
    second = [e.to_json() for e in Replay(turns, "x", started_at="2026-01-01T00:00:00Z").events()]
    assert first == second
    assert isinstance(Event.from_json(first[0]), CallStarted)
    assert isinstance(Event.from_json(first[-1]), CallEnded)


def test_heat_events_only_when_heat_moves() -> None:
    """Ticks between turns emit heat only when it moved meaningfully or changed level."""
    turns = read_transcript(DEMO / "heat-deescalation.jsonl").turns
    events = list(Replay(turns, "x").events())
    heats = [e for e in events if isinstance(e, Heat)]
    ticks = int(turns[-1].end)
    assert len(heats) < ticks / 3
    assert all(e.reasons for e in heats)


def test_replay_paced_releases_events_in_call_time() -> None:
    """The async paced replay yields the same events, spread over call time / speed."""
    turns = [Turn(call="p", t=r["end"], **r) for r in CALL[:3]]

    async def collect() -> tuple[list[Event], float]:
        loop = asyncio.get_running_loop()
        began = loop.time()
        out = [event async for event in Replay(turns, "p").paced(speed=10.0)]
        return out, loop.time() - began

    events, elapsed = asyncio.run(collect())
    assert [e.to_json() for e in events] == [e.to_json() for e in Replay(turns, "p").events()]
    assert 0.9 * 9.5 / 10 <= elapsed < 0.9 * 9.5  # paced by call time / speed, not call time


def test_score_plain_and_json_lines_in_order() -> None:
    """`heatmon score` prints one JSON line per input line, in order, with compound, score and cues."""
    stdin = 'no problem\n{"id": "t2", "text": "I was on hold for an HOUR!"}\nyou are useless\n'
    result = heatmon("score", "--asr-like", stdin=stdin)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["no problem", "I was on hold for an HOUR!", "you are useless"]
    assert rows[1]["id"] == "t2"
    assert rows[0]["score"] >= 0
    assert rows[1]["compound"] == 0 and rows[1]["score"] < -0.3
    assert {"category": "problem", "phrase": "on hold for", "valence": -1.5} in rows[1]["cues"]


def test_score_bad_json_line_names_its_line() -> None:
    """A JSON line without a text field is an error naming the line; --skip-bad keeps going."""
    stdin = 'fine thanks\n{"txt": "x"}\nawful\n'
    failed = heatmon("score", stdin=stdin)
    assert failed.returncode == 2 and '<stdin>:2: a JSON line needs a string "text" field' in failed.stderr
    skipped = heatmon("score", "--skip-bad", stdin=stdin)
    assert skipped.returncode == 0
    assert [("error" in json.loads(line)) for line in skipped.stdout.splitlines()] == [False, True, False]


def test_score_reads_dash_as_stdin_and_says_how_to_score_a_text() -> None:
    """`-` is standard input; a text given where a file belongs gets a hint to pipe it instead."""
    piped = heatmon("score", "-", stdin="you people are a joke\n")
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["text"] == "you people are a joke"
    mistaken = heatmon("score", "you people are a joke")
    assert mistaken.returncode == 2
    assert "cannot read you people are a joke" in mistaken.stderr
    assert "echo TEXT | heatmon score" in mistaken.stderr
    assert "Traceback" not in mistaken.stderr


def test_help_explains_with_examples() -> None:
    """Both subcommands have a description and examples in --help."""
    for command in ("replay", "score"):
        result = heatmon(command, "--help")
        assert result.returncode == 0 and "examples:" in result.stdout


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_line_parses_or_fails_with_a_transcript_error(line: str) -> None:
    """Fuzzed transcript lines either parse or raise TranscriptError: nothing else escapes."""
    with contextlib.suppress(TranscriptError):
        parse_line(line, "call")


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["speaker", "text", "start", "end", "call", "words", "confidence"]), json_values
    )
)
def test_any_json_object_parses_or_fails_with_a_transcript_error(data: dict[str, object]) -> None:
    """Fuzzed JSON objects either parse into a turn or raise TranscriptError."""
    try:
        turn = parse_line(json.dumps(data), "call")
    except TranscriptError:
        return
    assert turn.speaker in ("caller", "agent") and turn.end >= turn.start


@pytest.mark.slow  # waits out the publisher's retries
def test_events_the_hub_never_took_end_with_exit_code_1(tmp_path: Path) -> None:
    """With the hub down, replay still prints every event, says on one line how many the hub
    did not take, and exits 1 (not 0: a script must see that nothing was delivered); the
    retries log the outage once, not once per retry."""
    path = write(tmp_path / "c9.jsonl", CALL)
    hub = f"ws://127.0.0.1:{free_port()}"  # nobody listens there
    result = heatmon("replay", "--fast", "--hub", hub, "--hub-token", "t0ken", str(path))
    assert result.returncode == 1, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1]["type"] == "call_ended"
    errors = [line for line in result.stderr.splitlines() if line.startswith("heatmon: error:")]
    assert errors == [
        f"heatmon: error: {len(events)} events were not acknowledged by the hub at {hub} "
        "(they are in the output, but not on the hub or in its store)"
    ]
    assert result.stderr.count("unreachable") == 1, result.stderr


def test_a_hub_that_refuses_the_token_is_one_line_with_what_to_do(tmp_path: Path) -> None:
    """A wrong publisher token stops a live (paced) replay at once, not when its 42 s call
    ends: the call still ends with its call_ended, then one error line names the hub's reason
    and where the right token comes from; exit code 2."""
    port = free_port()
    hub = subprocess.Popen(
        [sys.executable, "-m", "monitor", "hub", "--port", str(port), "--data", str(tmp_path), "--no-store"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert hub.stdout is not None
        for line in hub.stdout:  # wait until it listens
            if line.startswith("hub listening"):
                break
        path = write(tmp_path / "c10.jsonl", CALL)
        url = f"ws://127.0.0.1:{port}"
        started = time.monotonic()
        result = heatmon("replay", "--hub", url, "--hub-token", "not-the-token", str(path))
        took = time.monotonic() - started
    finally:
        hub.terminate()
        hub.wait(timeout=10)
    assert result.returncode == 2, result.stderr
    assert took < 15, took
    assert json.loads(result.stdout.splitlines()[-1])["type"] == "call_ended"
    assert result.stderr.count("refused") == 1, result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("heatmon: error:")]
    assert f"the hub at {url} refused this publisher: invalid token" in line
    assert "--hub-token" in line and "--tokens FILE" in line
