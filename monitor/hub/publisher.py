"""The publisher client: streams a process's call events to the hub, surviving hub restarts.

    async with Publisher("ws://127.0.0.1:8765/ws", token) as pub:
        pub.publish(event)          # never blocks, never raises
        await pub.flush(timeout=5)  # True once the hub acknowledged everything

Each event gets an increasing `pseq`. Unacknowledged events stay in a bounded buffer and are
resent after a reconnect, from the hub's `last_pseq`. If the hub lost its state (a restart
without a store), the publisher also re-announces each live call's `call_started`, latest
`heat` and `coach` (the latest prompt and the latest prompt-less one, in the order they came),
so the board and the agents' views fill in again. That bookkeeping is `outbox.Outbox`; this
module is the connection: hello, resends, acks and backoff.

A wss:// hub's certificate is checked against the system's CAs, or the ones SSL_CERT_FILE /
SSL_CERT_DIR name (how a self-signed hub is trusted), unless `ssl=` gives a context of its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import socket
import ssl as ssl_module
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from monitor.events import Event
from monitor.hub.outbox import MAX_MESSAGE, Outbox, chunks, encode
from monitor.hub.urls import hub_ws_url

log = logging.getLogger("monitor.hub.publisher")

#: Close reasons after which retrying cannot help.
FATAL_REASONS = ("invalid token", "missing token", "token is not for role")


def default_publisher_id() -> str:
    """host-pid-random: stable for this process's reconnects, unique across processes."""
    return f"{socket.gethostname()}-{os.getpid()}-{random.getrandbits(32):08x}"


class Publisher:
    """A hub client that publishes events; see the module docstring."""

    def __init__(
        self,
        url: str,
        token: str,
        publisher_id: str | None = None,
        *,
        buffer: int = 10_000,
        per_message: int = 200,
        ssl: ssl_module.SSLContext | None = None,
        backoff: tuple[float, float] = (0.1, 5.0),
    ) -> None:
        self.url = hub_ws_url(url)
        if ssl is not None and not self.url.startswith("wss://"):
            raise ValueError(f"a TLS context needs a wss:// hub URL, not {self.url}")
        self.token = token
        self.publisher_id = publisher_id or default_publisher_id()
        self.per_message = per_message
        self.ssl = ssl
        self.backoff = backoff
        self.dropped = 0  # events dropped because the buffer was full
        self.errors: list[str] = []  # what the hub reported about our events (last 20)
        self.rejected: str | None = None  # the hub refused our token: retrying cannot help
        self.connected = False
        self._last_failure = ""  # the connection error last logged, so a long outage logs it once
        self.connections = 0
        self._outbox = Outbox(buffer)
        self._wake = asyncio.Event()
        self._ack_changed = asyncio.Event()
        #: Set when the hub refuses this publisher for good (`rejected` says why).
        self.refused = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Publisher:
        self._task = asyncio.create_task(self._run(), name=f"publisher-{self.publisher_id}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop (without waiting for acks: call `flush` first for that)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
            self._task = None

    @property
    def unacked(self) -> int:
        """Events published but not yet acknowledged by the hub."""
        return len(self._outbox.items)

    def publish(self, event: Event | Mapping[str, Any]) -> None:
        """Queue one event for the hub. Never blocks or raises; past the bound the oldest event
        that is not an alert (or a call's start or end) is dropped and counted."""
        try:
            data = event.to_dict() if isinstance(event, Event) else dict(event)
            body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        except (TypeError, ValueError) as err:
            self._note_error(f"event not published, it cannot be JSON: {err}")
            self.dropped += 1
            return
        if len(body) > MAX_MESSAGE:
            self._note_error(f"event not published, {len(body)} bytes is over the hub's message limit")
            self.dropped += 1
            return
        if self._outbox.add(data, body):
            self.dropped += 1
        self._wake.set()

    async def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the hub acknowledged everything published so far; False on timeout."""
        if not self._outbox.items:
            return self.rejected is None
        # The newest event now: its pseq may change if a restarted hub makes us renumber.
        newest = self._outbox.items[-1]
        try:
            async with asyncio.timeout(timeout):
                while newest.pseq > self._outbox.acked and self.rejected is None:
                    self._ack_changed.clear()
                    await self._ack_changed.wait()
        except TimeoutError:
            return False
        return self.rejected is None

    # -- the connection --------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self.backoff[0]
        while True:
            try:
                async with connect(
                    self.url, open_timeout=5, compression=None, max_size=2**20, **self._tls()
                ) as ws:
                    await self._session(ws)
            except ConnectionClosed as err:
                reason = err.rcvd.reason if err.rcvd is not None else ""
                if reason.startswith(FATAL_REASONS):
                    self.rejected = reason
                    self._ack_changed.set()
                    self.refused.set()
                    # Whoever owns the publisher reports it (see `rejected`); here only for the log.
                    log.debug("hub %s refused the publisher: %s", self.url, reason)
                    return
                log.info("hub connection closed: %s", err)
            except (OSError, TimeoutError, InvalidHandshake, ValueError) as err:
                failure = f"hub {self.url} unreachable: {err}"
                if isinstance(err, ssl_module.SSLCertVerificationError) and self.ssl is None:
                    failure += "; trust a self-signed hub with SSL_CERT_FILE=<its certificate file>"
                if failure != self._last_failure:  # once per outage, not once per retry
                    log.info("%s (retrying)", failure)
                    self._last_failure = failure
            if self.connected:
                delay = self.backoff[0]  # it was up: retry soon, then back off again
            self.connected = False
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self.backoff[1])

    def _tls(self) -> dict[str, Any]:
        """`connect`'s TLS argument: the given context, or none at all. websockets refuses
        `ssl=None` for a wss:// URL; left out, it builds `ssl.create_default_context()`, which
        verifies the hub against the system's CAs or SSL_CERT_FILE / SSL_CERT_DIR."""
        return {"ssl": self.ssl} if self.ssl is not None else {}

    async def _session(self, ws: ClientConnection) -> None:
        hello = {"type": "hello", "role": "publisher", "token": self.token, "publisher": self.publisher_id}
        await ws.send(json.dumps(hello))
        async with asyncio.timeout(10):
            welcome = json.loads(await ws.recv())
        if not isinstance(welcome, dict) or welcome.get("type") != "welcome":
            raise ValueError(f"expected welcome, got {str(welcome)[:80]}")
        last_pseq = welcome.get("last_pseq")
        # Line the outbox up with what the hub has: drop what it has, renumber if it lost state.
        if self._outbox.resume(last_pseq if isinstance(last_pseq, int) else 0):
            self._ack_changed.set()
        self.connected = True
        self._last_failure = ""
        self.connections += 1
        log.info("publishing to %s as %s (hub had pseq %s)", self.url, self.publisher_id, last_pseq)
        receiver = asyncio.create_task(self._receive(ws))
        try:
            await self._send_loop(ws, receiver)
        finally:
            receiver.cancel()
            await asyncio.wait([receiver])

    def _note_error(self, message: str) -> None:
        log.warning("%s", message)
        self.errors = [*self.errors[-19:], message]

    def _on_ack(self, pseq: int) -> None:
        if self._outbox.ack(pseq):
            self._ack_changed.set()

    async def _receive(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                msg = json.loads(raw)
                if not isinstance(msg, dict):
                    continue
                if msg.get("type") == "ack" and isinstance(msg.get("pseq"), int):
                    self._on_ack(msg["pseq"])
                elif msg.get("type") == "error":
                    self._note_error(f"hub: {msg.get('message')}")
        finally:
            self._wake.set()  # let the sender see that the connection is gone

    async def _send_loop(self, ws: ClientConnection, receiver: asyncio.Task[None]) -> None:
        while True:
            if receiver.done():
                receiver.result()  # raises ConnectionClosed (or whatever ended it)
                return
            pending = self._outbox.unsent()
            if not pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            for chunk in chunks(pending, self.per_message):
                await ws.send(encode(chunk), text=True)
                self._outbox.sent = chunk[-1].pseq
