"""The Asterisk REST Interface controller: forks each call's two parties to AudioSocket.

A call enters `Stasis(heatmon)` in the dialplan (docs/asterisk.md). On its `StasisStart`
heatmon reads who is on the call (the caller's number and name from the channel's caller id,
the agent from the channel variable `HEATMON_AGENT`, else the dialled extension), opens the
call on the desk, and for each party makes three things on Asterisk:

    snoop channel (spy=in: the caller's voice; spy=out: what the caller hears, the agent)
      -> a mixing bridge <- externalMedia channel (encapsulation=audiosocket, transport=tcp,
         format=slin, data=the leg's UUID), which connects to our AudioSocket listener

The UUID is ours, announced in the `LegBook` before Asterisk connects, so the listener knows
each stream's call and party. Then the channel is sent on in the dialplan (`continue`), where
it dials the agent; heatmon is never in the call's way. If anything fails, the call still
goes on (unmonitored, or with one party) and the failure is logged. When a snoop ends (the
call hung up) its bridge and media channel are torn down, which closes that AudioSocket.

REST calls are plain HTTP with basic auth (`ari_client`: urllib, in a thread; the `--ari*`
options are read by `ari_settings`); events come over ARI's websocket (`/ari/events?app=...`),
re-established with backoff if Asterisk restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidURI, WebSocketException

from monitor.errors import InputError
from monitor.ingest.ari_client import REQUEST_TIMEOUT, AriClient, AriError
from monitor.ingest.ari_settings import AriSettings
from monitor.ingest.calls import CallDesk, Refused
from monitor.ingest.legs import CallLegs, LegBook
from monitor.ingest.live_call import CONNECTION_LOST, ERROR, CallIdentity

log = logging.getLogger("heatmon")

AGENT_VARIABLE = "HEATMON_AGENT"
SPY = {"caller": "in", "agent": "out"}  # snoop direction of each party, from the caller's channel
PREFIX = "heatmon-"  # ids of the channels and bridges we make
# Asterisk connects a leg while it answers our externalMedia request; a leg still unheard this
# long after is given up, so its call cannot wait for it forever (an event lost with ARI down).
CONNECT_TIMEOUT = 30.0
MAX_BACKOFF = 10.0
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(value: Any, limit: int = 128) -> str | None:
    """A field from the phone system as a clean one-line string (None if empty or absent)."""
    if not isinstance(value, str):
        return None
    value = _CONTROL.sub("", value).strip()[:limit]
    return value or None


@dataclass
class _Leg:
    call: str
    leg_id: uuid.UUID
    snoop: str
    media: str
    bridge: str


class AriController:
    """Follows ARI's events and forks every call that enters the Stasis application."""

    def __init__(
        self, desk: CallDesk, book: LegBook, client: AriClient, media_address: tuple[str, int]
    ) -> None:
        self.desk = desk
        self.book = book
        self.client = client
        self.media_address = media_address
        self.connected = asyncio.Event()
        self.forked = 0
        self._legs: dict[str, _Leg] = {}  # by snoop id and by media id
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._runner = asyncio.get_running_loop().create_task(self._run(), name="ari-events")

    async def close(self) -> None:
        tasks = [t for t in (self._runner, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def _run(self) -> None:
        backoff = 0.5
        app = self.client.settings.app
        while True:
            try:
                async with connect(
                    self.client.events_url,
                    additional_headers=self.client.headers,
                    max_size=1 << 20,
                    open_timeout=REQUEST_TIMEOUT,
                ) as ws:
                    log.info("ari: connected to %s as application %s", self.client.settings.url, app)
                    self.connected.set()
                    backoff = 0.5
                    async for message in ws:
                        self._event(message)
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI, WebSocketException) as err:
                log.warning("ari: events from %s: %s; again in %g s", self.client.settings.url, err, backoff)
            self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(MAX_BACKOFF, backoff * 2)

    def _event(self, message: str | bytes) -> None:
        try:
            event = json.loads(message)
        except ValueError:
            log.warning("ari: an event that is not JSON, ignored")
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        channel = event.get("channel")
        if not isinstance(channel, dict) or not isinstance(channel.get("id"), str):
            return
        if kind == "StasisStart" and not channel["id"].startswith(PREFIX):
            self._spawn(self._fork(channel), f"ari-fork-{channel['id']}")
        elif kind in ("StasisEnd", "ChannelDestroyed") and channel["id"] in self._legs:
            self._spawn(self._tear_down(self._legs[channel["id"]]), f"ari-end-{channel['id']}")

    def _spawn(self, work: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _identity(self, channel: dict[str, Any]) -> CallIdentity:
        caller = _object(channel.get("caller"))
        agent = None
        with contextlib.suppress(AriError):
            answer = await self.client.request(
                "GET", f"/channels/{_q(channel['id'])}/variable", variable=AGENT_VARIABLE
            )
            if isinstance(answer, dict):
                agent = _text(answer.get("value"), 64)
        if agent is None:
            agent = _text(_object(channel.get("dialplan")).get("exten"), 64) or "agent"
        return CallIdentity(
            call=_text(channel["id"], 64) or str(uuid.uuid4()),
            agent=agent,
            caller_number=_text(caller.get("number"), 64),
            caller_name=_text(caller.get("name")),
            source=f"asterisk {_text(channel.get('name')) or channel['id']}",
        )

    async def _fork(self, channel: dict[str, Any]) -> None:
        channel_id = channel["id"]
        try:
            identity = await self._identity(channel)
            try:
                live = self.desk.open(identity)
            except Refused as err:
                log.warning("ari: call %s not monitored: %s", channel_id, err.reason)
                return
            legs = CallLegs(live, set(SPY))
            for party, spy in SPY.items():
                await self._leg(channel_id, legs, party, spy)
            self.forked += 1
        finally:
            # The call goes on in the dialplan whatever happened here.
            try:
                await self.client.request("POST", f"/channels/{_q(channel_id)}/continue")
            except AriError as err:
                if err.status != 404:  # 404: the caller hung up meanwhile
                    log.warning("ari: could not send call %s on: %s", channel_id, err)

    async def _leg(self, channel_id: str, legs: CallLegs, party: str, spy: str) -> None:
        leg_id = uuid.uuid4()
        leg = _Leg(legs.live.call, leg_id, f"{PREFIX}snoop-{leg_id}", f"{PREFIX}media-{leg_id}",
                   f"{PREFIX}bridge-{leg_id}")  # fmt: skip
        self.book.expect(leg_id, legs, party)
        asyncio.get_running_loop().call_later(CONNECT_TIMEOUT, self.book.drop, leg_id, CONNECTION_LOST)
        self._legs[leg.snoop] = self._legs[leg.media] = leg
        app = self.client.settings.app
        host, port = self.media_address
        try:
            await self.client.request("POST", f"/channels/{_q(channel_id)}/snoop", spy=spy, app=app,
                                      snoopId=leg.snoop)  # fmt: skip
            await self.client.request(
                "POST", "/channels/externalMedia", app=app, channelId=leg.media,
                external_host=f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
                encapsulation="audiosocket", transport="tcp", format="slin", data=str(leg_id),
            )  # fmt: skip
            await self.client.request("POST", "/bridges", type="mixing", bridgeId=leg.bridge)
            await self.client.request("POST", f"/bridges/{_q(leg.bridge)}/addChannel",
                                      channel=f"{leg.snoop},{leg.media}")  # fmt: skip
        except AriError as err:
            log.warning("ari: call %s: no %s leg: %s", legs.live.call, party, err)
            self.book.drop(leg_id, ERROR)
            await self._tear_down(leg)

    async def _tear_down(self, leg: _Leg) -> None:
        """Hang up a leg's snoop and media channels and destroy its bridge (each may be gone)."""
        if self._legs.pop(leg.snoop, None) is None:
            return
        self._legs.pop(leg.media, None)
        # A leg whose stream never said its UUID (refused, or never connected) ends here.
        self.book.drop(leg.leg_id, CONNECTION_LOST)
        for method, path in (
            ("DELETE", f"/channels/{_q(leg.media)}"),
            ("DELETE", f"/channels/{_q(leg.snoop)}"),
            ("DELETE", f"/bridges/{_q(leg.bridge)}"),
        ):
            try:
                await self.client.request(method, path)
            except AriError as err:
                if err.status != 404:
                    log.warning("ari: call %s: %s", leg.call, err)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _q(identifier: str) -> str:
    return urllib.parse.quote(identifier, safe="")


async def start(
    desk: CallDesk, book: LegBook, listener: tuple[str, int], settings: AriSettings
) -> AriController:
    """Check the ARI user against Asterisk, then follow its events in the background."""
    client = AriClient(settings)
    media = settings.media_address or listener
    if media[0] in ("0.0.0.0", "::", ""):
        raise InputError("--audiosocket listens on every address: say with --ari-media-address where "
                         "Asterisk reaches it")  # fmt: skip
    try:
        await client.request("GET", "/asterisk/info")
    except AriError as err:
        if err.status in (401, 403):
            raise InputError(f"ARI at {settings.url} refused user {settings.user!r}: check ari.conf "
                             "and the password") from None  # fmt: skip
        # Asterisk may simply not be up yet: the controller keeps trying.
        log.warning("ari: %s", err)
    controller = AriController(desk, book, client, media)
    controller.start()
    return controller
