"""Hostile input and faults against a real `heatmon hub` (with its store, on loopback), in one run.

    python bench/hub_hostile.py                              200 calls, 10 viewers, ~45 s of traffic
    python bench/hub_hostile.py --calls 40 --viewers 3 --duration 15
    python bench/hub_hostile.py --json figures.json          the figures as JSON as well

What runs at once, all on 127.0.0.0/8 (nothing else is ever contacted):
- legitimate traffic throughout: N calls (start, caller and agent turns, heat, alerts, end)
  published by 4 real publishers (`monitor.hub.publisher.Publisher`, which resends what was
  not acknowledged after a reconnect), and M supervisor viewers that reconnect with
  `last_seq` as the pages do (and drop their connection now and then on purpose);
- hostile clients in three waves, each kind from a loopback address of its own (127.0.W.K) so
  that the per-address login limits of one kind cannot hide another: every kind is tried,
  counted, and its answers tallied (an error to its sender, an HTTP status, a close reason);
- faults: kill -9 of the hub and a restart on the same store and port, then a SIGTERM and a
  restart, then a final SIGTERM.

Then: every acknowledged event must be in the store (lost: 0); every viewer must have every
turn published, from its stream (live or replayed after a reconnect with last_seq) or, across
a restart of the hub, from the welcome snapshot it rebuilds from (reported separately); no
hostile marker text, no NaN or Infinity in anything a viewer or /api/floor received; the floor
and every page's websocket answer at the end; the hub's stderr holds no traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from monitor.hub import Tokens
from monitor.hub.publisher import Publisher

MARK = "HOSTILE"  # in every piece of hostile text: none may ever reach a viewer or the floor
OLD = "EARLIERCALL"  # the earlier call's text under a reused call id: never shown to the new agent
LISTENING = re.compile(r"hub listening on ws://127\.0\.0\.1:(\d+)/ws")
PUBLISHERS = 4
TURNS = 6  # per call, caller and agent in turn
AGENTS = ("alice", "bob")

# What each kind of input should get. A kind passes when every try got an answer of its
# class: refused (an error to its sender, a 4xx, a close with a reason, an exit code 2), or
# for the two kinds that are not refused, the answer they must get.
KINDS: dict[str, str] = {
    "nan": "NaN in a number of a published event or a supervisor request",
    "infinity": "Infinity, -Infinity or 1e400 in a number",
    "nan_in_words": "NaN or Infinity inside a turn's `words`",
    "lone_surrogate_event": "a lone surrogate in a published event's text",
    "lone_surrogate_message": "a lone surrogate in a supervisor message",
    "unstorable": "fields the store cannot write (sentiment a list, evidence a number, ...)",
    "reused_call_id": "a call id used again for another agent's call",
    "deep_json": "JSON nested 10,000-30,000 deep (hello, publisher, supervisor)",
    "oversized_message": "a websocket message over 64 KiB",
    "oversized_text": "a supervisor message over 500 characters; a transcript turn over 10,000",
    "bad_transcript": "`heatmon replay --hub` on transcripts with NaN in words, 1e400, long text",
    "duplicate_headers": "two Host, Origin or Authorization headers",
    "long_path": "a path component over 255 characters",
    "huge_numbers": "numbers and offsets too large for SQLite in the history API",
    "traversal": "traversal paths (.., %2e%2e, %2f, //)",
    "sql_like": "SQL-like query strings and call references",
    "wrong_token": "wrong tokens, websocket and HTTP (rate limited per address)",
    "http_methods": "HEAD and other HTTP methods",
    "stalled_viewer": "a supervisor viewer that stops reading",
    "hello_flood": "floods of bad hellos, a second hello, connections that never say hello",
    "hello_flood_valid": "a flood of valid supervisor hellos (must all be welcomed)",
}


# The answers each kind must get (how an answer starts). An event refused must leave its
# publisher's connection up: a close there (say "1011 store failed") is a defect, not a refusal.
EXPECTED: dict[str, tuple[str, ...]] = {
    "nan": ("error:",),
    "infinity": ("error:",),
    "nan_in_words": ("error:",),
    "lone_surrogate_event": ("error:",),
    "lone_surrogate_message": ("error:",),
    "unstorable": ("error:",),
    "reused_call_id": ("replaced: the new agent sees nothing of the earlier call",),
    "deep_json": ("error: not JSON", "closed 1008 hello expected"),
    "oversized_message": ("closed 1009",),
    "oversized_text": ("error:", "exit 2:"),
    "bad_transcript": ("exit 2:",),
    "duplicate_headers": ("HTTP 400",),
    "long_path": ("HTTP 4",),
    # a limit or offset past its range is brought into it
    "huge_numbers": ("HTTP 4", "HTTP 200, clamped"),
    "traversal": ("HTTP 4",),
    # queries are parameterised: SQL in them matches nothing
    "sql_like": ("HTTP 4", "HTTP 200, 0 calls"),
    "wrong_token": ("closed 1008 invalid token", "closed 1008 too many", "HTTP 401", "HTTP 429"),
    "http_methods": ("HTTP 405", "HEAD: HTTP 200, no body", "HEAD: HTTP 404, no body"),
    "stalled_viewer": ("cut off:",),
    "hello_flood": ("closed 1008", "HTTP 429", "error: unknown message type"),
    "hello_flood_valid": ("welcome",),
}


def is_refusal(kind: str, answer: str) -> bool:
    """Is `answer` what a try of `kind` should get?"""
    return answer.startswith(EXPECTED[kind])


def short(text: str) -> str:
    """An answer's text with its numbers, paths and quoted values folded, so alike answers tally
    together."""
    text = re.sub(r"'[^']*'", "'…'", text)
    text = re.sub(r"/\S*/", "", text)
    return re.sub(r"\d+", "N", text)[:70]


# -- the hub process ----------------------------------------------------------------------


class HubRun:
    """`heatmon hub --data DIR --port PORT --quiet` as a child process, its stderr in one log
    across every life."""

    def __init__(self, data: Path, log: Path) -> None:
        self.data, self.log = data, log
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.exit_codes: list[int] = []

    def start(self, port: int = 0) -> None:
        with self.log.open("a") as err:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "monitor",
                    "hub",
                    "--data",
                    str(self.data),
                    "--port",
                    str(port),
                    "--quiet",
                ],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 60
        for line in self.proc.stdout:
            found = LISTENING.search(line)
            if found:
                self.port = int(found.group(1))
                break
            if time.monotonic() > deadline:
                break
        if not self.port:
            raise SystemExit(f"the hub did not start: {self.log.read_text()[-2000:]}")
        stdout = self.proc.stdout
        threading.Thread(target=lambda: [None for _ in stdout], daemon=True).start()

    def kill_9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(60)
        self.exit_codes.append(code)
        return code

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


# -- legitimate traffic -------------------------------------------------------------------


def call_events(n: int, agent: str) -> list[dict[str, Any]]:
    """One legitimate call's events, in order."""
    call = f"L{n:04d}"
    events: list[dict[str, Any]] = [
        {
            "type": "call_started",
            "call": call,
            "t": 0.0,
            "agent": agent,
            "source": "bench",
            "started_at": "2026-12-04T05:00:00Z",
            "caller_name": f"caller {n}",
        },
    ]
    for k in range(TURNS):
        t = 5.0 * (k + 1)
        speaker = "caller" if k % 2 == 0 else "agent"
        turn: dict[str, Any] = {
            "type": "turn",
            "call": call,
            "t": t,
            "speaker": speaker,
            "start": t - 3,
            "end": t,
            "text": f"legit {call} turn {k} i have been waiting for weeks",
        }
        if speaker == "caller":
            turn["sentiment"] = {"compound": -0.4, "neg": 0.3, "neu": 0.7, "pos": 0.0}
            turn["words"] = [{"word": "legit", "start": t - 3, "end": t - 2.5, "conf": 0.9}]
        events.append(turn)
        if speaker == "caller":
            value = min(95.0, 20.0 + 12.0 * k)
            events.append(
                {
                    "type": "heat",
                    "call": call,
                    "t": t,
                    "value": value,
                    "trend": 4.0,
                    "level": "warm" if value < 60 else "hot",
                    "reasons": ["negative turn"],
                }
            )
    if n % 4 == 0:
        events.append(
            {
                "type": "alert",
                "call": call,
                "t": 26.0,
                "id": f"legit-{call}",
                "kind": "heat",
                "level": "warning",
                "message": "caller is hot",
                "evidence": ["waiting for weeks"],
            }
        )
    events.append({"type": "call_ended", "call": call, "t": 31.0, "duration": 31.0, "summary": {"peak": 80}})
    return events


@dataclass
class Legit:
    """The publishers, and what they published when."""

    publishers: list[Publisher]
    published: dict[str, float] = field(default_factory=dict)  # turn text -> when published
    alerts: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)
    events: int = 0

    async def run(self, calls: int, duration: float, start: float) -> None:
        """Publish every call's events, the calls overlapping, spread over `duration` seconds."""
        plan: list[tuple[float, int, dict[str, Any]]] = []
        rng = random.Random(7)
        for n in range(calls):
            begin = rng.uniform(0, duration * 0.6)
            length = duration * 0.35
            events = call_events(n, AGENTS[n % 2])
            for i, event in enumerate(events):
                plan.append((begin + length * i / (len(events) - 1), n % len(self.publishers), event))
        plan.sort(key=lambda p: p[0])
        for at, who, event in plan:
            wait = start + at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.publishers[who].publish(event)
            self.events += 1
            if event["type"] == "turn":
                self.published[event["text"]] = time.monotonic()
            elif event["type"] == "alert":
                self.alerts.add(event["id"])
            elif event["type"] == "call_started":
                self.calls.add(event["call"])


@dataclass
class Viewer:
    """A supervisor page: reconnects with last_seq, keeps what it received."""

    name: str
    token: str
    stream: set[str] = field(default_factory=set)  # turn texts from the stream (live or replayed)
    snapshot: set[str] = field(default_factory=set)  # turn texts only seen in a welcome snapshot
    welcomes: Counter[str] = field(default_factory=Counter)  # "replay" / "rebuild"
    rebuilt_at: list[float] = field(default_factory=list)
    hostile_seen: int = 0
    non_standard: int = 0
    connected: bool = False
    last_seq: int = 0

    def _scan(self, raw: str | bytes) -> Any:
        text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        if MARK in text:
            self.hostile_seen += 1

        def refuse(name: str) -> None:
            raise ValueError(name)

        try:
            return json.loads(text, parse_constant=refuse)
        except ValueError:
            self.non_standard += 1
            return json.loads(text)

    async def run(self, url: str, stop: asyncio.Event, drop_every: float) -> None:
        rng = random.Random(self.name)
        while not stop.is_set():
            try:
                async with connect(url, max_size=None, open_timeout=10, close_timeout=1) as ws:
                    await self._session(ws, stop, rng.uniform(0.5, 1.5) * drop_every)
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake):
                pass
            self.connected = False
            if not stop.is_set():
                await asyncio.sleep(0.2)

    async def _session(self, ws: ClientConnection, stop: asyncio.Event, drop_after: float) -> None:
        hello: dict[str, Any] = {"type": "hello", "role": "supervisor", "token": self.token}
        if self.last_seq:
            hello["last_seq"] = self.last_seq
        await ws.send(json.dumps(hello))
        welcome = self._scan(await asyncio.wait_for(ws.recv(), 30))
        if welcome.get("type") != "welcome":
            return
        if welcome.get("replay") and self.last_seq:
            self.welcomes["replay"] += 1
        else:
            self.welcomes["rebuild"] += 1
            self.rebuilt_at.append(time.monotonic())
            self.last_seq = int(welcome["seq"])
            for call in welcome["snapshot"]["calls"]:
                for turn in call.get("turns", ()):
                    if turn.get("text") not in self.stream:
                        self.snapshot.add(turn.get("text"))
        self.connected = True
        ends = time.monotonic() + drop_after
        while not stop.is_set() and time.monotonic() < ends:
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            msg = self._scan(raw)
            for event in msg["events"] if msg.get("type") == "batch" else [msg]:
                seq = event.get("seq")
                if not isinstance(seq, int) or seq <= self.last_seq:
                    continue
                self.last_seq = seq
                if event.get("type") == "turn":
                    self.stream.add(event["text"])
                    self.snapshot.discard(event["text"])


# -- raw clients for hostile input ---------------------------------------------------------


async def http_raw(port: int, source: str, request: bytes, timeout: float = 20) -> tuple[int, bytes]:
    """Send a raw HTTP request from `source`; the status and the body (0 if none came)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        writer.write(request)
        await writer.drain()
        data = b""
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(timeout):
                while True:
                    chunk = await reader.read(65536)
                    if not chunk:
                        break
                    data += chunk
                    head, sep, body = data.partition(b"\r\n\r\n")
                    length = re.search(rb"(?i)content-length:\s*(\d+)", head)
                    if sep and length and len(body) >= int(length.group(1)):
                        break
                    if sep and request.startswith(b"HEAD ") and length:
                        break
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    status = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return (int(status.group(1)) if status else 0), body


def get(path: str, port: int, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", *headers, "Connection: close", "", ""]
    return "\r\n".join(lines).encode()


async def ws_open(url: str, source: str, **options: Any) -> ClientConnection:
    return await connect(
        url, max_size=None, open_timeout=20, close_timeout=2, local_addr=(source, 0), **options
    )


def closed_answer(err: ConnectionClosed) -> str:
    rcvd = err.rcvd
    return f"closed {rcvd.code} {short(rcvd.reason)}" if rcvd is not None else "closed without a close frame"


async def first_answer(ws: ClientConnection, timeout: float = 20) -> str:
    """The hub's answer to what was just sent: an error, an ack (accepted), or a close."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                msg = json.loads(await ws.recv())
                if msg.get("type") == "error":
                    return "error: " + short(str(msg.get("message")))
                if msg.get("type") == "ack":
                    return "accepted"
    except ConnectionClosed as err:
        return closed_answer(err)
    except TimeoutError:
        return "no answer"


async def publisher_answer(ws: ClientConnection, pseq: int, timeout: float = 20) -> str:
    """The hub's answer to a published event: its error (the event is acked as refused all the
    same), "accepted" (acked without an error), or a close."""
    error = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                msg = json.loads(await ws.recv())
                if msg.get("type") == "error" and error is None:
                    error = "error: " + short(str(msg.get("message")))
                elif msg.get("type") == "ack" and msg.get("pseq", 0) >= pseq:
                    return error or "accepted"
    except ConnectionClosed as err:
        return error or closed_answer(err)
    except TimeoutError:
        return error or "no answer"


async def finished(proc: asyncio.subprocess.Process, stdin: bytes | None = None) -> bytes:
    """A child process's stderr once it has ended; killed if it takes over 2 minutes."""
    try:
        _, err = await asyncio.wait_for(proc.communicate(stdin), 120)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return err


def handshake_answer(err: Exception) -> str:
    """A websocket handshake the hub answered with an HTTP status instead."""
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None)
    return f"HTTP {status} at the handshake" if status else f"handshake failed: {short(str(err))}"


@dataclass
class Hostile:
    """The hostile clients of one run, and the tally of their answers."""

    tokens: Tokens
    answers: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def note(self, kind: str, answer: str) -> None:
        self.answers[kind][answer] += 1

    def source(self, wave: int, kind: str) -> str:
        return f"127.0.{wave}.{list(KINDS).index(kind) + 2}"

    async def publisher(self, url: str, source: str, name: str) -> ClientConnection:
        ws = await ws_open(url, source)
        token = self.tokens.first("publisher", "publisher1").token
        await ws.send(json.dumps({"type": "hello", "role": "publisher", "token": token, "publisher": name}))
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == "welcome", welcome
        return ws

    async def supervisor(self, url: str, source: str) -> ClientConnection:
        ws = await ws_open(url, source)
        token = self.tokens.first("supervisor", "supervisor2").token
        await ws.send(json.dumps({"type": "hello", "role": "supervisor", "token": token}))
        json.loads(await ws.recv())
        return ws

    async def wave(self, hub: HubRun, wave: int, live: list[str], replay_files: bool) -> None:
        """Every kind of hostile input once (each kind several ways), against calls in progress."""
        url, port = hub.url, hub.port
        silent = asyncio.create_task(self._silent(url, self.source(wave, "hello_flood")))
        await asyncio.gather(
            self._events(url, wave, live),
            self._requests(url, wave, live),
            self._reused(url, port, wave),
            self._oversized(url, wave, live),
            self._http(port, wave),
            self._wrong_tokens(url, port, wave),
            self._floods(url, wave),
            self._stall(url, port, wave),
            self._replays(url, live) if replay_files else asyncio.sleep(0),
        )
        await silent

    async def _events(self, url: str, wave: int, live: list[str]) -> None:
        call = live[wave % len(live)]
        turn = f'"type":"turn","call":"{call}","t":9.0,"speaker":"caller","start":8.0,"end":9.0'
        sentiment = '"sentiment":{"compound":-0.5,"neg":0.5,"neu":0.5,"pos":0.0}'
        heat = f'"type":"heat","call":"{call}","t":9.0,"level":"hot","reasons":["{MARK}"]'
        alert = f'"type":"alert","call":"{call}","t":9.0,"id":"{MARK}-{wave}","kind":"heat","level":"warning"'
        tries = {
            "nan": [
                "{" + heat + ',"value":NaN,"trend":1}',
                "{" + turn + f',"text":"{MARK}","sentiment":{{"compound":NaN,"neg":0,"neu":1,"pos":0}}}}',
                "{" + turn + f',"text":"{MARK}","confidence":NaN}}',
            ],
            "infinity": [
                "{" + heat + ',"value":50,"trend":Infinity}',
                "{" + heat + ',"value":-Infinity,"trend":1}',
                "{" + turn.replace('"t":9.0', '"t":1e400') + f',"text":"{MARK}",{sentiment}}}',
            ],
            "nan_in_words": [
                "{" + turn + f',"text":"{MARK}",{sentiment},"words":[{{"word":"{MARK}","start":NaN,'
                '"end":9,"conf":1}]}',
                "{" + turn + f',"text":"{MARK}",{sentiment},"words":[{{"word":"{MARK}","start":8,'
                '"end":9,"conf":Infinity}]}',
            ],
            "lone_surrogate_event": [
                "{" + turn + f',"text":"\\ud800 {MARK}",{sentiment}}}',
                "{" + alert + f',"message":"\\udfff {MARK}","evidence":["{MARK}"]}}',
                "{" + turn + f',"text":"{MARK}",{sentiment},"words":[{{"word":"\\udbff{MARK}","start":8,'
                '"end":9,"conf":1}]}',
            ],
            "unstorable": [
                "{" + turn + f',"text":"{MARK}","sentiment":[1,2]}}',
                "{" + alert + f',"message":"{MARK}","evidence":5}}',
                "{" + turn + f',"text":"{MARK}",{sentiment},"words":"{MARK}"}}',
                "{" + heat + ',"value":"50","trend":1}',
                "{" + turn + f',"text":["{MARK}"]}}',
            ],
            "deep_json": ["[" * 30_000 + "]" * 30_000, '{"a":' * 10_000 + "1" + "}" * 10_000],
        }
        ws = await self.publisher(url, self.source(wave, "nan"), f"hostile-events-{wave}")
        pseq = 0
        try:
            for kind, messages in tries.items():
                for raw in messages:
                    pseq += 1
                    try:
                        if raw.startswith(("[", '{"a"')):  # no event: no pseq, no ack
                            await ws.send(raw)
                            answer = await first_answer(ws)
                        else:
                            await ws.send(raw[:-1] + f',"pseq":{pseq}}}')
                            answer = await publisher_answer(ws, pseq)
                    except ConnectionClosed as err:
                        answer = closed_answer(err)
                    self.note(kind, answer)
                    if answer.startswith("closed"):
                        ws = await self.publisher(url, self.source(wave, "nan"), f"hostile-events-{wave}")
        finally:
            await ws.close()

    async def _requests(self, url: str, wave: int, live: list[str]) -> None:
        call = live[(wave + 1) % len(live)]
        tries = {
            "lone_surrogate_message": [
                f'{{"type":"message","call":"{call}","text":"\\ud800 {MARK}"}}',
                f'{{"type":"message","call":"{call}","text":"{MARK} \\udc00\\udc00"}}',
            ],
            "nan": [f'{{"type":"ack_alert","call":"{call}","id":NaN}}'],
            "oversized_text": [json.dumps({"type": "message", "call": call, "text": MARK + " x" * 400})],
            "deep_json": ['{"type":"message","call":' * 2_000 + "1" + "}" * 2_000],
            "hello_flood": [json.dumps({"type": "hello", "role": "supervisor", "token": "x"})],
        }
        ws = await self.supervisor(url, self.source(wave, "lone_surrogate_message"))
        try:
            for kind, messages in tries.items():
                for raw in messages:
                    try:
                        await ws.send(raw)
                        answer = await first_answer(ws)
                    except ConnectionClosed as err:
                        answer = closed_answer(err)
                    self.note(kind, answer)
                    if answer.startswith("closed"):
                        ws = await self.supervisor(url, self.source(wave, "lone_surrogate_message"))
        finally:
            await ws.close()
        # a deeply nested hello, as the first message: before any token is looked at
        ws = await ws_open(url, self.source(wave, "deep_json"))
        await ws.send("[" * 30_000 + "]" * 30_000)
        self.note("deep_json", await first_answer(ws))

    async def _reused(self, url: str, port: int, wave: int) -> None:
        """A call id used again for another agent's call: the new agent must see nothing of the
        earlier call (its turn, alert and caller name carry the OLD marker)."""
        for k in range(2):
            call = f"reused-{wave}-{k}"
            first = await self.publisher(url, self.source(wave, "reused_call_id"), f"reuse-a-{wave}-{k}")
            second = await self.publisher(url, self.source(wave, "reused_call_id"), f"reuse-b-{wave}-{k}")
            events = [
                {
                    "type": "call_started",
                    "call": call,
                    "t": 0.0,
                    "agent": "alice",
                    "caller_name": OLD,
                    "started_at": "2026-12-04T05:00:00Z",
                },
                {
                    "type": "turn",
                    "call": call,
                    "t": 2.0,
                    "speaker": "caller",
                    "start": 1.0,
                    "end": 2.0,
                    "text": f"{OLD} my card is 4111",
                    "sentiment": {"compound": -0.5, "neg": 0.5, "neu": 0.5, "pos": 0.0},
                },
                {
                    "type": "alert",
                    "call": call,
                    "t": 2.0,
                    "id": f"{OLD}-{k}",
                    "kind": "heat",
                    "level": "warning",
                    "message": OLD,
                    "evidence": [OLD],
                },
            ]
            for pseq, event in enumerate(events, start=1):
                await first.send(json.dumps({**event, "pseq": pseq}))
                await publisher_answer(first, pseq)
            again = {
                "type": "call_started",
                "call": call,
                "t": 0.0,
                "agent": "bob",
                "pseq": 1,
                "started_at": "2026-12-04T05:10:00Z",
            }
            await second.send(json.dumps(again))
            await publisher_answer(second, 1)
            status, body = await http_raw(
                port, "127.0.0.1", get("/api/floor", port, f"Authorization: Bearer {self.agent_token('bob')}")
            )
            text = body.decode("utf-8", "replace")
            mine = [c for c in json.loads(text)["calls"] if c["call"] == call] if status == 200 else []
            if status != 200 or not mine:
                answer = f"the new call is not on the new agent's board (HTTP {status})"
            elif OLD in json.dumps(mine):
                answer = "LEAK: the new agent sees the earlier call"
            else:
                answer = "replaced: the new agent sees nothing of the earlier call"
            self.note("reused_call_id", answer)
            end = {"type": "call_ended", "call": call, "t": 3.0, "duration": 3.0, "summary": {}, "pseq": 2}
            await second.send(json.dumps(end))
            await publisher_answer(second, 2)
            await first.close()
            await second.close()

    def agent_token(self, agent: str) -> str:
        return self.tokens.first("agent", agent).token

    async def _oversized(self, url: str, wave: int, live: list[str]) -> None:
        ws = await self.publisher(url, self.source(wave, "oversized_message"), f"hostile-big-{wave}")
        event = {
            "type": "turn",
            "call": live[0],
            "t": 9.0,
            "speaker": "caller",
            "start": 8.0,
            "end": 9.0,
            "text": MARK + " word" * 14_000,
            "pseq": 1,
        }
        await ws.send(json.dumps(event))  # 70 KB
        self.note("oversized_message", await first_answer(ws))
        ws = await self.supervisor(url, self.source(wave, "oversized_message"))
        await ws.send(json.dumps({"type": "message", "call": live[0], "text": MARK + " x" * 40_000}))
        self.note("oversized_message", await first_answer(ws))

    async def _http(self, port: int, wave: int) -> None:
        good = f"Authorization: Bearer {self.tokens.first('supervisor', 'supervisor2').token}"
        upgrade = (
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        )
        origin = f"Origin: http://127.0.0.1:{port}"

        def raw(method: str, path: str, *headers: str, host: bool = True) -> bytes:
            lines = [f"{method} {path} HTTP/1.1", *([f"Host: 127.0.0.1:{port}"] if host else []), *headers]
            return "\r\n".join([*lines, "", ""]).encode()

        tries: dict[str, list[bytes]] = {
            "duplicate_headers": [
                get("/api/floor", port, good, "Authorization: Bearer wrong"),
                get("/api/floor", port, good, good),
                get("/floor", port, "Host: evil.example"),
                raw("GET", "/ws", *upgrade, origin, "Origin: http://evil.example"),
                raw("GET", "/ws", *upgrade, f"Host: 127.0.0.1:{port}", "Host: evil.example", host=False),
            ],
            "long_path": [
                get("/" + "a" * 300, port),
                get("/js/" + "b" * 300 + ".js", port),
                get("/api/calls/" + "c" * 300, port, good),
                get("/floor/" + "d" * 256, port),
            ],
            "huge_numbers": [
                get("/api/calls?limit=99999999999999999999999999", port, good),
                get("/api/calls?offset=99999999999999999999999999", port, good),
                get("/api/calls?offset=-99999999999999999999999999", port, good),
                get("/api/calls?limit=1e400", port, good),
                get("/api/calls?min_heat=1e999", port, good),
                get("/api/calls?since=999999999999999999999999", port, good),
                get("/api/calls/%2399999999999999999999999999", port, good),
            ],
            "traversal": [
                get("/../../../../etc/passwd", port),
                get("/%2e%2e/%2e%2e/%2e%2e/etc/passwd", port),
                get("/js/..%2f..%2f..%2fpyproject.toml", port),
                get("/css/%2e%2e/%2e%2e/monitor/hub/server.py", port),
                get("//etc/passwd", port),
                get("/api/calls/..%2f..%2f..%2fetc%2fpasswd", port, good),
            ],
            "sql_like": [
                get(f"/api/calls?q=%27%20OR%201%3D1%20--%20{MARK}", port, good),
                get("/api/calls?agent=x%27%20OR%20%271%27%3D%271", port, good),
                get("/api/calls?alert=%27%3B%20DROP%20TABLE%20calls%3B%20--", port, good),
                get("/api/calls?min_heat=0%20OR%201%3D1", port, good),
                get("/api/calls/1%20OR%201%3D1", port, good),
                get("/api/calls/%231%20UNION%20SELECT%20*%20FROM%20turns", port, good),
            ],
            "http_methods": [
                raw("HEAD", "/floor"),
                raw("HEAD", "/api/health"),
                raw("HEAD", "/no-such-page"),
                raw("POST", "/api/floor", good, "Content-Length: 0"),
                raw("PUT", "/floor", "Content-Length: 0"),
                raw("DELETE", "/api/calls", good),
                raw("OPTIONS", "/ws"),
                raw("PATCH", "/"),
                raw("TRACE", "/"),
            ],
        }
        for kind, requests in tries.items():
            for request in requests:
                status, body = await http_raw(port, self.source(wave, kind), request)
                answer = f"HTTP {status}" if status else "no answer"
                if request.startswith(b"HEAD"):
                    answer = f"HEAD: HTTP {status}, " + (
                        "no body" if not body else f"{len(body)} bytes of body"
                    )
                elif kind == "traversal" and (b"root:" in body or b"[project]" in body or b"import " in body):
                    answer = f"LEAK: HTTP {status} served a file outside the dashboard"
                elif kind == "sql_like" and status == 200:
                    answer = f"HTTP 200, {len(json.loads(body)['calls'])} calls"
                elif kind == "huge_numbers" and status == 200:
                    answer = "HTTP 200, clamped to the range"
                self.note(kind, answer)

    async def _wrong_tokens(self, url: str, port: int, wave: int) -> None:
        source = self.source(wave, "wrong_token")
        for n in range(15):
            try:
                ws = await ws_open(url, source)
                await ws.send(json.dumps({"type": "hello", "role": "supervisor", "token": f"guess-{n}"}))
                self.note("wrong_token", await first_answer(ws))
            except InvalidHandshake as err:
                self.note("wrong_token", handshake_answer(err))
        http_source = source.rsplit(".", 1)[0] + ".250"
        for n in range(15):
            status, _ = await http_raw(
                port, http_source, get("/api/floor", port, f"Authorization: Bearer g{n}")
            )
            self.note("wrong_token", f"HTTP {status}" if status else "no answer")

    async def _floods(self, url: str, wave: int) -> None:
        bad = [
            "hello",
            "",
            json.dumps({"type": "hello"}),
            json.dumps({"type": "hello", "role": "root", "token": "x"}),
            json.dumps({"type": "hello", "role": "publisher", "token": self.agent_token("alice")}),
            json.dumps({"type": "welcome", "role": "supervisor"}),
        ]
        gate = asyncio.Semaphore(50)

        async def one(raw: str, kind: str, source: str) -> None:
            async with gate:
                try:
                    ws = await ws_open(url, source)
                except (OSError, InvalidHandshake) as err:
                    self.note(kind, handshake_answer(err))
                    return
                try:
                    await ws.send(raw)
                    if kind == "hello_flood_valid":
                        msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
                        self.note(kind, "welcome" if msg.get("type") == "welcome" else short(str(msg)))
                    else:
                        self.note(kind, await first_answer(ws))
                except ConnectionClosed as err:
                    self.note(kind, closed_answer(err))
                finally:
                    await ws.close()

        token = self.tokens.first("supervisor", "supervisor2").token
        valid = json.dumps({"type": "hello", "role": "supervisor", "token": token})
        await asyncio.gather(
            *(one(bad[n % len(bad)], "hello_flood", self.source(wave, "hello_flood")) for n in range(120)),
            *(one(valid, "hello_flood_valid", self.source(wave, "hello_flood_valid")) for _ in range(60)),
        )
        ws = await self.supervisor(url, self.source(wave, "hello_flood_valid"))
        await ws.send(valid)  # a second hello on an admitted connection
        self.note("hello_flood", await first_answer(ws))
        await ws.close()

    async def _silent(self, url: str, source: str) -> None:
        """Connections that never say hello: closed after the hub's hello timeout."""

        async def one() -> None:
            ws = await ws_open(url, source)
            try:
                async with asyncio.timeout(60):
                    await ws.recv()
            except ConnectionClosed as err:
                self.note("hello_flood", closed_answer(err))
            except TimeoutError:
                self.note("hello_flood", "no answer")

        await asyncio.gather(*(one() for _ in range(10)))

    async def _stall(self, url: str, port: int, wave: int) -> None:
        """A supervisor that reads nothing after its hello, on a socket with a small receive
        buffer, while a publisher sends big (valid) turns: the hub must cut it off."""
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.bind((self.source(wave, "stalled_viewer"), 0))
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        ws = await connect(url, sock=sock, max_size=None, max_queue=1, open_timeout=20, close_timeout=1)
        token = self.tokens.first("supervisor", "supervisor2").token
        await ws.send(json.dumps({"type": "hello", "role": "supervisor", "token": token}))
        bulk = await self.publisher(url, self.source(wave, "stalled_viewer"), f"bulk-{wave}")
        call = f"bulk-{wave}"
        started = {
            "type": "call_started",
            "call": call,
            "t": 0.0,
            "agent": "carol",
            "pseq": 1,
            "started_at": "2026-12-04T05:00:00Z",
        }
        await bulk.send(json.dumps(started))
        for pseq in range(2, 42):  # 2 MB: past the socket buffers and the hub's write limit
            t = float(pseq)
            turn = {
                "type": "turn",
                "call": call,
                "t": t,
                "speaker": "agent",
                "start": t - 1,
                "end": t,
                "text": f"bulk {pseq} " + "words " * 8_000,
                "pseq": pseq,
            }
            await bulk.send(json.dumps(turn))
            await publisher_answer(bulk, pseq)
        await asyncio.sleep(8)  # past the hub's stall timeout (5 s)
        answer = "still connected"
        try:
            while True:  # what was buffered before the cut, then the end
                await asyncio.wait_for(ws.recv(), 5)
        except ConnectionClosed as err:
            rcvd = err.rcvd
            answer = f"cut off: {short(rcvd.reason)}" if rcvd is not None else "cut off: no close frame"
        except TimeoutError:
            pass
        self.note("stalled_viewer", answer)
        await bulk.send(
            json.dumps(
                {"type": "call_ended", "call": call, "t": t, "duration": t, "summary": {}, "pseq": pseq + 1}
            )
        )
        await publisher_answer(bulk, pseq + 1)
        await bulk.close()
        await ws.close()

    async def _replays(self, url: str, live: list[str]) -> None:
        """`heatmon replay --hub` on hostile transcripts: one line each, refused before publishing."""
        token = self.tokens.first("publisher", "publisher1").token
        line = {"call": f"{MARK}-file", "speaker": "caller", "start": 1.0, "end": 2.0, "text": MARK}
        files = {
            "bad_transcript": [
                json.dumps(line)[:-1] + ',"words":[{"word":"x","start":NaN,"end":2,"conf":1}]}',
                json.dumps(line).replace('"end": 2.0', '"end": 1e400'),
                json.dumps({**line, "text": MARK + " word" * 2_500}),
            ]
        }
        with tempfile.TemporaryDirectory() as tmp:
            for n, text in enumerate(files["bad_transcript"]):
                path = Path(tmp) / f"bad{n}.jsonl"
                path.write_text(text + "\n")
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "monitor",
                    "replay",
                    "--fast",
                    "--hub",
                    url,
                    "--hub-token",
                    token,
                    str(path),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                err = await finished(proc)
                lines = [ln for ln in err.decode().splitlines() if ln.strip()]
                if "Traceback" in err.decode():
                    answer = "TRACEBACK"
                else:
                    answer = f"exit {proc.returncode}: " + short(
                        lines[-1].split(": ", 1)[-1] if lines else ""
                    )
                self.note("bad_transcript", answer)
        if live:
            self.note("oversized_text", await self._long_turn(url, live))

    async def _long_turn(self, url: str, live: list[str]) -> str:
        """A transcript turn over 10,000 characters, through `heatmon score`: refused, one line."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "monitor",
            "score",
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        err = await finished(proc, (MARK + " x" * 6_000 + "\n").encode())
        if b"Traceback" in err:
            return "TRACEBACK"
        lines = [ln for ln in err.decode().splitlines() if ln.strip()]
        return f"exit {proc.returncode}: " + short(lines[-1].split(": ", 1)[-1] if lines else "")


# -- the run ------------------------------------------------------------------------------


async def page_answers(hub: HubRun, tokens: Tokens) -> dict[str, bool]:
    """Does /api/floor answer (standard JSON, no hostile text), and does every page's websocket
    (supervisor, each agent) get its welcome; are the pages themselves served?"""
    port = hub.port
    out: dict[str, bool] = {}
    sup = tokens.first("supervisor", "supervisor1").token
    status, body = await http_raw(port, "127.0.0.1", get("/api/floor", port, f"Authorization: Bearer {sup}"))
    out["/api/floor"] = status == 200 and MARK not in body.decode("utf-8", "replace") and b"NaN" not in body
    for role, name in (("supervisor", "supervisor1"), *(("agent", a) for a in AGENTS)):
        try:
            async with connect(hub.url, max_size=None, open_timeout=20) as ws:
                await ws.send(
                    json.dumps({"type": "hello", "role": role, "token": tokens.first(role, name).token})
                )
                welcome = json.loads(await asyncio.wait_for(ws.recv(), 30))
                out[f"ws {role} {name}"] = welcome.get("type") == "welcome"
        except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake):
            out[f"ws {role} {name}"] = False
    for page in ("/floor", "/agent", "/history", "/call"):
        status, _ = await http_raw(port, "127.0.0.1", get(page, port))
        out[page] = status == 200
    return out


def store_counts(path: Path) -> dict[str, set[str]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            "turns": {r[0] for r in conn.execute("SELECT text FROM turns WHERE text LIKE 'legit %'")},
            "alerts": {
                r[0] for r in conn.execute("SELECT alert_id FROM alerts WHERE alert_id LIKE 'legit-%'")
            },
            "calls": {r[0] for r in conn.execute("SELECT id FROM calls WHERE id LIKE 'L%'")},
            "ended": {r[0] for r in conn.execute("SELECT id FROM calls WHERE id LIKE 'L%' AND ended = 1")},
            "hostile": {r[0] for r in conn.execute(f"SELECT text FROM turns WHERE text LIKE '%{MARK}%'")},
        }
    finally:
        conn.close()


async def bench(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    data = tmp / "data"
    data.mkdir()
    tokens = Tokens.make(publishers=PUBLISHERS + 1, supervisors=2, agents=AGENTS)
    tokens.save(data / "tokens.json")
    hub = HubRun(data, tmp / "hub-stderr.log")
    try:
        return await run_bench(args, data, tokens, hub)
    finally:
        hub.cleanup()  # whatever went wrong, no hub is left running


async def run_bench(args: argparse.Namespace, data: Path, tokens: Tokens, hub: HubRun) -> dict[str, Any]:
    began = time.monotonic()
    hub.start()
    port = hub.port
    # publisher1 is the hostile clients' token; publisher2.. are the legitimate publishers'
    publishers = [
        Publisher(
            hub.url, tokens.first("publisher", f"publisher{i}").token, f"legit-{i}", backoff=(0.05, 0.5)
        )
        for i in range(2, PUBLISHERS + 2)
    ]
    legit = Legit(publishers)
    viewers = [Viewer(f"v{i}", tokens.first("supervisor", "supervisor1").token) for i in range(args.viewers)]
    hostile = Hostile(tokens)
    stop = asyncio.Event()
    faults: list[tuple[str, float, float]] = []  # (what, when it hit, when the hub listened again)
    async with contextlib.AsyncExitStack() as stack:
        for pub in publishers:
            await stack.enter_async_context(pub)
        watching = [asyncio.create_task(v.run(hub.url, stop, args.drop_every)) for v in viewers]
        async with asyncio.timeout(60):
            while not all(v.connected for v in viewers):  # noqa: ASYNC110 (a state of many clients, polled)
                await asyncio.sleep(0.05)
        start = time.monotonic()
        traffic = asyncio.create_task(legit.run(args.calls, args.duration, start))

        def live_calls() -> list[str]:
            return sorted(legit.calls)[-5:] or ["L0000"]

        async def at(share: float) -> None:
            wait = start + share * args.duration - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)

        await at(0.12)
        await hostile.wave(hub, 1, live_calls(), replay_files=True)
        await at(0.3)
        hit = time.monotonic()
        await asyncio.to_thread(hub.kill_9)
        await asyncio.sleep(1.0)  # a real restart takes a moment; publishers and viewers retry meanwhile
        await asyncio.to_thread(hub.start, port)
        faults.append(("kill -9, restart", hit, time.monotonic()))
        await at(0.45)
        await hostile.wave(hub, 2, live_calls(), replay_files=False)
        await at(0.62)
        hit = time.monotonic()
        code = await asyncio.to_thread(hub.terminate)
        await asyncio.to_thread(hub.start, port)
        faults.append((f"SIGTERM (exit {code}), restart", hit, time.monotonic()))
        await at(0.75)
        await hostile.wave(hub, 3, live_calls(), replay_files=False)
        await traffic
        flushed = all(await asyncio.gather(*(p.flush(timeout=60) for p in publishers)))
        # every viewer has every turn, or a generous while has passed
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(  # noqa: ASYNC110 (polled, bounded)
            set(legit.published) <= v.stream | v.snapshot and v.connected for v in viewers
        ):
            await asyncio.sleep(0.1)
        pages = await page_answers(hub, tokens)
        stop.set()
        await asyncio.gather(*watching)
        unacked = sum(p.unacked for p in publishers)
        dropped = sum(p.dropped for p in publishers)
    final_code = await asyncio.to_thread(hub.terminate)
    hub.cleanup()
    stored = store_counts(data / "heatmon.sqlite3")
    stderr = hub.log.read_text(errors="replace")
    return figures(
        args,
        legit,
        viewers,
        hostile,
        faults,
        stored,
        stderr,
        pages,
        flushed=flushed,
        unacked=unacked,
        dropped=dropped,
        final_code=final_code,
        seconds=time.monotonic() - began,
    )


def figures(
    args: argparse.Namespace,
    legit: Legit,
    viewers: list[Viewer],
    hostile: Hostile,
    faults: list[tuple[str, float, float]],
    stored: dict[str, set[str]],
    stderr: str,
    pages: dict[str, bool],
    **run: Any,
) -> dict[str, Any]:
    """The run's figures, as plain data (what --json writes, and what `verdicts` judges)."""
    published = set(legit.published)
    acked_all = run["flushed"] and run["unacked"] == 0 and run["dropped"] == 0
    windows = [(hit - 1.0, back) for _, hit, back in faults]
    per_viewer = []
    for v in viewers:
        missing = published - v.stream
        in_window = set()
        for text in missing:
            at = legit.published[text]
            # the window of a restart lasts until this viewer's first welcome after the hub was back
            if any(
                lo <= at <= min((r for r in v.rebuilt_at if r >= back), default=back) + 0.5
                for lo, back in windows
            ):
                in_window.add(text)
        per_viewer.append(
            {
                "viewer": v.name,
                "stream": len(published & v.stream),
                "restart_missed": len(in_window),
                "restart_from_snapshot": len(in_window & v.snapshot),
                "restart_not_recovered": len(in_window - v.snapshot),
                "lost": len(missing - in_window),
                "replays": v.welcomes["replay"],
                "rebuilds": v.welcomes["rebuild"],
                "hostile_seen": v.hostile_seen,
                "non_standard_json": v.non_standard,
            }
        )
    return {
        "calls": args.calls,
        "viewers": args.viewers,
        "duration": args.duration,
        "seconds": round(run["seconds"], 1),
        "events_published": legit.events,
        "turns_published": len(published),
        "all_acked": acked_all,
        "unacked": run["unacked"],
        "dropped": run["dropped"],
        "stored": {
            "turns": len(published & stored["turns"]),
            "turns_lost": len(published - stored["turns"]) if acked_all else None,
            "alerts_lost": len(legit.alerts - stored["alerts"]) if acked_all else None,
            "calls_lost": len(legit.calls - stored["calls"]) if acked_all else None,
            "calls_not_ended": len(legit.calls - stored["ended"]) if acked_all else None,
            "hostile_rows": len(stored["hostile"]),
        },
        "faults": [name for name, _, _ in faults],
        "final_sigterm_exit": run["final_code"],
        "viewers_figures": per_viewer,
        "pages": pages,
        "tracebacks": stderr.count("Traceback"),
        "hostile": {kind: dict(hostile.answers.get(kind, {})) for kind in KINDS},
    }


def verdicts(fig: dict[str, Any]) -> list[tuple[bool, str]]:
    """PASS/FAIL per target, from the figures alone."""
    out: list[tuple[bool, str]] = []
    for kind, answers in fig["hostile"].items():
        tried = sum(answers.values())
        wrong = {a: n for a, n in answers.items() if not is_refusal(kind, a)}
        out.append(
            (tried > 0 and not wrong, f"{kind}: {tried} tried" + (f", not refused: {wrong}" if wrong else ""))
        )
    limited = sum(n for a, n in fig["hostile"]["wrong_token"].items() if "too many" in a or "HTTP 429" in a)
    out.append((limited > 0, f"wrong tokens rate limited: {limited} refused for too many failed logins"))
    seen = sum(v["hostile_seen"] + v["non_standard_json"] for v in fig["viewers_figures"])
    reached = seen + fig["stored"]["hostile_rows"] + (0 if fig["pages"].get("/api/floor") else 1)
    out.append((reached == 0, f"hostile text or NaN reaching viewers, /api/floor or the store: {reached}"))
    st = fig["stored"]
    out.append(
        (
            fig["all_acked"],
            f"every published event acknowledged (unacked {fig['unacked']}, dropped {fig['dropped']})",
        )
    )
    lost = [st[k] for k in ("turns_lost", "alerts_lost", "calls_lost", "calls_not_ended")]
    out.append(
        (lost == [0, 0, 0, 0], f"acknowledged but not in the store (turns, alerts, calls, ends): {lost}")
    )
    viewer_lost = sum(v["lost"] for v in fig["viewers_figures"])
    out.append((viewer_lost == 0, f"turns a viewer never received, outside the restarts: {viewer_lost}"))
    replays = sum(v["replays"] for v in fig["viewers_figures"])
    out.append((replays > 0, f"reconnects with last_seq answered by a replay: {replays}"))
    down = [p for p, ok in fig["pages"].items() if not ok]
    out.append(
        (not down, "floor, pages and every page's websocket answer" + (f" (not: {down})" if down else ""))
    )
    out.append(
        (fig["final_sigterm_exit"] == 0, f"SIGTERM ends the hub with exit {fig['final_sigterm_exit']}")
    )
    out.append((fig["tracebacks"] == 0, f"Traceback lines on the hub's stderr: {fig['tracebacks']}"))
    return out


def report(fig: dict[str, Any]) -> bool:
    print(
        f"hub under attack: {fig['calls']} calls, {fig['viewers']} supervisor viewers, "
        f"{fig['duration']:g} s of traffic, faults: {'; '.join(fig['faults'])}; {fig['seconds']} s in all"
    )
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores\n")
    print(f"{'hostile input':<24} {'tried':>5}  answers")
    for kind, answers in fig["hostile"].items():
        tally = "; ".join(f"{n}x {a}" for a, n in sorted(answers.items(), key=lambda x: -x[1]))
        print(f"{kind:<24} {sum(answers.values()):>5}  {tally}")
    st = fig["stored"]
    print(
        f"\nlegitimate: {fig['events_published']} events ({fig['turns_published']} turns) published, "
        f"all acknowledged: {fig['all_acked']}; in the store: {st['turns']} of the turns; lost: turns "
        f"{st['turns_lost']}, alerts {st['alerts_lost']}, calls {st['calls_lost']}, "
        f"call ends {st['calls_not_ended']}"
    )
    print(
        f"\n{'viewer':<7} {'stream':>7} {'restart: missed':>16} {'from snapshot':>14} {'not recovered':>14} "
        f"{'lost':>5} {'replays':>8} {'rebuilds':>9}"
    )
    for v in fig["viewers_figures"]:
        print(
            f"{v['viewer']:<7} {v['stream']:>7} {v['restart_missed']:>16} {v['restart_from_snapshot']:>14} "
            f"{v['restart_not_recovered']:>14} {v['lost']:>5} {v['replays']:>8} {v['rebuilds']:>9}"
        )
    print()
    ok = True
    for passed, line in verdicts(fig):
        ok &= passed
        print(f"{'PASS' if passed else 'FAIL'}  {line}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200, help="legitimate calls (default 200)")
    parser.add_argument("--viewers", type=int, default=10, help="supervisor viewers (default 10)")
    parser.add_argument(
        "--duration", type=float, default=45.0, help="seconds of legitimate traffic (default 45)"
    )
    parser.add_argument(
        "--drop-every", type=float, default=6.0, help="a viewer drops its connection about this often"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-hostile-") as tmp:
        fig = asyncio.run(bench(args, Path(tmp)))
    if args.json:
        args.json.write_text(json.dumps(fig, indent=1))
    return 0 if report(fig) else 1


if __name__ == "__main__":
    sys.exit(main())
