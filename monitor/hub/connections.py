"""The hub's state and connection handling: hello, then a publisher's or a viewer's session.

A thin adapter over `protocol.HubProtocol`, which decides what every message does: this
module reads the sockets, passes each message on with the time, and sends, stores and
fans out what comes back (in batches, per tick). See docs/hub-protocol.md.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

from websockets.asyncio.server import Server, ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from monitor.events import Error
from monitor.hub.api import HubApi
from monitor.hub.auth import Grant, LoginLimiter, Tokens, TokensFile
from monitor.hub.call_state import Stamped
from monitor.hub.collector import CollectorPacing
from monitor.hub.config import HubConfig
from monitor.hub.fanout import Viewer, batch_messages
from monitor.hub.floor import Floor, PublisherLedger
from monitor.hub.protocol import Admitted, HubProtocol, Made, Refused
from monitor.hub.static import WS_PATH, peer, peer_host, too_many_failures

log = logging.getLogger("monitor.hub")


class Sink(Protocol):
    """Where accepted events are stored; the hub acks only after `write` returns."""

    async def write(self, events: list[dict[str, Any]]) -> None: ...


class Hub:
    """The hub's state and connection handling; `serve_hub` runs it on a port."""

    def __init__(
        self, tokens: Tokens, *, config: HubConfig, sink: Sink | None = None, tokens_file: Path | None = None
    ) -> None:
        self.tokens = tokens
        self.tokens_file = TokensFile(tokens, tokens_file, every=config.tokens_recheck)
        self.logins = LoginLimiter(config.login_failures, config.login_per, config.login_refuse_for)
        self.origins: frozenset[str] = frozenset()  # browser origins allowed, set once listening
        self.config = config
        self.sink = sink
        # seq starts from the clock, so it keeps growing across restarts of the hub and a
        # viewer's last_seq from a previous life can never be mistaken for one of this life.
        self.floor = Floor(
            first_seq=int(time.time() * 1000) * 1000,
            replay_window=config.replay_window,
            window_bytes=config.replay_window_bytes,
            snapshot_bytes=config.welcome_bytes,
            redact=config.redact,
            ended_retention=config.ended_retention,
        )
        self.ledger = PublisherLedger()
        self.collector = CollectorPacing(config.collector_thaw_every) if config.collector_thaw_every else None
        self.protocol = HubProtocol(self.floor, self.ledger, tokens)
        self.viewers: set[Viewer] = set()
        self.cut_offs = 0
        self.stats: Counter[str] = Counter()  # for benchmarks and curious operators
        self._outbox: list[Stamped] = []
        self._flush_handle: asyncio.Handle | None = None
        self._last_flush = 0.0
        self._tick = config.tick if config.tick is not None else config.min_tick
        self.server: Server | None = None
        self.port = 0
        self.host = ""
        self.scheme = "ws"
        self.api = HubApi(
            self.floor,
            lambda: self.current_tokens(time.time()),
            lambda: len(self.viewers),
            self._failed_login,
        )

    # -- urls ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The websocket URL clients connect to."""
        return f"{self.scheme}://{self.host}:{self.port}{WS_PATH}"

    @property
    def http_url(self) -> str:
        return f"{'https' if self.scheme == 'wss' else 'http'}://{self.host}:{self.port}"

    # -- fan-out ---------------------------------------------------------------------------

    def _emit(self, stamped: Stamped) -> None:
        self._outbox.append(stamped)
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            wait = self._last_flush + self._tick - loop.time()
            if wait > 0:
                self._flush_handle = loop.call_later(wait, self._flush)
            else:
                self._flush_handle = loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Hand the events of this tick to every viewer's queue."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._last_flush = asyncio.get_running_loop().time()
        events, self._outbox = self._outbox, []
        if not events:
            return
        see_all: list[ServerConnection] = []
        self.stats["ticks"] += 1
        self.stats["events"] += len(events)
        for viewer in list(self.viewers):
            if viewer.agent is None and viewer.idle:
                see_all.append(viewer.ws)
            else:
                self.stats["offers_to_busy_viewers"] += 1
                viewer.offer(events)
        if see_all:
            # Supervisors that keep up all get the same messages: encode them once for all.
            for message in batch_messages([s.json for s in events], self.config.per_message):
                broadcast(see_all, message)
        if self.config.tick is None:
            supervisors = sum(1 for v in self.viewers if v.agent is None)
            wanted = supervisors * self.config.tick_per_supervisor
            self._tick = min(self.config.max_tick, max(self.config.min_tick, wanted))

    def _on_cut_off(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        self.cut_offs += 1

    # -- logins ----------------------------------------------------------------------------

    def current_tokens(self, now: float) -> Tokens:
        """The tokens as the tokens file has them now (re-read when it changed)."""
        tokens = self.tokens_file.current(now)
        if tokens is not self.tokens:
            self.tokens = self.protocol.tokens = tokens
        return tokens

    def _failed_login(self, peer: str, reason: str) -> float:
        """Log a refused login (never its token) and count it against its address; the seconds
        the address is now refused for."""
        wait = self.logins.failed(peer.rsplit(":", 1)[0].strip("[]"), time.time())
        log.warning("failed login from %s: %s", peer, reason)
        if wait:
            log.warning("refusing %s for %.0f s: too many failed logins", peer, wait)
        return wait

    # -- connections -----------------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        """One connection: hello, then a publisher's or a viewer's session."""
        try:
            async with asyncio.timeout(self.config.hello_timeout):
                raw = await ws.recv()
        except TimeoutError:
            await ws.close(CloseCode.POLICY_VIOLATION, "hello expected")
            return
        except ConnectionClosed:
            return
        now = time.time()
        wait = self.logins.refused(peer_host(ws.remote_address), now)
        if wait:  # refused since its handshake, by failures on other connections
            await ws.close(CloseCode.POLICY_VIOLATION, too_many_failures(wait))
            return
        self.current_tokens(now)
        decision = self.protocol.hello(raw)
        if isinstance(decision, Refused):
            self._failed_login(_peer(ws), f"hello: {decision.reason}")
            await ws.close(CloseCode.POLICY_VIOLATION, decision.reason)
            return
        grant = decision.grant
        log.info("%s %s connected from %s", grant.role, grant.name, _peer(ws))
        try:
            if grant.role == "publisher":
                await self._serve_publisher(ws, decision)
            else:
                await self._serve_viewer(ws, decision)
        except ConnectionClosed:
            pass
        finally:
            log.info("%s %s disconnected", grant.role, grant.name)

    async def _serve_viewer(self, ws: ServerConnection, admitted: Admitted) -> None:
        sock = ws.transport.get_extra_info("socket")
        if sock is not None and self.config.viewer_sndbuf:
            # A fixed kernel send buffer instead of autotuning (up to 4 MB on Linux): a viewer that
            # stopped reading then backs up into our queue, and is cut off, within seconds.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.config.viewer_sndbuf)
        self._flush()  # everything numbered so far goes to the current viewers, not into this replay
        grant = admitted.grant
        welcome, missed = self.protocol.viewer_welcome(admitted)
        viewer = Viewer(
            ws,
            agent=grant.agent,
            name=grant.name,
            bound=self.config.viewer_bound,
            byte_bound=self.config.viewer_bytes,
            per_message=self.config.per_message,
            stall_timeout=self.config.stall_timeout,
            write_limit=self.config.write_limit,
            on_cut_off=self._on_cut_off,
        )
        if missed:
            viewer.backlog = missed
        # Registered in the same step as the snapshot: no event can fall between the two.
        self.viewers.add(viewer)
        try:
            await ws.send(welcome.to_json())
            viewer.start()
            async for raw in ws:
                await self._viewer_request(ws, grant, raw)
        finally:
            self.viewers.discard(viewer)
            await viewer.stop()

    async def _viewer_request(self, ws: ServerConnection, grant: Grant, raw: str | bytes) -> None:
        outcome = self.protocol.request(grant, raw, time.time())
        if isinstance(outcome, Error):
            await ws.send(outcome.to_json())
            return
        assert isinstance(outcome, Made)
        self._emit(outcome.stamped)
        if self.sink is not None:
            await self.sink.write([outcome.event])

    async def _serve_publisher(self, ws: ServerConnection, admitted: Admitted) -> None:
        publisher, welcome = self.protocol.publisher_welcome(admitted, str(ws.id))
        await ws.send(welcome.to_json())
        async for raw in ws:
            intake = self.protocol.publish(publisher, raw, time.time())
            for stamped in intake.stamped:
                self._emit(stamped)
            try:
                if self.sink is not None and intake.to_store:
                    await self.sink.write(intake.to_store)
            except Exception:
                # Not acked, so the publisher resends; the ledger knows it need not re-apply.
                log.exception("the store failed to write events of publisher %s", publisher)
                await ws.close(CloseCode.INTERNAL_ERROR, "store failed")
                return
            for error in intake.errors:
                await ws.send(error.to_json())
            ack = self.protocol.confirm(publisher, intake)
            if ack is not None:
                await ws.send(ack.to_json())

    async def housekeeping(self, every: float = 5.0) -> None:
        """Forget long-ended calls and long-gone publishers, now and then."""
        while True:
            await asyncio.sleep(every)
            now = time.time()
            self.floor.expire(now)
            self.ledger.expire(now, self.config.publisher_idle)
            if self.collector is not None:
                self.collector.tick(time.monotonic())


def _peer(ws: ServerConnection) -> str:
    """The client's address as people write it: 127.0.0.1:52336, [::1]:52336."""
    return peer(ws.remote_address)
