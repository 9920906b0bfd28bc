"""Asterisk AudioSocket: a TCP listener that takes each party of a call as its own stream.

Asterisk connects once per leg (an ARI `externalMedia` channel with `encapsulation=audiosocket`,
or the `AudioSocket()` dialplan application) and sends the leg's UUID, then 20 ms frames of
8 kHz signed linear audio. heatmon never sends audio back. Which call and party a UUID is
comes from `LegBook`, which the ARI controller (`monitor.ingest.ari`) fills before it asks
Asterisk to connect; a UUID nobody expected is refused, or, with `--audiosocket-unknown
caller`, taken as a one-party call of its own (the plain dialplan application's case).

AudioSocket has no authentication, so the peer's address must be in `--allow` (default: this
machine). A peer that breaks the protocol (see `audiosocket_frames`), says nothing for
`--audiosocket-idle` seconds, or sends audio at a rate its leg was not opened with, is logged
in one line and disconnected; the call's other leg goes on. A call ends when all its legs have
ended (Asterisk 22 hangs up by closing the socket), and its last words still become a turn.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import uuid

from monitor.errors import InputError
from monitor.ingest import ari, ari_settings
from monitor.ingest.audiosocket_frames import (
    Audio,
    AudioSocketError,
    AudioSocketReader,
    Hangup,
    Identified,
    PeerError,
)
from monitor.ingest.calls import CallDesk, Refused
from monitor.ingest.legs import RATE, CallLegs, Leg, LegBook
from monitor.ingest.listeners import ListenerKind, Network, allowed, register
from monitor.ingest.live_call import CONNECTION_LOST, ERROR, HANGUP, CallIdentity

log = logging.getLogger("heatmon")

IDLE_TIMEOUT = 10.0  # Asterisk sends a frame every 20 ms, silence included
READ_SIZE = 16384
UNKNOWN_POLICIES = ("refuse", "caller")


class AudioSocketServer:
    """The listener: one task per connection, each feeding its leg's party of a live call."""

    def __init__(
        self,
        desk: CallDesk,
        book: LegBook,
        networks: tuple[Network, ...],
        *,
        unknown: str = "refuse",
        idle: float = IDLE_TIMEOUT,
        max_connections: int | None = None,
    ) -> None:
        if unknown not in UNKNOWN_POLICIES:
            raise ValueError(f"unknown UUID policy {unknown!r}")
        self.desk = desk
        self.book = book
        self.networks = networks
        self.unknown = unknown
        self.idle = idle
        self.max_connections = max_connections or 2 * desk.max_calls + 4
        self.refused = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._connection, host, port, limit=READ_SIZE)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.wait(list(self._connections))
        if self._server is not None:
            await self._server.wait_closed()

    def _refuse(self, peer: str, reason: str) -> None:
        self.refused += 1
        log.warning("audiosocket: refused %s: %s", peer, reason)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peername = writer.get_extra_info("peername")
        host = str(peername[0]) if peername else "?"
        peer = f"{host}:{peername[1]}" if peername else "?"
        try:
            if not allowed(host, self.networks):
                self._refuse(peer, "not on the allow-list (--allow)")
                return
            if len(self._connections) >= self.max_connections:
                self._refuse(peer, f"too many connections ({self.max_connections})")
                return
            self._connections.add(task)
            await self._stream(reader, peer)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _stream(self, reader: asyncio.StreamReader, peer: str) -> None:
        frames = AudioSocketReader()
        leg: Leg | None = None
        reason = CONNECTION_LOST
        try:
            while not frames.ended:
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), self.idle)
                except TimeoutError:
                    what = "audio" if leg else "the call's UUID"
                    raise AudioSocketError(f"no {what} for {self.idle:g} s") from None
                if not data:  # Asterisk 22 hangs up by closing the socket
                    reason = HANGUP if leg else CONNECTION_LOST
                    break
                frames.feed(data)
                for message in frames.messages():
                    if isinstance(message, Identified):
                        leg = self._leg(message.uuid, peer)
                        if leg is None:
                            return
                    elif isinstance(message, Audio):
                        assert leg is not None  # the reader refuses audio before the UUID
                        if message.rate != leg.rate:
                            raise AudioSocketError(
                                f"audio at {message.rate} Hz; this leg takes {leg.rate} Hz (format slin)"
                            )
                        leg.legs.live.feed(leg.party, message.pcm)
                    elif isinstance(message, Hangup):
                        reason = HANGUP
                    elif isinstance(message, PeerError):
                        reason = HANGUP if message.code == 0x01 else ERROR
                        log.warning("audiosocket: %s reported an error: %s", peer, message.reason)
        except AudioSocketError as err:
            self._refuse(peer, str(err))
            reason = CONNECTION_LOST
        except (ConnectionError, OSError) as err:
            log.info("audiosocket: %s: connection lost (%s)", peer, err)
            reason = CONNECTION_LOST
        finally:
            if leg is not None:
                leg.legs.done(leg.party, reason)

    def _leg(self, leg_id: uuid.UUID, peer: str) -> Leg | None:
        leg = self.book.claim(leg_id)
        if leg is not None:
            log.info("audiosocket: %s is the %s of call %s", peer, leg.party, leg.legs.live.call)
            return leg
        if self.unknown == "refuse":
            self._refuse(peer, f"unknown call UUID {leg_id} (not announced by the ARI controller)")
            return None
        identity = CallIdentity(call=str(leg_id), source=f"audiosocket {peer}")
        try:
            live = self.desk.open(identity, rates={"caller": RATE})
        except Refused as err:
            self._refuse(peer, err.reason)
            return None
        return Leg(CallLegs(live, {"caller"}), "caller")


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Asterisk (AudioSocket and ARI)")
    group.add_argument(
        "--audiosocket-unknown",
        choices=UNKNOWN_POLICIES,
        default="refuse",
        help="a connection whose UUID the ARI controller did not announce: refuse it (default), or "
        "take it as a call of its own with the audio as the caller (AudioSocket() in the dialplan)",
    )
    group.add_argument(
        "--audiosocket-idle",
        type=float,
        default=IDLE_TIMEOUT,
        metavar="SECONDS",
        help="drop a leg that sends nothing for this long (default: %(default)s; Asterisk sends "
        "a frame every 20 ms)",
    )
    ari_settings.add_options(group)


def check_options(args: argparse.Namespace) -> None:
    """The listener's and the controller's options, checked before anything starts."""
    if not getattr(args, "audiosocket_idle", IDLE_TIMEOUT) > 0:
        raise InputError("--audiosocket-idle must be a positive number of seconds")
    ari_settings.settings(args)


class AudioSocketListener:
    """What `heatmon ingest --audiosocket` runs: the TCP listener and, with --ari, its controller."""

    def __init__(self, server: AudioSocketServer, controller: ari.AriController | None) -> None:
        self.server = server
        self.controller = controller

    @property
    def address(self) -> tuple[str, int]:
        return self.server.address

    async def close(self) -> None:
        if self.controller is not None:
            await self.controller.close()
        await self.server.close()


async def start(desk: CallDesk, address: tuple[str, int], args: argparse.Namespace) -> AudioSocketListener:
    check_options(args)
    idle = getattr(args, "audiosocket_idle", IDLE_TIMEOUT)
    settings = ari_settings.settings(args)
    book = LegBook()
    server = AudioSocketServer(
        desk,
        book,
        getattr(args, "allow_networks", None) or (),
        unknown=getattr(args, "audiosocket_unknown", "refuse"),
        idle=idle,
    )
    await server.start(*address)
    controller = None
    try:
        if settings is not None:
            controller = await ari.start(desk, book, server.address, settings)
    except BaseException:
        await server.close()
        raise
    return AudioSocketListener(server, controller)


KIND = register(
    ListenerKind(
        name="audiosocket",
        help="Asterisk AudioSocket streams (with --ari: the controller that forks each call's two parties)",
        default_port=9092,
        start=start,
        add_options=add_options,
        check=check_options,
    )
)
