"""The Twilio and SIPREC listeners in this process, with a recogniser that hears nothing: what
they accept, refuse and end, fast (the real-peer tests with real Vosk are test_twilio/test_siprec)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import ipaddress
import json
import socket
import struct
from typing import Any

import pytest
from support.ingest import QuietModel
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from monitor.errors import InputError
from monitor.events import CallEnded, CallStarted, Event
from monitor.ingest.calls import CallDesk
from monitor.ingest.listeners import LOOPBACK, allowed, parse_address
from monitor.ingest.service import load_adapters, serve
from monitor.ingest.siprec import SiprecListener
from monitor.ingest.twilio import TwilioListener
from monitor.ingest.twilio_messages import signature


def desk(events: list[Event], max_calls: int = 2) -> CallDesk:
    return CallDesk(QuietModel(), events.append, max_calls=max_calls)  # type: ignore[arg-type]


async def until(condition: Any, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (the condition is another task's state)
            await asyncio.sleep(0.02)


def ended(events: list[Event], call: str) -> CallEnded | None:
    return next((e for e in events if isinstance(e, CallEnded) and e.call == call), None)


START = {
    "event": "start",
    "start": {
        "callSid": "CA1",
        "streamSid": "MZ1",
        "tracks": ["inbound", "outbound"],
        "customParameters": {"agent": "alice", "caller": "+1555", "callerName": "Kim\x07"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    },
}


def media(track: str, ms: int) -> str:
    payload = base64.b64encode(b"\xff" * 160).decode()
    return json.dumps({"event": "media", "media": {"track": track, "timestamp": str(ms), "payload": payload}})


async def twilio_session(
    url: str, messages: list[str], headers: dict[str, str] | None = None
) -> tuple[int, str]:
    async with connect(url, additional_headers=headers or {}) as ws:
        try:
            for message in messages:
                await ws.send(message)
            async with asyncio.timeout(20):
                async for _ in ws:
                    pass
        except ConnectionClosed:
            pass
    return ws.close_code or 0, ws.close_reason or ""


def test_twilio_listener_takes_a_signed_stream_and_refuses_the_rest() -> None:
    """A signed stream becomes a call with its parties named (control characters dropped) and
    ends on stop; an unsigned one is closed 1008, garbage 1003, a third call at capacity 1013,
    an unknown path 404."""
    events: list[Event] = []

    async def main() -> None:
        calls = desk(events, max_calls=1)
        listener = TwilioListener(calls, "tok", None)
        await listener.start("127.0.0.1", 0)
        url = f"ws://127.0.0.1:{listener.address[1]}/media"
        good = {"X-Twilio-Signature": signature("tok", url)}
        try:
            assert (await twilio_session(url, [json.dumps(START)]))[0] == 1008
            code, _ = await twilio_session(url, ["nope"], good)
            assert code == 1003
            async with connect(url, additional_headers=good) as live:
                await live.send(json.dumps(START))
                await live.send(media("inbound", 0))
                await until(lambda: "CA1" in calls.calls)
                busy = {**START, "start": {**START["start"], "callSid": "CA2"}}  # type: ignore[dict-item]
                code, reason = await twilio_session(url, [json.dumps(busy)], good)
                assert code == 1013 and "capacity" in reason
                await live.send(media("outbound", 20))
                await live.send(json.dumps({"event": "stop"}))
            await until(lambda: ended(events, "CA1") is not None)
            with pytest.raises(Exception, match="404"):
                await connect(f"ws://127.0.0.1:{listener.address[1]}/other")
        finally:
            await calls.close()
            await listener.close()

    asyncio.run(main())
    started = next(e for e in events if isinstance(e, CallStarted))
    assert (started.agent, started.caller_number, started.caller_name) == ("alice", "+1555", "Kim")
    end = ended(events, "CA1")
    assert end is not None and end.summary is not None and end.summary["ended_by"] == "hangup"


SDP = (
    "v=0\r\no=src 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 0\r\na=label:1\r\na=sendonly\r\n"
    "m=audio 4002 RTP/AVP 8\r\na=label:2\r\na=sendonly\r\n"
)


def sip_request(
    method: str, call: str, port: int, body: str = "", extra: str = "Require: siprec\r\n"
) -> bytes:
    content = "Content-Type: application/sdp\r\n" if body else ""
    return (
        f"{method} sip:srs@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{method}\r\n"
        f"From: <sip:src@127.0.0.1>;tag=a\r\nTo: <sip:srs@127.0.0.1>\r\nCall-ID: {call}\r\n"
        f"CSeq: 1 {method}\r\n{extra}{content}Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


def exchange(port: int, *requests: bytes, replies: int = 1) -> list[str]:
    """Send SIP requests over UDP and read `replies` final answers (100 Trying skipped)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(20)
        for request in requests:
            sock.sendto(
                request.replace(b"127.0.0.1:0;", f"127.0.0.1:{sock.getsockname()[1]};".encode()),
                ("127.0.0.1", port),
            )
        got: list[str] = []
        while len(got) < replies:
            text = sock.recv(65536).decode()
            if not text.startswith("SIP/2.0 100"):
                got.append(text)
        return got


def test_siprec_listener_records_a_session_over_udp_and_tcp() -> None:
    """Over UDP an INVITE without metadata is answered with both G.711 streams recvonly (first
    the caller's); RTP of either codec feeds the call; BYE ends it. Over TCP, OPTIONS is answered.
    A malformed SDP gets 400; a peer outside the allow-list 403."""
    events: list[Event] = []

    async def main() -> None:
        calls = desk(events)
        listener = SiprecListener(calls, LOOPBACK)
        await listener.start("127.0.0.1", 0)
        port = listener.address[1]
        try:
            (ok,) = await asyncio.to_thread(exchange, port, sip_request("INVITE", "s1", 0, SDP))
            assert ok.startswith("SIP/2.0 200") and ok.count("a=recvonly") == 2 and "PCMA/8000" in ok
            rtp = [int(line.split()[1]) for line in ok.split("\r\n") if line.startswith("m=audio")]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as media_socket:
                for seq in range(10):
                    for pt, target in ((0, rtp[0]), (8, rtp[1])):
                        packet = struct.pack("!BBHII", 0x80, pt, seq, seq * 160, 5) + b"\xd5" * 160
                        media_socket.sendto(packet, ("127.0.0.1", target))
            await until(
                lambda: calls.calls.get("s1") is not None and calls.calls["s1"].source.fed_samples >= 3200
            )
            (bye,) = await asyncio.to_thread(exchange, port, sip_request("BYE", "s1", 0, extra=""))
            assert bye.startswith("SIP/2.0 200")
            await until(lambda: ended(events, "s1") is not None)
            (bad,) = await asyncio.to_thread(exchange, port, sip_request("INVITE", "s2", 0, "v=0\r\nm=x\r\n"))
            assert bad.startswith("SIP/2.0 400") and "Warning: 399 heatmon" in bad
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(sip_request("OPTIONS", "o1", 5, extra=""))
            answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 20)
            assert answer.startswith(b"SIP/2.0 200")
            writer.close()
        finally:
            await calls.close()
            await listener.close()
        closed = SiprecListener(desk([]), (ipaddress.ip_network("192.0.2.0/24"),))
        await closed.start("127.0.0.1", 0)
        try:
            (refused,) = await asyncio.to_thread(
                exchange, closed.address[1], sip_request("OPTIONS", "o2", 0, extra="")
            )
            assert refused.startswith("SIP/2.0 403")
        finally:
            await closed.close()

    asyncio.run(main())
    end = ended(events, "s1")
    assert end is not None and end.summary is not None and end.summary["ended_by"] == "hangup"
    assert not any(isinstance(e, CallStarted) and e.call == "s2" for e in events)


def test_the_service_starts_the_listeners_asked_for_and_stops_cleanly() -> None:
    """serve() starts every listener, hands them over when ready, and on stop ends the calls
    and closes the listeners; a taken port is a one-line error."""
    kinds = load_adapters()
    args = argparse.Namespace(allow_networks=LOOPBACK, twilio_auth_token=None, twilio_url=None)
    seen: list[tuple[str, int]] = []

    async def main() -> None:
        stop = asyncio.Event()
        wanted = [(kinds["twilio"], ("127.0.0.1", 0)), (kinds["siprec"], ("127.0.0.1", 0))]

        def ready(listeners: list[Any]) -> None:
            seen.extend(listener.address for listener in listeners)
            stop.set()

        await serve(desk([]), wanted, args, stop=stop, on_ready=ready)
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            with pytest.raises(Exception, match=r"cannot listen on 127\.0\.0\.1"):
                await serve(desk([]), [(kinds["twilio"], taken.getsockname())], args, stop=asyncio.Event())

    asyncio.run(main())
    assert len(seen) == 2 and all(port > 0 for _, port in seen)


@pytest.mark.parametrize(
    ("text", "address"),
    [("8080", ("127.0.0.1", 8080)), (":5060", ("127.0.0.1", 5060)), ("0.0.0.0:1", ("0.0.0.0", 1)),
     ("[::1]:9", ("::1", 9)), ("host", ("host", 7))],
)  # fmt: skip
def test_listen_addresses_default_to_this_machine(text: str, address: tuple[str, int]) -> None:
    """HOST:PORT, :PORT, PORT and [V6]:PORT parse; no host means 127.0.0.1."""
    assert parse_address(text, 7) == address


def test_bad_listen_addresses_and_peers() -> None:
    """A port that is not a number or out of range is refused; the allow-list matches
    IPv4-mapped IPv6 peers and nothing that is not an address."""
    for text in ("a:b", "1:99999", "[::1"):
        with pytest.raises(InputError):
            parse_address(text, 1)
    assert allowed("::ffff:127.0.0.1", LOOPBACK) and not allowed("10.0.0.1", LOOPBACK)
    assert not allowed("not-an-ip", LOOPBACK)
