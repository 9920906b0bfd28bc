"""Twilio Media Streams through `heatmon ingest --twilio`, with streamdouble as the real peer."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.ingest import HubProcess, Service, check_turns, streamdouble, write_party_wavs
from support.process import free_port
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from monitor.ingest.twilio_messages import signature
from monitor.store import CallFilter, Store

#: Every test here starts `heatmon ingest`, which loads the real Vosk model.
pytestmark = pytest.mark.slow

Spans = list[tuple[str, float, float]]
CallFrames = tuple[np.ndarray, Spans]


@pytest.fixture(scope="module")
def wavs(tmp_path_factory: pytest.TempPathFactory, call_frames: CallFrames) -> tuple[Path, Path]:
    return write_party_wavs(tmp_path_factory.mktemp("twilio"), call_frames[0])


def media_url(service: Service) -> str:
    return f"ws://127.0.0.1:{service.ports['twilio']}/media"


def start_message(call: str, **params: str) -> dict[str, Any]:
    return {
        "event": "start",
        "sequenceNumber": "1",
        "streamSid": "MZ" + call,
        "start": {
            "streamSid": "MZ" + call,
            "callSid": call,
            "tracks": ["inbound", "outbound"],
            "customParameters": params,
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        },
    }


def media_message(track: str, timestamp: int, payload: bytes = b"\xff" * 160) -> dict[str, Any]:
    media = {"track": track, "chunk": "1", "timestamp": str(timestamp)}
    return {"event": "media", "media": {**media, "payload": base64.b64encode(payload).decode()}}


async def send_all(url: str, messages: list[Any], headers: dict[str, str] | None = None) -> tuple[int, str]:
    """Send `messages` (dicts as JSON, str/bytes as they are); the close code and reason we got."""
    async with connect(url, additional_headers=headers or {}) as ws:
        try:
            for message in messages:
                await ws.send(json.dumps(message) if isinstance(message, dict) else message)
                await asyncio.sleep(0.005)
            async with asyncio.timeout(20):
                async for _ in ws:
                    pass
        except ConnectionClosed:
            pass
    assert ws.close_code is not None
    return ws.close_code, ws.close_reason or ""


def finished(proc: Any, timeout: float = 120) -> tuple[int, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


def check_call(service: Service, call: str, spans: Spans, agent: str, number: str) -> list[dict[str, Any]]:
    events = service.of(call)
    assert events[0]["type"] == "call_started", events[:2]
    assert events[0]["agent"] == agent and events[0]["caller_number"] == number
    assert events[-1]["type"] == "call_ended" and events[-1]["summary"]["ended_by"] == "hangup"
    assert "dropped_audio_blocks" not in events[-1]["summary"]
    return check_turns(events, spans)


def test_a_forked_call_reaches_the_hub_the_agent_and_the_store(
    tmp_path: Path, wavs: tuple[Path, Path], call_frames: CallFrames
) -> None:
    """A two-track fork from streamdouble gives turns for both parties with the right speakers;
    the caller's number and the agent from customParameters reach the hub, the agent's own view
    (found by agent name) and the store, where the caller's calls are found by number."""
    hub = HubProcess(tmp_path / "hub", free_port())
    agent_events: list[dict[str, Any]] = []

    async def watch_as_alice(stop: asyncio.Event) -> None:
        async with connect(hub.url + "/ws") as ws:
            hello = {"type": "hello", "role": "agent", "token": hub.tokens.first("agent", "alice").token}
            await ws.send(json.dumps(hello))
            while not stop.is_set():
                try:
                    async with asyncio.timeout(0.5):
                        msg = json.loads(await ws.recv())
                except TimeoutError:
                    continue
                agent_events.extend(msg["events"] if msg.get("type") == "batch" else [msg])

    try:
        with Service(
            "--twilio", "127.0.0.1:0", "--hub", hub.url, "--tokens", str(hub.tokens_file)
        ) as service:

            async def main() -> None:
                stop = asyncio.Event()
                watcher = asyncio.create_task(watch_as_alice(stop))
                await asyncio.sleep(0.5)
                peer = streamdouble(media_url(service), *wavs, "agent=alice", "caller=+15551230001",
                                    "callerName=Kim")  # fmt: skip
                code, output = await asyncio.to_thread(finished, peer)
                assert code == 0, output
                await asyncio.to_thread(
                    Service.wait_for, lambda: any(e["type"] == "call_ended" for e in agent_events), 60
                )
                stop.set()
                await watcher

            asyncio.run(main())
            assert service.stop() == 0, service.stderr
        (call,) = service.calls()
        turns = check_call(service, call, call_frames[1], "alice", "+15551230001")
        assert service.of(call)[0]["caller_name"] == "Kim"
        seen = [e for e in agent_events if e.get("call") == call]
        assert seen[0]["type"] == "call_started" and seen[0]["caller_number"] == "+15551230001"
        assert {e["text"] for e in seen if e["type"] == "turn"} == {t["text"] for t in turns}
    finally:
        hub.stop()
    store = Store.open(hub.data / "heatmon.sqlite3", create=False)
    try:
        (row,) = store.list_calls(CallFilter(caller="+15551230001"))
        detail = store.call_detail(row.ref)
    finally:
        store.close()
    assert row.id == call and row.agent == "alice" and row.caller_name == "Kim" and row.ended
    assert {t["speaker"] for t in detail["turns"]} == {"caller", "agent"}


def test_packet_loss_and_jitter_leave_silence_in_place(
    wavs: tuple[Path, Path], call_frames: CallFrames
) -> None:
    """With 5% of the caller's frames lost and 40 ms of jitter, both parties still get their
    turns and every word stays where it was spoken (lost frames are silence in place, not a
    shift of the rest of the call)."""
    with Service("--twilio", "127.0.0.1:0") as service:
        peer = streamdouble(
            media_url(service), *wavs, "agent=bob", "caller=+15551230002",
            extra=("--packet-loss", "0.05", "--jitter", "40", "--chaos-seed", "7"),
        )  # fmt: skip
        code, output = finished(peer)
        assert code == 0, output
        assert service.wait_for(
            lambda: len(service.calls()) == 1 and service.ended(next(iter(service.calls())))
        )
        (call,) = service.calls()
        check_call(service, call, call_frames[1], "bob", "+15551230002")
        assert service.of(call)[-1]["duration"] == pytest.approx(21.0, abs=1.0)


def test_several_calls_at_once(tmp_path: Path, call_frames: CallFrames) -> None:
    """Four forks at once: each call gets turns for both of its parties, under its own agent."""
    wavs = write_party_wavs(tmp_path, call_frames[0])
    with Service("--twilio", "127.0.0.1:0", "--max-calls", "4") as service:
        peers = [
            streamdouble(media_url(service), *wavs, f"agent=agent{i}", f"caller=+1555000000{i}")
            for i in range(4)
        ]
        for peer in peers:
            code, output = finished(peer)
            assert code == 0, output
        assert service.wait_for(
            lambda: len(service.calls()) == 4 and all(service.ended(c) for c in service.calls())
        )
        agents = set()
        for call in service.calls():
            events = service.of(call)
            number = events[0]["caller_number"]
            agents.add(events[0]["agent"])
            check_call(service, call, call_frames[1], "agent" + number[-1], number)
        assert agents == {f"agent{i}" for i in range(4)}


def test_signatures_are_checked_when_a_token_is_set(wavs: tuple[Path, Path]) -> None:
    """With an auth token, a connection without X-Twilio-Signature (streamdouble's) or with a
    wrong one is closed with a reason; one signed for the URL it reached is taken."""
    with Service(
        "--twilio", "127.0.0.1:0", "--max-calls", "2", env={"TWILIO_AUTH_TOKEN": "s3cret"}
    ) as service:
        url = media_url(service)
        peer = streamdouble(url, *wavs, "agent=alice")
        finished(peer)
        assert service.wait_for(lambda: "refused" in service.stderr)
        assert service.calls() == set()
        code, reason = asyncio.run(
            send_all(url, [start_message("CAbad")], {"X-Twilio-Signature": "bm9wZQ=="})
        )
        assert code == 1008 and "X-Twilio-Signature" in reason
        good = {"X-Twilio-Signature": signature("s3cret", url)}
        messages = [
            {"event": "connected"},
            start_message("CAgood", agent="alice"),
            media_message("inbound", 0),
        ]
        code, _ = asyncio.run(send_all(url, [*messages, {"event": "stop"}], good))
        assert code == 1000
        assert service.wait_for(lambda: service.ended("CAgood"))
        assert service.calls() == {"CAgood"}


def test_malformed_input_is_refused_and_logged_never_a_crash() -> None:
    """Garbage before start closes the socket with a reason; malformed messages inside a call
    are logged and skipped, the call goes on and ends normally; the service stays up."""
    with Service("--twilio", "127.0.0.1:0") as service:
        url = media_url(service)
        for garbage in ["not json", b"\x00\x01binary", "[1, 2]", {"event": "media", "media": {}}]:
            code, reason = asyncio.run(send_all(url, [garbage]))
            assert code == 1003 and "malformed" in reason, (garbage, code, reason)
        bad_format = start_message("CAfmt")
        bad_format["start"]["mediaFormat"]["sampleRate"] = 16000
        code, reason = asyncio.run(send_all(url, [bad_format]))
        assert code == 1003 and "mediaFormat" in reason
        bad_sid = start_message("CA' OR 1=1 --")
        code, reason = asyncio.run(send_all(url, [bad_sid]))
        assert code == 1003 and "callSid" in reason
        inside = [
            start_message("CAok", agent="alice", caller="+1555"),
            media_message("inbound", 0),
            {"event": "media", "media": {"track": "inbound", "timestamp": "20", "payload": "%%%not base64"}},
            {"event": "media", "media": {"track": "sideways", "timestamp": "40", "payload": "/w=="}},
            {"event": "media", "media": {"track": "inbound", "timestamp": "-5", "payload": "/w=="}},
            media_message("inbound", 99_999_999),
            "}{",
            media_message("outbound", 20),
            {"event": "stop"},
        ]
        code, _ = asyncio.run(send_all(url, inside))
        assert code == 1000
        assert service.wait_for(lambda: service.ended("CAok"))
        assert service.of("CAok")[-1]["summary"]["ended_by"] == "hangup"
        assert service.proc.poll() is None
        assert service.wait_for(lambda: "not base64" in service.stderr)
        assert "Traceback" not in service.stderr


def test_capacity_lost_connections_and_a_stop_end_calls_with_their_reason() -> None:
    """Past --max-calls a call is closed with 1013 and the reason; a socket closed without
    `stop` ends its call as connection_lost; SIGTERM ends a live call as shutdown, exit 0."""
    with Service("--twilio", "127.0.0.1:0", "--max-calls", "1") as service:
        url = media_url(service)

        async def main() -> tuple[int, str]:
            async with connect(url) as first:
                await first.send(json.dumps(start_message("CAfirst", agent="alice")))
                await first.send(json.dumps(media_message("inbound", 0)))
                await asyncio.to_thread(Service.wait_for, lambda: "CAfirst" in service.calls(), 30)
                refused = await send_all(url, [start_message("CAsecond")])
            return refused

        code, reason = asyncio.run(main())
        assert code == 1013 and "capacity" in reason
        assert service.wait_for(lambda: service.ended("CAfirst"))
        assert service.of("CAfirst")[-1]["summary"]["ended_by"] == "connection_lost"

        async def live_until_stopped() -> None:
            async with connect(url) as ws:
                await ws.send(json.dumps(start_message("CAlive", agent="alice")))
                for i in range(10):
                    await ws.send(json.dumps(media_message("inbound", 20 * i)))
                await asyncio.to_thread(Service.wait_for, lambda: "CAlive" in service.calls(), 30)
                assert await asyncio.to_thread(service.stop) == 0

        asyncio.run(live_until_stopped())
        assert service.of("CAlive")[-1]["summary"]["ended_by"] == "shutdown"
        assert "CAsecond" not in service.calls()
