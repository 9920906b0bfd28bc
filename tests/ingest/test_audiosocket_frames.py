"""The AudioSocket wire protocol: the pure reader, on exact bytes and on anything at all."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.ingest.audiosocket_frames import (
    AUDIO,
    DTMF,
    ERROR,
    HANGUP,
    UUID,
    Audio,
    AudioSocketError,
    AudioSocketReader,
    Digit,
    Hangup,
    Identified,
    Message,
    PeerError,
    encode,
)

CALL = uuid.UUID("0436430c-2b02-624c-2032-570501212b57")
FRAME = bytes(range(256)) + bytes(64)  # 320 bytes: 20 ms of 8 kHz audio


def stream(*messages: bytes) -> bytes:
    return b"".join(messages)


def test_a_stream_reads_as_uuid_audio_digit_and_hangup() -> None:
    """The UUID, 20 and 30 ms audio frames, a DTMF digit and the hang-up come out as typed messages."""
    reader = AudioSocketReader()
    data = stream(
        encode(UUID, CALL.bytes),
        encode(AUDIO, FRAME),
        encode(AUDIO, bytes(480)),
        encode(DTMF, b"7"),
        encode(HANGUP),
    )
    assert reader.read(data) == [
        Identified(CALL),
        Audio(FRAME, 8000),
        Audio(bytes(480), 8000),
        Digit("7"),
        Hangup(),
    ]
    assert reader.ended


def test_bytes_split_anywhere_give_the_same_messages() -> None:
    """TCP may cut a message anywhere: fed one byte at a time, the stream reads the same."""
    data = stream(encode(UUID, CALL.bytes), encode(AUDIO, FRAME), encode(AUDIO, FRAME[:160]))
    reader = AudioSocketReader()
    got = [m for i in range(len(data)) for m in reader.read(data[i : i + 1])]
    assert got == [Identified(CALL), Audio(FRAME, 8000), Audio(FRAME[:160], 8000)]
    assert reader.pending == 0


def test_higher_rates_carry_their_rate() -> None:
    """Signed linear at 16 kHz (kind 0x12) is audio with its rate; a change of rate mid-stream is refused."""
    reader = AudioSocketReader()
    got = reader.read(encode(UUID, CALL.bytes) + encode(0x12, bytes(640)))
    assert got[1] == Audio(bytes(640), 16000)
    with pytest.raises(AudioSocketError, match="changed rate"):
        reader.read(encode(AUDIO, FRAME))


def test_a_peer_error_ends_the_stream_with_its_reason() -> None:
    """An error message (0xff) ends the stream and says what Asterisk reported."""
    reader = AudioSocketReader()
    got = reader.read(encode(UUID, CALL.bytes) + encode(ERROR, b"\x02"))
    assert got[1] == PeerError(2) and got[1].reason == "frame forwarding failed"
    assert reader.ended


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (encode(AUDIO, FRAME), "before the call's UUID"),
        (encode(0x42, b"x"), "unknown message kind 0x42"),
        (encode(UUID, CALL.bytes[:15]), "must carry 16 bytes, not 15"),
        (encode(UUID, CALL.bytes) + encode(UUID, CALL.bytes), "a second UUID"),
        (encode(UUID, CALL.bytes) + encode(AUDIO, bytes(321)), "odd length"),
        (encode(UUID, CALL.bytes) + encode(DTMF, b"x"), "DTMF digit 0x78"),
        (encode(UUID, CALL.bytes) + encode(HANGUP, b"\x00"), "must carry 0 bytes"),
        (encode(UUID, CALL.bytes) + encode(HANGUP) + encode(AUDIO, FRAME), "after the end"),
    ],
)
def test_a_broken_stream_is_refused_with_what_is_wrong(data: bytes, match: str) -> None:
    """Each way of breaking the protocol is an AudioSocketError whose one line says which."""
    with pytest.raises(AudioSocketError, match=match):
        AudioSocketReader().read(data)


def test_messages_before_a_broken_one_are_still_handed_on() -> None:
    """In one read, the UUID and audio before a bad message come out before the error is raised."""
    reader = AudioSocketReader()
    reader.feed(encode(UUID, CALL.bytes) + encode(AUDIO, FRAME) + encode(0x42, b"x"))
    got: list[Message] = []
    with pytest.raises(AudioSocketError, match="unknown message kind"):
        got.extend(reader.messages())
    assert got == [Identified(CALL), Audio(FRAME, 8000)]


def test_an_oversized_length_is_refused_before_its_payload_arrives() -> None:
    """A header claiming more than the limit is refused at once, without waiting for the bytes."""
    reader = AudioSocketReader(max_payload=1024)
    reader.read(encode(UUID, CALL.bytes))
    with pytest.raises(AudioSocketError, match="over the 1024-byte limit"):
        reader.read(bytes((AUDIO,)) + (1026).to_bytes(2, "big"))
    assert reader.pending <= 3


@settings(max_examples=400, deadline=None)
@given(st.lists(st.binary(max_size=600), max_size=12))
def test_random_bytes_raise_nothing_but_the_typed_error(chunks: list[bytes]) -> None:
    """Whatever bytes arrive, in whatever pieces, the reader returns messages or raises AudioSocketError."""
    reader = AudioSocketReader(max_payload=512)
    try:
        for chunk in chunks:
            for message in reader.read(chunk):
                assert isinstance(message, Identified | Audio | Digit | Hangup | PeerError)
    except AudioSocketError as err:
        assert str(err) and "\n" not in str(err)
    assert reader.pending <= 3 + 512


_messages = st.one_of(
    st.builds(lambda n: encode(AUDIO, bytes(2 * n)), st.integers(0, 256)),
    st.sampled_from(b"0123456789*#ABCD").map(lambda d: encode(DTMF, bytes((d,)))),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_messages, max_size=20), st.data())
def test_a_valid_stream_survives_any_cutting(messages: list[bytes], data: st.DataObject) -> None:
    """A well-formed stream cut at random points gives its messages in order, whole."""
    raw = encode(UUID, CALL.bytes) + b"".join(messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=10)))
    reader = AudioSocketReader()
    got = []
    for start, end in zip([0, *cuts], [*cuts, len(raw)], strict=True):
        got.extend(reader.read(raw[start:end]))
    assert got[0] == Identified(CALL) and len(got) == 1 + len(messages)
    assert reader.pending == 0
