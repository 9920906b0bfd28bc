"""The hub: one websockets server on one port for publishers, dashboards and static files.

Publishers stream their calls' events (each with a `pseq`); the hub numbers them with a
hub-wide `seq`, folds them into the floor, hands them to an optional store (`sink`) and
acknowledges them, and fans them out to viewers in batches. See docs/hub-protocol.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import ssl as ssl_module
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from monitor.hub.api import HubApi
from monitor.hub.auth import AuthError, Grant, Tokens
from monitor.hub.fanout import Viewer, batch_messages
from monitor.hub.floor import Floor, FloorError, PublisherLedger, Stamped, encode
from monitor.hub.ingest import Ingest, Sink
from monitor.hub.static import WS_PATH, make_process_request
from monitor.paths import DASHBOARD

log = logging.getLogger("monitor.hub")

MAX_MESSAGE_TEXT = 500
#: The message types a supervisor may send.
VIEWER_MESSAGES = ("ack_alert", "message")


@dataclass(frozen=True, slots=True)
class HubConfig:
    """Limits and timings of the hub."""

    # At most one fan-out per tick; the events of a tick go out as one batch. None: adaptive,
    # 0.05 ms per supervisor between 1 and 50 ms, so that the fan-out's own cost (some 10 us
    # per message per socket) stays a modest share of a core however many supervisors
    # watch. (2 ms + 0.1 ms was measured first: p99 2.2x the bare relay's on a quiet machine.)
    tick: float | None = None
    min_tick: float = 0.001
    max_tick: float = 0.05
    tick_per_supervisor: float = 0.00005
    per_message: int = 500  # events per batch message
    viewer_bound: int = 5_000  # queued events past which a viewer is cut off
    stall_timeout: float = 5.0  # a viewer socket that takes nothing for this long is cut off
    replay_window: int = 50_000  # events kept for reconnects with last_seq
    ended_retention: float = 300.0  # seconds an ended call stays on the board
    hello_timeout: float = 10.0
    max_message: int = 64 * 1024
    write_limit: int = 256 * 1024  # per-connection socket buffer before send() waits
    viewer_sndbuf: int = 256 * 1024  # kernel send buffer of a viewer's socket (0: the OS default)
    publisher_idle: float = 24 * 3600.0  # forget a publisher's pseq after this long unheard


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(message: str) -> str:
    return encode({"type": "error", "message": message})


class Hub:
    """The hub's state and connection handling; `serve_hub` runs it on a port."""

    def __init__(self, tokens: Tokens, *, config: HubConfig, sink: Sink | None = None) -> None:
        self.tokens = tokens
        self.config = config
        self.sink = sink
        # seq starts from the clock, so it keeps growing across restarts of the hub and a
        # viewer's last_seq from a previous life can never be mistaken for one of this life.
        self.floor = Floor(
            first_seq=int(time.time() * 1000) * 1000,
            replay_window=config.replay_window,
            ended_retention=config.ended_retention,
        )
        self.ledger = PublisherLedger()
        self.ingest = Ingest(self.floor, self.ledger, self._emit, sink)
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
        self.api = HubApi(self.floor, self.tokens, lambda: len(self.viewers))

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
        try:
            hello = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            hello = None
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            await ws.close(CloseCode.POLICY_VIOLATION, "hello expected")
            return
        try:
            grant = self.tokens.check(hello.get("token"), hello.get("role"))
        except AuthError as err:
            log.info("rejected %s: %s", _peer(ws), err.reason)
            await ws.close(CloseCode.POLICY_VIOLATION, err.reason)
            return
        log.info("%s %s connected from %s", grant.role, grant.name, _peer(ws))
        try:
            if grant.role == "publisher":
                await self._serve_publisher(ws, grant, hello)
            else:
                await self._serve_viewer(ws, grant, hello)
        except ConnectionClosed:
            pass
        finally:
            log.info("%s %s disconnected", grant.role, grant.name)

    async def _serve_viewer(self, ws: ServerConnection, grant: Grant, hello: dict[str, Any]) -> None:
        sock = ws.transport.get_extra_info("socket")
        if sock is not None and self.config.viewer_sndbuf:
            # A fixed kernel send buffer instead of autotuning (up to 4 MB on Linux): a viewer that
            # stopped reading then backs up into our queue, and is cut off, within seconds.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.config.viewer_sndbuf)
        self._flush()  # everything numbered so far goes to the current viewers, not into this replay
        agent = grant.agent
        last_seq = hello.get("last_seq")
        missed = None
        if isinstance(last_seq, int) and not isinstance(last_seq, bool) and last_seq >= 0:
            missed = self.floor.since(last_seq, agent)
        viewer = Viewer(
            ws,
            agent=agent,
            name=grant.name,
            bound=self.config.viewer_bound,
            per_message=self.config.per_message,
            stall_timeout=self.config.stall_timeout,
            write_limit=self.config.write_limit,
            on_cut_off=self._on_cut_off,
        )
        if missed:
            viewer.backlog = missed
        head = {
            "type": "welcome",
            "role": grant.role,
            "agent": agent,
            "name": grant.name,
            "seq": self.floor.seq,
            "replay": missed is not None,
        }
        welcome = encode(head)[:-1] + ',"snapshot":' + self.floor.snapshot_json(agent) + "}"
        # Registered in the same step as the snapshot: no event can fall between the two.
        self.viewers.add(viewer)
        try:
            await ws.send(welcome)
            viewer.start()
            async for raw in ws:
                reply = self._viewer_request(grant, raw)
                if isinstance(reply, str):
                    await ws.send(_error(reply))
                elif reply is not None and self.sink is not None:
                    await self.sink.write([reply])
        finally:
            self.viewers.discard(viewer)
            await viewer.stop()

    def _viewer_request(self, grant: Grant, raw: str | bytes) -> str | dict[str, Any] | None:
        """Carry out a viewer's message: an error text for the client, or the event it made."""
        if grant.role != "supervisor":
            return "agents may not send messages"
        try:
            msg = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return "not JSON"
        if not isinstance(msg, dict):
            return "a message must be a JSON object"
        kind, call = msg.get("type"), msg.get("call")
        # The type first: a message of no known type must say so, not ask for a 'call' it never needed.
        if kind not in VIEWER_MESSAGES:
            return f"unknown message type {kind!r}"
        if not isinstance(call, str) or not call:
            return f"{kind} needs a 'call'"
        at = _iso(time.time())
        try:
            if kind == "ack_alert":
                alert_id = msg.get("id")
                if not isinstance(alert_id, str) or not alert_id:
                    return "ack_alert needs an alert 'id'"
                data, stamped = self.floor.ack_alert(call, alert_id, grant.name, at)
            else:  # "message"
                text = msg.get("text")
                if not isinstance(text, str) or not text.strip():
                    return "message needs a non-empty 'text'"
                if len(text) > MAX_MESSAGE_TEXT:
                    return f"message text is over {MAX_MESSAGE_TEXT} characters"
                data, stamped = self.floor.message(call, grant.name, text.strip(), at)
        except FloorError as err:
            return str(err)
        self._emit(stamped)
        return data

    async def _serve_publisher(self, ws: ServerConnection, grant: Grant, hello: dict[str, Any]) -> None:
        publisher = hello.get("publisher")
        if not isinstance(publisher, str) or not publisher or len(publisher) > 200:
            publisher = f"{grant.name}@{ws.id}"
        welcome = {
            "type": "welcome",
            "role": "publisher",
            "agent": None,
            "name": grant.name,
            "seq": self.floor.seq,
            "last_pseq": self.ledger.last_acked(publisher),
        }
        await ws.send(encode(welcome))
        async for raw in ws:
            try:
                errors, accepted = await self.ingest.accept(publisher, raw)
            except Exception:
                # Not acked, so the publisher resends; the ledger knows it need not re-apply.
                log.exception("the store failed to write events of publisher %s", publisher)
                await ws.close(CloseCode.INTERNAL_ERROR, "store failed")
                return
            for message in errors:
                await ws.send(_error(message))
            if accepted:
                await ws.send(f'{{"type":"ack","pseq":{self.ledger.last_acked(publisher)}}}')

    async def housekeeping(self, every: float = 5.0) -> None:
        """Forget long-ended calls and long-gone publishers, now and then."""
        while True:
            await asyncio.sleep(every)
            now = time.time()
            self.floor.expire(now)
            self.ledger.expire(now, self.config.publisher_idle)


def ssl_context(certfile: Path, keyfile: Path | None) -> ssl_module.SSLContext:
    """A server TLS context from a certificate (and key) file."""
    context = ssl_module.SSLContext(ssl_module.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    return context


@asynccontextmanager
async def serve_hub(
    tokens: Tokens,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    config: HubConfig | None = None,
    sink: Sink | None = None,
    ssl: ssl_module.SSLContext | None = None,
    dashboard: Path = DASHBOARD,
    allowed_origins: Iterable[str] = (),
) -> AsyncIterator[Hub]:
    """Run a hub until the block ends: `async with serve_hub(tokens, port=0) as hub: hub.port`."""
    config = config or HubConfig()
    hub = Hub(tokens, config=config, sink=sink)
    async with serve(
        hub.handler,
        host,
        port,
        process_request=make_process_request(dashboard, allowed_origins, hub.api),
        max_size=config.max_message,
        write_limit=config.write_limit,
        compression=None,  # deflate costs more CPU per message than the bytes it saves on a LAN
        close_timeout=2,
        ssl=ssl,
    ) as server:
        hub.server = server
        sockname = next(iter(server.sockets)).getsockname()
        hub.host, hub.port = (host if host not in ("", "0.0.0.0", "::") else "127.0.0.1"), sockname[1]
        hub.scheme = "wss" if ssl is not None else "ws"
        keeper = asyncio.create_task(hub.housekeeping(), name="hub-housekeeping")
        try:
            yield hub
        finally:
            keeper.cancel()
            await asyncio.wait([keeper])


def _peer(ws: ServerConnection) -> str:
    """The viewer's address as people write it: 127.0.0.1:52336, [::1]:52336."""
    address = ws.remote_address
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(address)
