"""Text from publishers reaches the terminal inert: `heatmon calls` and the console view show
control characters and bidi overrides as visible escapes; `replay --console` is readable."""

from __future__ import annotations

import json
from pathlib import Path

from support.process import heatmon

from monitor.store import Store, db_path

#: A terminal title change, a screen clear, an 8-bit CSI, a bell, a carriage return and a
#: right-to-left override: each would act on the terminal if printed raw.
NASTY = "ev\x1b]0;owned\x07il\x1b[2J\x9b31m\r\u202egnp.exe"
RAW = ("\x1b", "\x07", "\x9b", "\r", "\u202e")


def test_heatmon_calls_prints_publisher_text_inert(tmp_path: Path) -> None:
    """Call id, agent, caller name and alert kind with escape sequences come out as visible
    `\\x1b`-style escapes in `heatmon calls`, never as the raw control characters."""
    store = Store.open(db_path(tmp_path))
    store.write_events(
        [
            {
                "type": "call_started",
                "call": "c" + NASTY,
                "t": 0.0,
                "agent": "a" + NASTY,
                "started_at": "2026-11-20T09:00:00Z",
                "caller_name": "n" + NASTY,
            },
            {
                "type": "alert",
                "call": "c" + NASTY,
                "t": 3.0,
                "id": "a1",
                "kind": "k" + NASTY,
                "level": "hot",
                "message": "m",
                "evidence": [],
            },
        ]
    )
    store.close()
    result = heatmon("calls", "--data", str(tmp_path), timeout=60)
    assert result.code == 0, result.stderr
    assert not any(ch in result.stdout for ch in RAW), repr(result.stdout)
    assert "\\x1b" in result.stdout and "\\u202e" in result.stdout


def test_replay_console_is_readable_and_inert(tmp_path: Path) -> None:
    """`heatmon replay --console` prints one readable line per event (no JSON), with the
    escapes of a hostile turn shown visibly."""
    path = tmp_path / "call.jsonl"
    lines = [
        {
            "speaker": "caller",
            "text": "this is the third time i am calling " + NASTY,
            "start": 0.5,
            "end": 3.0,
        },
        {"speaker": "agent", "text": "i understand, let me fix that now", "start": 3.5, "end": 6.0},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    result = heatmon("replay", "--fast", "--console", str(path), timeout=60)
    assert result.code == 0, result.stderr
    shown = result.stdout.splitlines()
    assert shown and not any(line.startswith("{") for line in shown)
    assert any("CALLER" in line and "third time" in line for line in shown)
    assert not any(ch in result.stdout for ch in RAW), repr(result.stdout)
    assert "\\x1b" in result.stdout
