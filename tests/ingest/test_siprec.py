"""SIPREC through `heatmon ingest --siprec`: sipp places the recorded call (SIP and the caller's
RTP), GStreamer streams the agent's RTP, and raw SIP clients bring malformed and refused input."""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.ingest import Service, SiprecCall, check_turns
from support.ko_speech import conversation, dialogue

#: Every test here starts `heatmon ingest`, which loads the real Vosk model.
pytestmark = pytest.mark.slow

Spans = list[tuple[str, float, float]]
CallFrames = tuple[np.ndarray, Spans]
#: GStreamer's stream starts when its process is up, a few tenths of a second after sipp's.
SLACK = 1.0
LEAD_IN = 3.0  # seconds of line noise before anyone speaks: GStreamer may take a while to start


@pytest.fixture(scope="module")
def call_frames() -> CallFrames:
    """The two-party Korean call at 8 kHz, its first words after a lead-in of line noise."""
    turns = [(who, start + LEAD_IN, text) for who, start, text in dialogue(2)]
    return conversation(turns, 8000, 21.0 + LEAD_IN, seed=2)


def check_call(service: Service, call: str, spans: Spans, hangup: str = "hangup") -> list[dict[str, Any]]:
    events = service.of(call)
    assert events[0]["type"] == "call_started"
    assert events[0]["agent"] == "alice" and events[0]["caller_number"] == "+15551230001"
    assert events[0]["caller_name"] == "Kim" and events[0]["source"].startswith("siprec 127.0.0.1:")
    assert events[-1]["type"] == "call_ended" and events[-1]["summary"]["ended_by"] == hangup
    return events


def only_call(service: Service) -> str:
    assert service.wait_for(
        lambda: len(service.calls()) == 1 and service.ended(next(iter(service.calls()))), 90
    )
    (call,) = service.calls()
    return call


@pytest.mark.parametrize("caller_label", ["1", "2"])
def test_a_recorded_call_gives_both_parties_turns_named_by_the_metadata(
    tmp_path: Path, call_frames: CallFrames, caller_label: str
) -> None:
    """sipp's SIPREC INVITE and RTP plus GStreamer's second stream give turns for both
    parties; the metadata decides which stream is the caller's (by label, whichever m= line it
    is) and names the caller's number and name and the agent."""
    with Service("--siprec", "127.0.0.1:0") as service:
        peer = SiprecCall(
            tmp_path, service.ports["siprec"], call_frames[0], hangup=25.0, caller_label=caller_label
        )
        code, output = peer.finish()
        assert code == 0, output
        call = only_call(service)
        events = check_call(service, call, call_frames[1])
        turns = check_turns(events, call_frames[1], slack=SLACK)
        assert len(turns) >= 4
        assert events[-1]["duration"] == pytest.approx(21.0 + LEAD_IN, abs=1.0)


def test_a_bye_mid_sentence_keeps_the_last_words(tmp_path: Path, call_frames: CallFrames) -> None:
    """A BYE in the middle of the caller's second line still turns its words so far into a turn."""
    _, start, end = [s for s in call_frames[1] if s[0] == "caller"][-1]
    cut = start + (end - start) * 0.7
    with Service("--siprec", "127.0.0.1:0") as service:
        peer = SiprecCall(tmp_path, service.ports["siprec"], call_frames[0], hangup=cut)
        code, output = peer.finish()
        assert code == 0, output
        call = only_call(service)
        events = check_call(service, call, call_frames[1])
    last = [e for e in events if e["type"] == "turn" and e["speaker"] == "caller"][-1]
    assert last["start"] >= start - 0.3 and last["end"] <= cut + 0.3, (last, start, cut)


# -- raw SIP clients ------------------------------------------------------------------------

SDP = (
    "v=0\r\no=src 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 0\r\na=label:1\r\na=sendonly\r\n"
    "m=audio 4002 RTP/AVP 0\r\na=label:2\r\na=sendonly\r\n"
)
META = (
    '<?xml version="1.0"?><recording xmlns="urn:ietf:params:xml:ns:recording:1">'
    '<participant participant_id="c"><nameID aor="sip:+15551230009@pstn"/></participant>'
    '<participant participant_id="a"><nameID aor="sip:bob@pbx"/></participant>'
    '<stream stream_id="s1"><label>1</label></stream><stream stream_id="s2"><label>2</label></stream>'
    '<participantstreamassoc participant_id="c"><send>s1</send></participantstreamassoc>'
    '<participantstreamassoc participant_id="a"><send>s2</send></participantstreamassoc></recording>'
)


class SipClient:
    """A UDP SIP client on a port of its own that sends what a test gives and reads answers."""

    def __init__(self, port: int) -> None:
        self.server = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def request(
        self, method: str, call_id: str, *, cseq: int = 1, body: bytes = b"", content_type: str = "",
        extra: str = "Require: siprec\r\n", to_tag: str = "",
    ) -> None:  # fmt: skip
        head = (
            f"{method} sip:srs@127.0.0.1:{self.server[1]} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{call_id}{cseq}{method}\r\n"
            f"From: <sip:src@127.0.0.1>;tag=src1\r\nTo: <sip:srs@127.0.0.1>{to_tag}\r\n"
            f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n"
            f"Contact: <sip:src@127.0.0.1:{self.port}>\r\n{extra}"
            + (f"Content-Type: {content_type}\r\n" if content_type else "")
            + f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.sock.sendto(head.encode() + body, self.server)

    def invite(self, call_id: str, sdp: str = SDP, meta: str = META, **kw: Any) -> None:
        body = (
            f"--b\r\nContent-Type: application/sdp\r\n\r\n{sdp}\r\n"
            f"--b\r\nContent-Type: application/rs-metadata+xml\r\n\r\n{meta}\r\n--b--\r\n"
        ).encode()
        self.request("INVITE", call_id, body=body, content_type="multipart/mixed;boundary=b", **kw)

    def answer(self, timeout: float = 15.0, skip_provisional: bool = True) -> str:
        """The next response (past 100 Trying)."""
        self.sock.settimeout(timeout)
        while True:
            text = self.sock.recv(65536).decode()
            if skip_provisional and text.startswith("SIP/2.0 1"):
                continue
            return text

    def close(self) -> None:
        self.sock.close()


def status(text: str) -> int:
    return int(text.split(" ", 2)[1])


def header(text: str, name: str) -> str:
    for line in text.split("\r\n"):
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def rtp_ports(answer: str) -> list[int]:
    return [int(line.split()[1]) for line in answer.split("\r\n") if line.startswith("m=audio")]


def rtp_packet(seq: int, ts: int) -> bytes:
    return struct.pack("!BBHII", 0x80, 0, seq, ts, 1) + bytes([0xFF]) * 160


def test_malformed_sip_sdp_xml_and_rtp_are_refused_and_logged() -> None:
    """Garbage datagrams are dropped and logged; a bad SDP or metadata (or a DOCTYPE) gets a
    400 with the reason; a plain INVITE 488; OPTIONS 200; an unknown method 405; a BYE for no
    call 481; RTP garbage on a live call is logged while the call goes on and ends on BYE."""
    with Service("--siprec", "127.0.0.1:0") as service:
        sip = SipClient(service.ports["siprec"])
        try:
            sip.sock.sendto(b"\x00garbage\r\n\r\n", sip.server)
            sip.request("OPTIONS", "opt1", extra="")
            reply = sip.answer()
            assert status(reply) == 200 and "INVITE" in header(reply, "Allow")
            sip.invite("bad-sdp", sdp="v=0\r\nm=audio nope RTP/AVP 0\r\n")
            reply = sip.answer()
            assert status(reply) == 400 and "m= line" in header(reply, "Warning")
            sip.invite("bad-xml", meta="<recording><participant")
            assert status(reply := sip.answer()) == 400 and "not XML" in header(reply, "Warning")
            sip.invite("entity", meta='<!DOCTYPE r [<!ENTITY a "aaaa">]><recording>&a;</recording>')
            assert status(reply := sip.answer()) == 400 and "DOCTYPE" in header(reply, "Warning")
            sip.invite("plain", extra="")
            assert status(sip.answer()) == 488
            sip.request("SUBSCRIBE", "sub1", extra="")
            assert status(sip.answer()) == 405
            sip.request("BYE", "nobody", cseq=2, extra="")
            assert status(sip.answer()) == 481

            sip.invite("live-1")
            ok = sip.answer()
            assert status(ok) == 200 and "a=recvonly" in ok
            tag = ";tag=" + header(ok, "To").split(";tag=")[1]
            sip.request("ACK", "live-1", extra="", to_tag=tag)
            ports = rtp_ports(ok)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as media:
                for seq in range(20):
                    media.sendto(rtp_packet(seq, seq * 160), ("127.0.0.1", ports[0]))
                    media.sendto(b"\x00\x01 not rtp", ("127.0.0.1", ports[1]))
                    time.sleep(0.02)
            assert service.wait_for(lambda: "RTP from 127.0.0.1 refused" in service.stderr)
            sip.request("BYE", "live-1", cseq=2, extra="", to_tag=tag)
            assert status(sip.answer()) == 200
            assert service.wait_for(lambda: service.ended("live-1"))
        finally:
            sip.close()
        started, ended = service.of("live-1")[0], service.of("live-1")[-1]
        assert started["caller_number"] == "+15551230009" and started["agent"] == "bob"
        assert ended["summary"]["ended_by"] == "hangup"
        assert service.calls() == {"live-1"}
        assert service.proc.poll() is None and "Traceback" not in service.stderr
        assert service.wait_for(lambda: "SIP message refused" in service.stderr)


def test_a_peer_outside_the_allow_list_is_refused() -> None:
    """With --allow naming another network, this machine's OPTIONS and INVITE get 403."""
    with Service("--siprec", "127.0.0.1:0", "--allow", "192.0.2.0/24") as service:
        sip = SipClient(service.ports["siprec"])
        try:
            sip.request("OPTIONS", "o1", extra="")
            assert status(sip.answer()) == 403
            sip.invite("c1")
            assert status(sip.answer()) == 403
        finally:
            sip.close()
        assert service.wait_for(lambda: "not in --allow" in service.stderr)
        assert service.calls() == set()


def test_capacity_cancel_retransmission_and_stop() -> None:
    """Past --max-calls an INVITE gets 486; the 200 OK is resent until the ACK; a CANCEL before
    the ACK ends the call (487 to the INVITE); SIGTERM ends a live call as shutdown."""
    with Service("--siprec", "127.0.0.1:0", "--max-calls", "1") as service:
        sip = SipClient(service.ports["siprec"])
        try:
            sip.invite("first")
            first = sip.answer()
            assert status(first) == 200
            again = sip.answer()  # no ACK yet: the same 200 OK again
            assert status(again) == 200 and header(again, "To") == header(first, "To")
            busy = SipClient(service.ports["siprec"])
            busy.invite("second")
            assert status(busy.answer()) == 486
            busy.close()
            sip.request("CANCEL", "first", extra="")
            seen = set()
            while (487, "1 INVITE") not in seen or (200, "1 CANCEL") not in seen:
                reply = sip.answer()  # retransmissions of the 200 OK may come in between
                seen.add((status(reply), header(reply, "CSeq")))
            assert service.wait_for(lambda: service.ended("first"))
            assert service.of("first")[-1]["summary"]["ended_by"] == "hangup"

            sip.invite("third")
            ok = sip.answer()
            while header(ok, "Call-ID") != "third":
                ok = sip.answer()
            tag = ";tag=" + header(ok, "To").split(";tag=")[1]
            sip.request("ACK", "third", extra="", to_tag=tag)
            assert service.wait_for(lambda: "third" in service.calls())
            assert service.stop() == 0
        finally:
            sip.close()
        assert service.of("third")[-1]["summary"]["ended_by"] == "shutdown"
        assert "second" not in service.calls()
