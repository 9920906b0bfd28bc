"""Twilio Media Streams: a websocket server at `/media` that takes `<Start><Stream>` forks.

One websocket carries one call; its JSON messages are read by `twilio_messages`. A `stop`
ends the call (ended_by `hangup`); a socket that closes without it is a lost connection
(`connection_lost`). `media` timestamps place each leg's audio in the call.

With an auth token (`--twilio-auth-token` or $TWILIO_AUTH_TOKEN), a connection must carry
`X-Twilio-Signature`: base64 HMAC-SHA1, keyed with the token, of the URL Twilio connected to
(`--twilio-url`, else wss:// or ws:// with the request's Host and path). Refusals (a bad
signature, capacity, a malformed `start`) are a websocket close with the reason; a malformed
message inside a call is logged and skipped, and too many of them end the call.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from monitor.errors import InputError
from monitor.ingest.calls import CallDesk, Refused
from monitor.ingest.g711 import ulaw_decode
from monitor.ingest.listeners import ListenerKind, register
from monitor.ingest.live_call import CONNECTION_LOST, HANGUP, CallIdentity, LiveCall
from monitor.ingest.twilio_messages import RATE, SID, Malformed, decode, parse_media, parse_start, signature

log = logging.getLogger("heatmon")
_WS_LOG = logging.getLogger("monitor.ingest.twilio.websockets")  # one line per connection: quiet
_WS_LOG.setLevel(logging.WARNING)

PATH = "/media"
MAX_MESSAGE = 64 * 1024  # a media message of 20 ms is about 300 bytes
MAX_AHEAD_MS = 10_000  # a timestamp further ahead of the call's present than this is not believed
START_TIMEOUT = 10.0  # seconds from connecting to `start`
IDLE_TIMEOUT = 20.0  # seconds without a message before the call counts as lost
MAX_MALFORMED = 50  # malformed messages a call may send before it is ended
MAX_LOGGED = 3  # malformed messages logged per connection (then only counted)

# Close codes (RFC 6455): 1008 policy violation, 1003 unacceptable data, 1013 try again later.
POLICY, UNACCEPTABLE, TRY_LATER = 1008, 1003, 1013


@dataclass
class _Connection:
    """One websocket's state: its call once `start` came, and what was wrong with it."""

    peer: str
    live: LiveCall | None = None
    malformed: int = 0
    stream: str = ""
    tracks: list[str] = field(default_factory=list)


class TwilioListener:
    """The Media Streams websocket server of one `heatmon ingest`."""

    def __init__(self, desk: CallDesk, auth_token: str | None, public_url: str | None) -> None:
        self.desk = desk
        self.auth_token = auth_token
        self.public_url = public_url
        self._server: Server | None = None
        self.refused: list[str] = []  # why connections were refused (the last 50)

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None
        sockname = next(iter(self._server.sockets)).getsockname()
        return str(sockname[0]), int(sockname[1])

    async def start(self, host: str, port: int) -> None:
        self._server = await serve(
            self._handle,
            host,
            port,
            process_request=self._route,
            max_size=MAX_MESSAGE,
            compression=None,
            ping_interval=None,  # Twilio streams without pause; the idle timeout sees a dead peer
            logger=_WS_LOG,
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _route(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?", 1)[0] != PATH:
            return connection.respond(404, f"Media Streams are served at {PATH}\n")
        return None

    def _signed(self, request: Request) -> bool:
        """Whether the request carries Twilio's signature for the URL it was sent to."""
        assert self.auth_token is not None
        given = request.headers.get("X-Twilio-Signature", "")
        if not given:
            return False
        host = request.headers.get("Host", "")
        urls = (
            [self.public_url]
            if self.public_url
            else [f"wss://{host}{request.path}", f"ws://{host}{request.path}"]
        )
        return any(hmac.compare_digest(signature(self.auth_token, url), given) for url in urls)

    async def _refuse(self, ws: ServerConnection, code: int, reason: str, peer: str) -> None:
        log.warning("twilio: refused %s: %s", peer, reason)
        self.refused = [*self.refused[-49:], reason]
        await ws.close(code, reason[:120])

    async def _handle(self, ws: ServerConnection) -> None:
        peer = f"{ws.remote_address[0]}:{ws.remote_address[1]}" if ws.remote_address else "?"
        if self.auth_token is not None and (ws.request is None or not self._signed(ws.request)):
            await self._refuse(ws, POLICY, "invalid or missing X-Twilio-Signature", peer)
            return
        conn = _Connection(peer)
        try:
            await self._session(ws, conn)
        except ConnectionClosed:
            pass
        finally:
            if conn.live is not None:
                conn.live.end(CONNECTION_LOST)  # no-op after `stop`: the first reason stays

    async def _session(self, ws: ServerConnection, conn: _Connection) -> None:
        while True:
            timeout = START_TIMEOUT if conn.live is None else IDLE_TIMEOUT
            try:
                async with asyncio.timeout(timeout):
                    raw = await ws.recv()
            except TimeoutError:
                what = "no start message" if conn.live is None else f"no message for {IDLE_TIMEOUT:.0f} s"
                await self._refuse(ws, POLICY, what, conn.peer)
                return
            try:
                message = decode(raw)
                event = message.get("event")
                if event == "start":
                    if conn.live is not None:
                        raise Malformed("a second start message")
                    if not await self._start(ws, conn, message):
                        return
                elif event == "media":
                    self._media(conn, message)
                elif event == "stop":
                    if conn.live is not None:
                        conn.live.end(HANGUP)
                        log.info("twilio: call %s stopped by the peer", conn.live.call)
                    await ws.close()
                    return
                elif event not in ("connected", "mark", "dtmf"):
                    raise Malformed(f"unknown event {str(event)[:20]!r}")
            except Malformed as err:
                conn.malformed += 1
                if conn.malformed <= MAX_LOGGED:
                    log.warning("twilio: %s: message refused: %s", conn.peer, err)
                if conn.live is None or conn.malformed > MAX_MALFORMED:
                    await self._refuse(ws, UNACCEPTABLE, f"malformed Media Streams message: {err}", conn.peer)
                    return

    async def _start(self, ws: ServerConnection, conn: _Connection, message: dict[str, Any]) -> bool:
        call_sid, names, tracks = parse_start(message)
        stream = message.get("streamSid") or message["start"].get("streamSid") or ""
        conn.stream = stream if isinstance(stream, str) and SID.match(stream) else ""
        identity = CallIdentity(
            call=call_sid,
            agent=names["agent"] or "agent",
            caller_number=names["caller"],
            caller_name=names["callerName"],
            source=f"twilio media stream {conn.stream or '?'} from {conn.peer}",
        )
        try:
            conn.live = self.desk.open(identity)
        except Refused as err:
            await self._refuse(ws, TRY_LATER if err.busy else POLICY, err.reason, conn.peer)
            return False
        conn.tracks = tracks
        return True

    def _media(self, conn: _Connection, message: dict[str, Any]) -> None:
        if conn.live is None:
            raise Malformed("media before start")
        party, audio, timestamp = parse_media(message)
        at = None
        if timestamp is not None:
            at = timestamp * RATE // 1000
            if at > conn.live.source.now(party) + MAX_AHEAD_MS * RATE // 1000:
                raise Malformed(f"media.timestamp {timestamp} is far ahead of the call")
        conn.live.feed(party, ulaw_decode(audio), at)


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("twilio")
    group.add_argument(
        "--twilio-auth-token",
        metavar="TOKEN",
        help="check X-Twilio-Signature with this account auth token (default: $TWILIO_AUTH_TOKEN)",
    )
    group.add_argument(
        "--twilio-url",
        metavar="URL",
        help="the public URL Twilio connects to, as signed (default: from the Host header)",
    )


def check(args: argparse.Namespace) -> None:
    url = getattr(args, "twilio_url", None)
    if url is not None and not url.startswith(("ws://", "wss://")):
        raise InputError(f"--twilio-url must be a ws:// or wss:// URL, not {url!r}")


async def start(desk: CallDesk, address: tuple[str, int], args: argparse.Namespace) -> TwilioListener:
    check(args)
    token = getattr(args, "twilio_auth_token", None) or os.environ.get("TWILIO_AUTH_TOKEN") or None
    url = getattr(args, "twilio_url", None)
    if token is None:
        log.warning("twilio: no auth token: connections are not checked for Twilio's signature")
    listener = TwilioListener(desk, token, url)
    await listener.start(*address)
    return listener


KIND = register(
    ListenerKind(
        name="twilio",
        help="Twilio Media Streams websocket (path /media)",
        default_port=8080,
        start=start,
        add_options=add_options,
        check=check,
    )
)
