"""Reading transcripts for `heatmon replay`: JSON lines, one turn each (DESIGN.md section 4).

`{"call": "c1", "speaker": "caller", "text": "...", "start": 12.3, "end": 15.1}`; `call`
may be left out (then the file name's stem is used). Optional fields of the `turn` event
(`words`, `confidence`, `loudness_db`, `rate_wps`) are kept. A malformed line is an error
naming its line number, or with `skip_bad` a warning and the line is left out; turns out of
time order are reported and put in order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.analysis.sentiment import MAX_TURN_TEXT
from monitor.datafile import finite_json
from monitor.errors import InputError
from monitor.events import SPEAKERS, Turn

_OPTIONAL_NUMBERS = ("confidence", "loudness_db", "rate_wps")


class TranscriptError(InputError):
    """A transcript line that does not fit the replay format."""


@dataclass
class Transcript:
    """The turns of one call, in time order, and what was wrong with the input."""

    call: str
    turns: list[Turn]
    warnings: list[str] = field(default_factory=list)


def read_transcript(path: str | Path, *, skip_bad: bool = False) -> Transcript:
    """Read a transcript file; raise TranscriptError (or warn with `skip_bad`) on bad lines."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as f:
            return parse_transcript(f, name=str(path), default_call=path.stem, skip_bad=skip_bad)
    except OSError as err:
        raise TranscriptError(f"cannot read transcript {path}: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise TranscriptError(f"{path}: not UTF-8 text ({err.reason})") from err


def parse_transcript(
    lines: Iterable[str], *, name: str = "<transcript>", default_call: str = "call", skip_bad: bool = False
) -> Transcript:
    """Parse transcript lines (blank lines are ignored)."""
    turns: list[Turn] = []
    warnings: list[str] = []
    calls: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            turn = parse_line(line, default_call)
        except TranscriptError as err:
            message = f"{name}:{number}: {err}"
            if not skip_bad:
                raise TranscriptError(message) from err
            warnings.append(message + " (line skipped)")
            continue
        if turns and turn.start < turns[-1].start:
            warnings.append(
                f"{name}:{number}: turn starts at {turn.start:g} s, before the previous one "
                f"({turns[-1].start:g} s); turns are put in time order"
            )
        calls.add(turn.call)
        turns.append(turn)
    if not turns:
        raise TranscriptError(f"{name}: no turns")
    if len(calls) > 1:
        raise TranscriptError(f"{name}: one call per file, found {', '.join(sorted(calls))}")
    turns.sort(key=lambda t: (t.end, t.start))
    return Transcript(turns[0].call, turns, warnings)


def parse_line(line: str, default_call: str) -> Turn:
    """One transcript line as a `Turn` (t = its end); raise TranscriptError saying what is wrong."""
    try:
        data = finite_json(line)
    except json.JSONDecodeError as err:
        raise TranscriptError(f"not JSON ({err.msg})") from err
    except InputError as err:  # NaN, Infinity, 1e400
        raise TranscriptError(str(err)) from err
    if not isinstance(data, dict):
        raise TranscriptError("a turn must be a JSON object")
    speaker = data.get("speaker")
    if speaker is None:
        raise TranscriptError("a turn needs a 'speaker' ('caller' or 'agent')")
    if speaker not in SPEAKERS:
        raise TranscriptError(f"unknown speaker {speaker!r} (expected 'caller' or 'agent')")
    text = data.get("text")
    if not isinstance(text, str):
        raise TranscriptError("'text' must be a string")
    check_text_length(text)
    start, end = _time(data, "start"), _time(data, "end")
    if end < start:
        raise TranscriptError(f"turn ends ({end:g} s) before it starts ({start:g} s)")
    call = data.get("call", default_call)
    if not isinstance(call, str) or not call:
        raise TranscriptError("'call' must be a non-empty string")
    extra: dict[str, Any] = {}
    for key in _OPTIONAL_NUMBERS:
        if data.get(key) is not None:
            extra[key] = _number(data[key], key)
    words = data.get("words")
    if words is not None:
        if not isinstance(words, list) or not all(isinstance(w, dict) for w in words):
            raise TranscriptError("'words' must be a list of objects")
        extra["words"] = tuple(words)
    return Turn(call=call, t=end, speaker=speaker, text=text, start=start, end=end, **extra)


def check_text_length(text: str) -> None:
    """TranscriptError if `text` is longer than a turn may be (MAX_TURN_TEXT characters)."""
    if len(text) > MAX_TURN_TEXT:
        raise TranscriptError(
            f"the text is {len(text):,} characters long; a turn holds at most {MAX_TURN_TEXT:,}"
        )


def _time(data: dict[str, Any], key: str) -> float:
    if key not in data:
        raise TranscriptError(f"missing {key!r}")
    value = _number(data[key], key)
    if value < 0:
        raise TranscriptError(f"{key!r} must not be negative")
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TranscriptError(f"{key!r} must be a number, not {value!r}")
    return float(value)
