"""The SIPREC parts without a network: SIP, multipart, SDP, recording metadata and RTP placement."""

from __future__ import annotations

import struct

import pytest

from monitor.ingest import metadata, rtp, sdp
from monitor.ingest.sip import SipError, frame, multipart, parse, response

INVITE = (
    "INVITE sip:srs@127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n"
    "f: <sip:src@127.0.0.1>;tag=abc\r\n"
    "t: <sip:srs@127.0.0.1>\r\n"
    "i: call-1@127.0.0.1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Require: siprec\r\n"
    "Content-Type: multipart/mixed;boundary=B\r\n"
    "Content-Length: {length}\r\n\r\n"
)
SDP = (
    "v=0\r\no=src 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 0\r\na=label:1\r\na=sendonly\r\n"
    "m=audio 4002 RTP/AVP 96 8\r\na=rtpmap:96 opus/48000\r\na=label:2\r\na=sendonly\r\n"
    "m=video 4004 RTP/AVP 97\r\na=label:3\r\n"
)
META = """<?xml version="1.0"?>
<recording xmlns="urn:ietf:params:xml:ns:recording:1">
  <participant participant_id="a"><nameID aor="sip:alice@pbx"><name>Alice Agent</name></nameID></participant>
  <participant participant_id="c"><nameID aor="tel:+15551230000;phone-context=x"/></participant>
  <stream stream_id="s1"><label>1</label></stream>
  <stream stream_id="s2"><label>2</label></stream>
  <participantstreamassoc participant_id="a"><send>s2</send><recv>s1</recv></participantstreamassoc>
  <participantstreamassoc participant_id="c"><send>s1</send><recv>s2</recv></participantstreamassoc>
</recording>"""


def invite(body: bytes) -> bytes:
    return INVITE.format(length=len(body)).encode() + body


def multipart_body(*parts: tuple[str, str]) -> bytes:
    chunks = [f"--B\r\nContent-Type: {kind}\r\n\r\n{text}\r\n" for kind, text in parts]
    return ("".join(chunks) + "--B--\r\n").encode()


def test_a_siprec_invite_is_parsed_with_compact_headers_and_its_parts() -> None:
    """Compact header names are expanded, Require is read as option tags, and the
    multipart body gives its SDP and metadata parts."""
    message = parse(invite(multipart_body(("application/sdp", SDP), ("application/rs-metadata+xml", META))))
    assert message.method == "INVITE" and message.call_id == "call-1@127.0.0.1"
    assert message.cseq == (1, "INVITE") and "siprec" in message.options("require")
    parts = multipart(message.get("content-type"), message.body)
    assert set(parts) == {"application/sdp", "application/rs-metadata+xml"}
    assert parts["application/sdp"].startswith(b"v=0")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GARBAGE\r\n\r\n", "not a SIP start line"),
        (b"INVITE sip:x SIP/2.0\r\nVia: x\r\n\r\n", "missing"),
        (INVITE.format(length=999).encode(), "Content-Length"),
        (b"INVITE sip:x SIP/2.0\r\nVia x\r\n\r\n", "malformed header"),
        (b"INVITE sip:x SIP/2.0\r\n" + b"X: y\r\n" * 5000 + b"\r\n", "over|more than"),
        (b"INVITE sip:x SIP/2.0\r\nX: " + b"y" * 70000 + b"\r\n\r\n", "over"),
        (b"\xff\xfe\r\n\r\n", "UTF-8"),
    ],
)
def test_malformed_sip_is_a_sip_error(data: bytes, reason: str) -> None:
    """Broken start lines, missing headers, lying Content-Length, huge or non-UTF-8 messages
    are refused with a reason, never an exception of another kind."""
    with pytest.raises(SipError, match=reason):
        parse(data)


def test_a_response_copies_the_transaction_and_tags_the_to() -> None:
    """A response carries the request's Via, From, Call-ID and CSeq, and our To tag."""
    request = parse(invite(b""))
    text = response(request, 200, "OK", to_tag="t1", body=b"v=0\r\n", content_type="application/sdp").decode()
    assert text.startswith("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n")
    assert "To: <sip:srs@127.0.0.1>;tag=t1\r\n" in text and "CSeq: 1 INVITE\r\n" in text
    assert text.endswith("Content-Length: 5\r\n\r\nv=0\r\n")


def test_tcp_framing_takes_whole_messages_by_content_length() -> None:
    """A TCP stream is cut into messages by Content-Length; a partial one waits for the rest."""
    one = invite(b"abc")
    buffer = bytearray(b"\r\n\r\n" + one + one[:20])
    assert frame(buffer) == one
    assert frame(buffer) is None
    buffer += one[20:]
    assert frame(buffer) == one and not buffer
    with pytest.raises(SipError, match="Content-Length"):
        frame(bytearray(b"OPTIONS sip:x SIP/2.0\r\nVia: x\r\n\r\n"))


def test_sdp_offer_and_answer_take_g711_streams_and_decline_the_rest() -> None:
    """Each audio m-line with PCMU or PCMA is answered recvonly on our port with its label;
    others (opus only, video) get port 0."""
    address, streams = sdp.parse(SDP)
    assert address == "127.0.0.1" and [s.label for s in streams] == ["1", "2", "3"]
    assert [s.g711() for s in streams] == [0, 8, None]
    answer = sdp.answer(streams, [5000, 5002, None], "127.0.0.1", 7)
    assert "m=audio 5000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=recvonly\r\na=label:1" in answer
    assert "m=audio 5002 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=recvonly\r\na=label:2" in answer
    assert "m=video 0 RTP/AVP 97" in answer


@pytest.mark.parametrize(
    "text", ["", "v=0\r\nm=audio x RTP/AVP 0\r\n", "v=0\r\nc=IN IP4\r\nm=audio 1 RTP/AVP 0", "v=0\r\n"]
)
def test_malformed_sdp_is_refused(text: str) -> None:
    """An SDP without v=0, with a broken m= or c= line, or with no stream is a SipError."""
    with pytest.raises(SipError):
        sdp.parse(text)


def test_metadata_names_the_caller_by_rule_and_maps_streams_to_senders() -> None:
    """The first participant is the caller unless --siprec-caller-aor picks another; each
    stream label maps to the participant that sends it; numbers come from the AOR's user part."""
    recording = metadata.parse(META.encode())
    first = recording.caller()
    assert first is not None and first.name == "Alice Agent"  # listed first: the rule says caller
    caller, agent = recording.caller("tel:"), recording.agent("tel:")
    assert caller is not None and agent is not None
    assert caller.user == "+15551230000" and agent.user == "alice"
    assert recording.senders["1"] is caller and recording.senders["2"] is agent


@pytest.mark.parametrize(
    "body",
    [
        b"<recording",
        b"<other/>",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "xx">]><recording>&x;</recording>',
    ],
)
def test_malformed_or_dangerous_metadata_is_refused(body: bytes) -> None:
    """Broken XML, another root, and any DOCTYPE (entity expansion) are refused before use."""
    with pytest.raises(SipError):
        metadata.parse(body)


def packet(seq: int, ts: int, payload: bytes = b"\xff" * 160, pt: int = 0, ssrc: int = 7) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


def test_rtp_packets_are_placed_by_timestamp_through_reordering_loss_and_wrap() -> None:
    """A stream's packets land at their timestamp's place: reordered ones in order, a lost one
    leaves its gap, duplicates are dropped, and the 32-bit timestamp wraps without a jump."""
    stream = rtp.RtpStream(payload_type=0)
    start = 0xFFFFFFFF - 200  # wraps after the second packet
    places = []
    for seq, ts in [(1, start), (3, start + 320), (2, start + 160), (2, start + 160), (5, start + 640)]:
        placed = stream.place(rtp.parse(packet(seq, ts)), now=800)
        places.append(None if placed is None else placed[0])
    assert places == [800, 1120, 960, None, 1440]
    assert stream.duplicates == 1 and stream.reordered == 1


def test_rtp_refuses_what_it_cannot_use() -> None:
    """Short, wrong-version and oversized packets are RtpErrors; other payload types are skipped."""
    for data in (b"\x80\x00", b"\x40" + bytes(20), packet(1, 0, bytes(2000))):
        with pytest.raises(rtp.RtpError):
            rtp.parse(data)
    stream = rtp.RtpStream(payload_type=0)
    assert stream.place(rtp.parse(packet(1, 0, pt=101)), now=0) is None and stream.refused == 1


def test_a_new_ssrc_or_a_wild_timestamp_restarts_the_stream_at_the_present() -> None:
    """A new source (SSRC) or a timestamp far from the last starts the stream's clock again now."""
    stream = rtp.RtpStream(payload_type=0)
    assert stream.place(rtp.parse(packet(1, 1000)), now=0) is not None
    placed = stream.place(rtp.parse(packet(2, 1000 + 8000 * 60)), now=4000)
    assert placed is not None and placed[0] == 4000
    placed = stream.place(rtp.parse(packet(1, 5, ssrc=9)), now=6000)
    assert placed is not None and placed[0] == 6000
