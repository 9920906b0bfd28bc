"""The AudioSocket listener over real TCP: legs of real speech, refusals, malformed peers."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import pytest
from support.ingest import QuietModel, check_turns, frames_of
from support.ko_speech import model_dir
from support.process import heatmon

from monitor.ingest.audiosocket import AudioSocketServer
from monitor.ingest.audiosocket_frames import AUDIO, DTMF, HANGUP, UUID, encode
from monitor.ingest.calls import CallDesk
from monitor.ingest.legs import CallLegs, LegBook
from monitor.ingest.listeners import LOOPBACK, parse_networks
from monitor.ingest.live_call import CONNECTION_LOST, CallIdentity
from monitor.ingest.live_call import HANGUP as HUNG_UP
from monitor.speech.overlay import Endpointing, endpointing_overlay
from monitor.speech.recognizer import SpeechModel

RATE = 8000
FRAME = 0.02  # Asterisk's 20 ms frames


@asynccontextmanager
async def listening(
    model: Any, events: list[dict[str, Any]], networks: Any = LOOPBACK, **options: Any
) -> AsyncIterator[AudioSocketServer]:
    desk = CallDesk(model, lambda e: events.append(e.to_dict()), max_calls=4, behind_limit=0)
    server = AudioSocketServer(desk, LegBook(), networks, **options)
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()
        await desk.close()


def announce(server: AudioSocketServer, identity: CallIdentity) -> tuple[CallLegs, dict[str, uuid.UUID]]:
    """Open a call and announce a UUID per party, as the ARI controller does."""
    legs = CallLegs(server.desk.open(identity), {"caller", "agent"})
    ids = {party: uuid.uuid4() for party in ("caller", "agent")}
    for party, leg_id in ids.items():
        server.book.expect(leg_id, legs, party)
    return legs, ids


async def closed_by_peer(reader: asyncio.StreamReader, timeout: float = 10.0) -> bool:
    """Whether the server closes the connection (reads to EOF) within the timeout."""
    async with asyncio.timeout(timeout):
        try:
            while await reader.read(4096):
                pass
        except ConnectionResetError:  # closed with our bytes unread: the kernel resets
            pass
    return True


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (state of another task, no event to wait on)
            await asyncio.sleep(0.01)


@pytest.fixture(scope="module")
def model() -> SpeechModel:
    return SpeechModel(endpointing_overlay(model_dir(), Endpointing()))


async def send_leg(port: int, leg_id: uuid.UUID, pcm: bytes, hang_up: bool) -> None:
    """One leg as Asterisk sends it: the UUID, then 20 ms frames in real time, then a close (or a
    0x00 hang-up first)."""
    loop = asyncio.get_running_loop()
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(encode(UUID, leg_id.bytes))
    step = int(RATE * FRAME) * 2
    begin = loop.time()
    for n, start in enumerate(range(0, len(pcm), step)):
        writer.write(encode(AUDIO, pcm[start : start + step]))
        await writer.drain()
        await asyncio.sleep(max(0.0, begin + (n + 1) * FRAME - loop.time()))  # the peer's clock
    if hang_up:
        writer.write(encode(HANGUP))
    await writer.drain()
    writer.close()
    await writer.wait_closed()


@pytest.mark.slow
def test_two_legs_of_real_speech_give_turns_for_both_parties(
    model: SpeechModel, call_frames: tuple[np.ndarray, list[tuple[str, float, float]]]
) -> None:
    """A caller leg and an agent leg, each its own TCP stream of 20 ms frames of Korean speech in
    real time, decode into turns for the right parties; the call ends as hung up when both streams close."""
    call, spans = call_frames
    seconds = len(call) / RATE
    events: list[dict[str, Any]] = []

    async def main() -> None:
        async with listening(model, events) as server:
            legs, ids = announce(server, CallIdentity("as1", "alice", "+82212345678", "Kim", "test"))
            port = server.address[1]
            await asyncio.gather(
                *(
                    send_leg(port, ids[party], frames_of(call, party, 0, seconds), hang_up)
                    for party, hang_up in (("caller", False), ("agent", True))
                )
            )
            await asyncio.wait_for(legs.live.ended(), 120)

    asyncio.run(main())
    assert events[0]["type"] == "call_started" and events[0]["caller_number"] == "+82212345678"
    assert events[0]["agent"] == "alice"
    assert events[-1]["type"] == "call_ended" and events[-1]["summary"]["ended_by"] == HUNG_UP
    assert len(check_turns(events, spans)) >= 4


def test_a_peer_outside_the_allow_list_is_refused_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    """With --allow 10.0.0.0/8, a connection from 127.0.0.1 is closed at once and the refusal is
    logged with the peer and the reason; no call is touched."""
    events: list[dict[str, Any]] = []

    async def main() -> None:
        async with listening(QuietModel(), events, parse_networks(["10.0.0.0/8"])) as server:
            reader, writer = await asyncio.open_connection(*server.address)
            writer.write(encode(UUID, uuid.uuid4().bytes))
            assert await closed_by_peer(reader)
            writer.close()
            assert server.refused == 1

    with caplog.at_level(logging.WARNING, logger="heatmon"):
        asyncio.run(main())
    refusal = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusal) == 1 and "127.0.0.1" in refusal[0] and "allow-list" in refusal[0]
    assert events == []


@pytest.mark.parametrize(
    ("garbage", "reason"),
    [
        (bytes((0x42, 0, 1, 0)), "unknown message kind"),
        (bytes((AUDIO,)) + (60000).to_bytes(2, "big"), "over the"),
        (encode(DTMF, b"x"), "DTMF digit"),
        (encode(AUDIO, bytes(3)), "odd length"),
    ],
)
def test_a_malformed_leg_is_refused_and_the_call_goes_on(
    garbage: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A leg that breaks the protocol mid-call is logged and closed; the call's other leg is
    unharmed, and when it ends the call ends (connection_lost counts for the broken leg)."""
    events: list[dict[str, Any]] = []

    async def main() -> None:
        async with listening(QuietModel(), events) as server:
            legs, ids = announce(server, CallIdentity("bad1", "alice"))
            bad_reader, bad = await asyncio.open_connection(*server.address)
            bad.write(encode(UUID, ids["caller"].bytes) + encode(AUDIO, bytes(320)) + garbage)
            assert await closed_by_peer(bad_reader)
            bad.close()
            assert legs.open == {"agent"} and legs.live.ended_by is None
            _, good = await asyncio.open_connection(*server.address)
            good.write(encode(UUID, ids["agent"].bytes) + encode(AUDIO, bytes(320)))
            await good.drain()
            await wait_for(lambda: legs.live.source.position("agent") >= 160)
            good.close()
            await asyncio.wait_for(legs.live.ended(), 30)

    with caplog.at_level(logging.WARNING, logger="heatmon"):
        asyncio.run(main())
    assert any(reason in r.getMessage() and "refused" in r.getMessage() for r in caplog.records)
    assert "Traceback" not in caplog.text
    ended = [e for e in events if e["type"] == "call_ended"]
    assert len(ended) == 1 and ended[0]["summary"]["ended_by"] == HUNG_UP


def test_an_unknown_uuid_is_refused_unless_asked_to_take_it(caplog: pytest.LogCaptureFixture) -> None:
    """A UUID no controller announced is refused by default; with the `caller` policy it becomes a
    one-party call of its own, ended by the socket's close."""
    events: list[dict[str, Any]] = []
    stranger = uuid.uuid4()

    async def main() -> None:
        async with listening(QuietModel(), events) as server:
            reader, writer = await asyncio.open_connection(*server.address)
            writer.write(encode(UUID, stranger.bytes) + encode(AUDIO, bytes(320)))
            assert await closed_by_peer(reader)
            writer.close()
            assert server.desk.calls == {}
        async with listening(QuietModel(), events, unknown="caller") as server:
            _, writer = await asyncio.open_connection(*server.address)
            writer.write(encode(UUID, stranger.bytes) + encode(AUDIO, bytes(320)))
            await writer.drain()
            await wait_for(lambda: str(stranger) in server.desk.calls)
            live = server.desk.calls[str(stranger)]
            writer.close()
            await asyncio.wait_for(live.ended(), 30)

    with caplog.at_level(logging.WARNING, logger="heatmon"):
        asyncio.run(main())
    assert any(f"unknown call UUID {stranger}" in r.getMessage() for r in caplog.records)
    assert [e["call"] for e in events if e["type"] == "call_started"] == [str(stranger)]
    assert [e["summary"]["ended_by"] for e in events if e["type"] == "call_ended"] == [HUNG_UP]


def test_a_silent_leg_is_dropped_after_the_idle_timeout(caplog: pytest.LogCaptureFixture) -> None:
    """A leg that gives its UUID and then nothing is closed after the idle timeout, logged, and
    counts as a lost connection."""
    events: list[dict[str, Any]] = []

    async def main() -> None:
        async with listening(QuietModel(), events, idle=0.3) as server:
            legs, ids = announce(server, CallIdentity("idle1"))
            legs.done("agent", HUNG_UP)  # only the caller's leg in this call
            reader, writer = await asyncio.open_connection(*server.address)
            writer.write(encode(UUID, ids["caller"].bytes))
            assert await closed_by_peer(reader)
            writer.close()
            await asyncio.wait_for(legs.live.ended(), 30)
            assert legs.reasons == [HUNG_UP, CONNECTION_LOST]

    with caplog.at_level(logging.WARNING, logger="heatmon"):
        asyncio.run(main())
    assert any("no audio for 0.3 s" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ari", "ftp://pbx"], "give Asterisk's HTTP address"),
        (["--ari", "http://127.0.0.1:8088"], "--ari needs a password"),
        (["--ari", "http://127.0.0.1:8088", "--ari-password-file", "/nonexistent/pw"], "--ari-password-file"),
        (["--ari", "http://127.0.0.1:8088", "--ari-password", "x", "--ari-app", "a b"], "--ari-app"),
        (["--audiosocket-idle", "0"], "--audiosocket-idle must be a positive"),
    ],
)
def test_bad_asterisk_options_are_one_line_errors(args: list[str], message: str) -> None:
    """A mistyped AudioSocket or ARI option stops `heatmon ingest` with one line saying which."""
    result = heatmon("ingest", "--audiosocket", "127.0.0.1:0", *args)
    assert result.code == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
