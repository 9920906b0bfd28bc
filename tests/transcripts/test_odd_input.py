"""`heatmon replay` and `heatmon score` on odd input: bounded time, and one clear line for
what they refuse (non-finite numbers, over-long texts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.process import error_lines, heatmon

from monitor.analysis.sentiment import MAX_TURN_TEXT


def transcript(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def refused(args: list[str], says: str, stdin: str | None = None) -> str:
    result = heatmon(*args, stdin=stdin, timeout=60)
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("heatmon: error:") and says in lines[0], result.stderr
    return lines[0]


FIRST = '{"speaker": "caller", "text": "hello i need help", "start": 0.5, "end": 2.0}'


@pytest.mark.parametrize("t", ["1e6", "1e300"])
def test_fast_replay_of_a_turn_far_into_the_call_ends(tmp_path: Path, t: str) -> None:
    """A turn at t = 1e6 or 1e300 s is replayed with --fast to its call_ended, with a bounded
    number of events (ticks fill a long silence only up to a limit)."""
    late = f'{{"speaker": "caller", "text": "are you still there", "start": {t}, "end": {t}}}'
    path = transcript(tmp_path / "late.jsonl", FIRST, late)
    result = heatmon("replay", "--fast", str(path), timeout=60)
    assert result.code == 0, result.stderr
    assert result.events[-1]["type"] == "call_ended" and result.events[-1]["t"] == float(t)
    assert len(result.events) < 2000


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("start", "NaN"),
        ("end", "Infinity"),
        ("end", "1e400"),
        ("confidence", "-Infinity"),
        ("words", '[{"word": "help", "start": NaN, "end": 1.0, "conf": 1.0}]'),
        ("words", '[{"word": "help", "start": 0.5, "end": 1e999, "conf": 1.0}]'),
    ],
)
def test_a_non_finite_number_in_a_transcript_is_refused_with_its_line(
    tmp_path: Path, field: str, value: str
) -> None:
    """NaN, Infinity or 1e400 anywhere in a transcript line (times, confidence, words) is
    refused, naming the file and line, before anything is published."""
    line = {"speaker": "caller", "text": "help", "start": 0.5, "end": 1.0}
    raw = json.dumps(line)[:-1] + f', "{field}": {value}}}'
    path = transcript(tmp_path / "odd.jsonl", FIRST, raw)
    refused(["replay", "--fast", str(path)], "odd.jsonl:2")


def test_an_over_long_turn_text_is_refused_with_its_line(tmp_path: Path) -> None:
    """A transcript turn longer than MAX_TURN_TEXT characters is refused, naming its line."""
    text = "why " * (MAX_TURN_TEXT // 4 + 1)
    long = json.dumps({"speaker": "caller", "text": text, "start": 3.0, "end": 9.0})
    path = transcript(tmp_path / "long.jsonl", FIRST, long)
    message = refused(["replay", "--fast", str(path)], "long.jsonl:2")
    assert f"{MAX_TURN_TEXT:,}" in message


@pytest.mark.parametrize("option", ["--speed"])
@pytest.mark.parametrize("value", ["nan", "inf", "1e400", "Infinity"])
def test_non_finite_cli_numbers_are_refused(tmp_path: Path, option: str, value: str) -> None:
    """`--speed nan` (or inf, 1e400) is refused at once in one line."""
    path = transcript(tmp_path / "ok.jsonl", FIRST)
    refused(["replay", option, value, str(path)], option)


def test_score_refuses_a_200_kb_line_naming_it() -> None:
    """`heatmon score` on a 200 KB line answers at once with one line naming the line, instead
    of scoring for minutes."""
    stdin = "i am fine\n" + "this is not working and nobody helped " * 5400 + "\n"
    message = refused(["score"], "<stdin>:2", stdin=stdin)
    assert f"{MAX_TURN_TEXT:,}" in message


def test_score_refuses_non_finite_numbers_in_json_lines() -> None:
    """A JSON input line of `heatmon score` with NaN in it is refused with its line number."""
    refused(["score"], "<stdin>:1", stdin='{"id": NaN, "text": "hello"}\n')
