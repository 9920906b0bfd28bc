"""Hostile text in every string field of every event type, stored through a real hub with a
call store, stays text on every page (floor, agent, history, call) and in `heatmon report`,
in real Chromium: no script runs, no dialog opens, no event-handler attribute or
`javascript:` link appears, and the text shows as the characters it is."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect
from support.pages import PUBLISHER, SAM, HubThread, PageErrors, tokens
from support.process import heatmon
from websockets.sync.client import connect

from monitor.hub.connections import Hub
from monitor.hub.server import serve_hub
from monitor.review.history import register_history
from monitor.store import StoreReader, StoreSink, db_path

#: Every way text has been seen to turn into markup, a link or a reordered line.
PAYLOADS = (
    '<img src=x onerror="window.__pwned=1;alert(1)">',
    '"><script>window.__pwned=1</script><svg onload=window.__pwned=1>',
    "javascript:window.__pwned=1//",
    "' onmouseover='window.__pwned=1' autofocus onfocus='window.__pwned=1' x='",
    "\u202e\u2066gnp.exe\u2069 </title></style></textarea><iframe src=javascript:window.__pwned=1>",
)
HOSTILE = " ".join(PAYLOADS)
AGENT_TOKEN = "agent-token-hostile-1"


def bad(tag: str) -> str:
    """A hostile string that also says which field it was in."""
    return f"{tag}: {HOSTILE}"


def hostile_call(call: str, agent: str, *, ended: bool) -> list[dict[str, Any]]:
    """One call's events with hostile text in every string field the wire contract has."""
    events: list[dict[str, Any]] = [
        {
            "type": "call_started",
            "call": call,
            "t": 0.0,
            "agent": agent,
            "started_at": bad("started_at"),
            "caller_name": bad("caller_name"),
            "source": bad("source"),
        },
        {"type": "partial", "call": call, "t": 0.5, "speaker": "caller", "text": bad("partial")},
    ]
    for n, speaker in enumerate(("caller", "agent", "caller")):
        turn: dict[str, Any] = {
            "type": "turn",
            "call": call,
            "t": 2.0 + n * 3,
            "speaker": speaker,
            "text": bad(f"turn {n}"),
            "start": 1.0 + n * 3,
            "end": 2.0 + n * 3,
            "words": [{"word": bad("word"), "start": 1.0 + n * 3, "end": 2.0 + n * 3, "conf": 1.0}],
        }
        if speaker == "caller":
            turn["sentiment"] = {"compound": -0.8, "neg": 0.7, "neu": 0.3, "pos": 0.0, "score": -0.8}
        events.append(turn)
    events += [
        {
            "type": "heat",
            "call": call,
            "t": 3.0,
            "value": 80.0,
            "level": bad("level"),
            "trend": 20.0,
            "reasons": [bad("reason")],
        },
        {
            "type": "heat",
            "call": call,
            "t": 4.0,
            "value": 82.0,
            "level": "boiling",
            "trend": 20.0,
            "reasons": [bad("reason 2")],
        },
        {
            "type": "alert",
            "call": call,
            "t": 4.5,
            "id": bad("alert id"),
            "kind": bad("kind"),
            "level": bad("alert level"),
            "message": bad("message"),
            "evidence": [bad("evidence")],
        },
        {
            "type": "coach",
            "call": call,
            "t": 5.0,
            "step": bad("step"),
            "prompt": bad("prompt"),
            "phrases": [bad("phrase")],
            "done": {bad("done step"): True, "H": True},
        },
    ]
    if ended:
        events.append(
            {
                "type": "call_ended",
                "call": call,
                "t": 9.0,
                "duration": 9.0,
                "summary": {
                    "peak_heat": 82.0,
                    "peak_level": bad("peak_level"),
                    "steps_done": {bad("summary step"): True, "H": True},
                    "alerts": [bad("summary alert")],
                    "caller_name": bad("summary caller"),
                },
            }
        )
    return events


LIVE = bad("live call id")
ENDED = bad("ended call id")
AGENT = bad("agent")


class HostileHub(HubThread):
    """The real hub with a call store and the history routes; one agent token for the hostile agent."""

    def __init__(self, data: Path) -> None:
        super().__init__()
        self.data = data

    @asynccontextmanager
    async def _serving(self) -> AsyncIterator[Hub]:
        made, _ = tokens().add("agent", AGENT, AGENT_TOKEN)
        sink = StoreSink(db_path(self.data))
        async with serve_hub(made, port=0, sink=sink) as hub:
            register_history(hub.api, StoreReader(db_path(self.data)))
            yield hub
        await sink.aclose()


def publish(hub: HostileHub) -> None:
    """Both calls over a real publisher socket, then a supervisor's message and ack with hostile text."""
    with connect(f"ws://127.0.0.1:{hub.port}/ws") as ws:
        ws.send(
            json.dumps({"type": "hello", "role": "publisher", "token": PUBLISHER, "publisher": bad("pub")})
        )
        assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
        events = hostile_call(ENDED, AGENT, ended=True) + hostile_call(LIVE, AGENT, ended=False)
        batch = [{**event, "pseq": n} for n, event in enumerate(events, start=1)]
        ws.send(json.dumps({"type": "batch", "events": batch}))
        while True:
            reply = json.loads(ws.recv(timeout=10))
            assert reply["type"] == "ack", reply
            if reply["pseq"] >= len(batch):
                break
    with connect(f"ws://127.0.0.1:{hub.port}/ws") as ws:
        ws.send(json.dumps({"type": "hello", "role": "supervisor", "token": SAM}))
        assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
        ws.send(json.dumps({"type": "ack_alert", "call": LIVE, "id": bad("alert id")}))
        ws.send(json.dumps({"type": "message", "call": LIVE, "text": bad("supervisor says")}))
        seen: set[str] = set()
        while "alert_ack" not in seen:  # the message goes to the agent only
            msg = json.loads(ws.recv(timeout=5))
            seen |= {e.get("type") for e in (msg["events"] if msg.get("type") == "batch" else [msg])}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileHub]:
    running = HostileHub(tmp_path_factory.mktemp("data")).start()
    publish(running)
    yield running
    running.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, timezone_id="UTC")
    opened = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    opened.on("dialog", on_dialog)
    opened.add_init_script("window.__pwned = undefined;")
    errors = PageErrors()
    errors.watch(opened)
    yield opened
    assert dialogs == []
    context.close()


def assert_inert(page: Page, shown: str) -> None:
    """No script ran, nothing became a handler or a javascript: link, and `shown` is on the page as text."""
    expect(page.locator("body")).to_contain_text(shown)
    page.mouse.move(300, 300)
    page.keyboard.press("Tab")
    assert page.evaluate("window.__pwned") is None
    handlers = page.evaluate(
        """() => [...document.querySelectorAll('*')].flatMap(el => [...el.attributes]
               .filter(a => a.name.startsWith('on') || /^\\s*javascript:/i.test(a.value))
               .map(a => el.tagName + ' ' + a.name))"""
    )
    assert handlers == []
    assert page.locator("script:not([src]), iframe, img[src='x']").count() == 0


def test_the_floor_shows_hostile_text_as_text(hub: HostileHub, page: Page) -> None:
    """The supervisor floor board with a hostile live call: nothing runs."""
    page.goto(f"{hub.http}/floor#token={SAM}")
    assert_inert(page, "caller_name: <img src=x")


def test_the_agent_view_shows_hostile_text_as_text(hub: HostileHub, page: Page) -> None:
    """The hostile agent's own view of the live call (turns, coach, alerts, message): nothing runs."""
    page.goto(f"{hub.http}/agent#token={AGENT_TOKEN}")
    assert_inert(page, "turn 0: <img src=x")
    assert_inert(page, "prompt: <img src=x")


def test_the_history_page_shows_hostile_text_as_text(hub: HostileHub, page: Page) -> None:
    """The history list of both hostile calls: nothing runs."""
    page.goto(f"{hub.http}/history#token={SAM}")
    assert_inert(page, "ended call id: <img src=x")


def test_the_call_page_shows_hostile_text_as_text(hub: HostileHub, page: Page) -> None:
    """The review page of the ended hostile call (chart, transcript, alerts, summary): nothing runs."""
    fragment = urllib.parse.urlencode({"token": SAM, "id": ENDED})
    page.goto(f"{hub.http}/call#{fragment}")
    assert_inert(page, "turn 0: <img src=x")
    assert_inert(page, "message: <img src=x")


def test_the_html_report_shows_hostile_text_as_text(hub: HostileHub, page: Page, tmp_path: Path) -> None:
    """`heatmon report` of the hostile call: every field (the steps card included) escaped."""
    out = tmp_path / "report.html"
    result = heatmon("report", ENDED, "--data", str(hub.data), "-o", str(out), timeout=60)
    assert result.code == 0, result.stderr
    page.goto(out.as_uri())
    assert_inert(page, "step: <img src=x")
    assert_inert(page, "turn 2: <img src=x")
