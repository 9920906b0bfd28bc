"""Helpers for the hub tests: real clients against a real hub on port 0."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from monitor.hub import Hub, Tokens

TOKENS = Tokens.make(publishers=1, supervisors=2, agents=("alice", "bob"))
LISTENING = re.compile(r"hub listening on ws://127\.0\.0\.1:(\d+)/ws")


def started(call: str, agent: str, t: float = 0.0, **extra: Any) -> dict[str, Any]:
    return {
        "type": "call_started",
        "call": call,
        "t": t,
        "agent": agent,
        "started_at": "2026-11-23T12:00:00Z",
        **extra,
    }


def turn(
    call: str, text: str, t: float = 1.0, speaker: str = "caller", compound: float = -0.5
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "turn",
        "call": call,
        "t": t,
        "speaker": speaker,
        "text": text,
        "start": t - 1,
        "end": t,
    }
    if speaker == "caller":
        event["sentiment"] = {"compound": compound, "neg": 0.5, "neu": 0.5, "pos": 0.0}
    return event


def heat(call: str, value: float, t: float = 2.0, level: str = "warm") -> dict[str, Any]:
    return {
        "type": "heat",
        "call": call,
        "t": t,
        "value": value,
        "level": level,
        "trend": 1.0,
        "reasons": ["negative turn"],
    }


def alert(call: str, alert_id: str, t: float = 3.0) -> dict[str, Any]:
    return {
        "type": "alert",
        "call": call,
        "t": t,
        "id": alert_id,
        "kind": "heat",
        "level": "hot",
        "message": "caller is hot",
        "evidence": ["nobody helped me"],
    }


async def hello(hub: Hub, role: str, token: str, **fields: Any) -> tuple[ClientConnection, dict[str, Any]]:
    """Connect, say hello, return the socket and the welcome."""
    ws = await connect(hub.url, max_size=None)
    await ws.send(json.dumps({"type": "hello", "role": role, "token": token, **fields}))
    welcome = json.loads(await asyncio.wait_for(ws.recv(), 30))
    assert welcome["type"] == "welcome", welcome
    return ws, welcome


async def viewer(
    hub: Hub, role: str = "supervisor", name: str | None = None, **fields: Any
) -> tuple[ClientConnection, dict[str, Any]]:
    return await hello(hub, role, TOKENS.first(role, name).token, **fields)


async def publisher(hub: Hub, publisher_id: str = "p1") -> ClientConnection:
    ws, _ = await hello(hub, "publisher", TOKENS.first("publisher").token, publisher=publisher_id)
    return ws


class Publishing:
    """A raw publisher socket that numbers what it sends."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pseq = 0

    async def send(self, *events: dict[str, Any]) -> None:
        items = []
        for event in events:
            self.pseq += 1
            items.append({**event, "pseq": self.pseq})
        await self.ws.send(json.dumps(items[0] if len(items) == 1 else {"type": "batch", "events": items}))

    async def acked(self, pseq: int | None = None, timeout: float = 30.0) -> None:
        """Wait for an ack of `pseq` (default: everything sent)."""
        target = self.pseq if pseq is None else pseq
        async with asyncio.timeout(timeout):
            while True:
                msg = json.loads(await self.ws.recv())
                if msg["type"] == "ack" and msg["pseq"] >= target:
                    return


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait for a condition of the hub's, polled (the fan-out runs on its own tick); fail after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the hub never got there"
        await asyncio.sleep(0.01)


async def events(ws: ClientConnection, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The next `count` events a viewer receives (unpacking batches)."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            msg = json.loads(await ws.recv())
            got.extend(msg["events"] if msg["type"] == "batch" else [msg])
    return got


async def quiet(ws: ClientConnection, wait: float = 0.3) -> list[dict[str, Any]]:
    """Whatever arrives within `wait` seconds (to show that nothing does)."""
    got: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(wait):
            while True:
                msg = json.loads(await ws.recv())
                got.extend(msg["events"] if msg["type"] == "batch" else [msg])
    except TimeoutError:
        return got
