"""The dashboard tests' shared parts: their token set, a real hub in a thread of its own (so
Playwright's sync API can drive the page), a real publisher websocket, and page-error watching."""

from __future__ import annotations

import asyncio
import json
import threading
from contextlib import AbstractAsyncContextManager, ExitStack
from typing import Any, Self

from playwright.sync_api import ConsoleMessage, Page
from websockets.sync.client import ClientConnection, connect

from monitor.events import Event
from monitor.hub.auth import Tokens
from monitor.hub.connections import Hub
from monitor.hub.server import serve_hub

PUBLISHER, SAM, KIM, ALICE, BOB = (
    "pub-token-1",
    "sup-token-sam",
    "sup-token-kim",
    "agent-token-alice",
    "agent-token-bob",
)
STARTED_AT = "2026-11-23T09:00:00.000Z"


def tokens() -> Tokens:
    """A token set made for the test: one publisher, two supervisors, two agents."""
    made = Tokens()
    for role, name, token in [
        ("publisher", "test-publisher", PUBLISHER),
        ("supervisor", "Sam", SAM),
        ("supervisor", "Kim", KIM),
        ("agent", "alice", ALICE),
        ("agent", "bob", BOB),
    ]:
        made, _ = made.add(role, name, token)
    return made


class HubThread:
    """The real hub, run in its own thread and event loop so Playwright's sync API can drive the page."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hub", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def start(self) -> Self:
        self._thread.start()
        if not self.ready.wait(10):
            raise RuntimeError(f"hub did not start: {self.error!r}")
        if self.error is not None:
            raise RuntimeError("hub did not start") from self.error
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as err:
            self.error = err
            self.ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with self._serving() as hub:
            self.port = hub.port
            self.ready.set()
            await self._stop.wait()

    def _serving(self) -> AbstractAsyncContextManager[Hub]:
        """The hub to run (a subclass may add a store or routes)."""
        return serve_hub(tokens(), host="127.0.0.1", port=self.port)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Publisher:
    """A publisher over a real websocket, as `heatmon run --hub` would be: hello, events with pseq, acks."""

    def __init__(self, hub: HubThread) -> None:
        self._stack = ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(connect(f"ws://127.0.0.1:{hub.port}/ws"))
        self.ws.send(
            json.dumps({"type": "hello", "role": "publisher", "token": PUBLISHER, "publisher": "test"})
        )
        welcome = json.loads(self.ws.recv(timeout=30))
        assert welcome["type"] == "welcome", welcome
        self.pseq = welcome.get("last_pseq", 0)

    def publish(self, *events: Event | dict[str, Any]) -> None:
        """Send events and wait until the hub has accepted all of them."""
        for event in events:
            data = event.to_dict() if isinstance(event, Event) else dict(event)
            self.pseq += 1
            self.ws.send(json.dumps({**data, "pseq": self.pseq}))
        while True:
            reply = json.loads(self.ws.recv(timeout=30))
            assert reply["type"] != "error", reply
            if reply["type"] == "ack" and reply["pseq"] >= self.pseq:
                return

    def close(self) -> None:
        self._stack.close()


class PageErrors:
    """Console errors and uncaught exceptions of the pages a test opens; a test ends with none."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda err: self.errors.append(f"uncaught: {err}"))
        page.on("console", self._console)
        return page

    def _console(self, msg: ConsoleMessage) -> None:
        # Chromium logs every refused websocket connect as an error; while the hub is down
        # that is the page working as meant, so those are not counted.
        if msg.type == "error" and not msg.text.startswith("WebSocket connection to"):
            self.errors.append(msg.text)
        elif msg.type == "warning":
            self.warnings.append(msg.text)
