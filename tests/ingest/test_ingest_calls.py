"""The ingest core: PushSource's alignment in call time, and CallDesk running calls on real Vosk."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from support.ingest import QuietModel, check_turns, frames_of
from support.ko_speech import model_dir

from monitor.events import CallEnded, Event
from monitor.ingest.calls import CallDesk, Refused
from monitor.ingest.live_call import HANGUP, SHUTDOWN, CallIdentity
from monitor.ingest.push_source import PushSource
from monitor.speech.overlay import Endpointing, endpointing_overlay
from monitor.speech.recognizer import SpeechModel

RATE = 8000
BLOCK = 800  # samples in 0.1 s at 8 kHz


def tone(samples: int, value: int = 1000) -> bytes:
    return np.full(samples, value, dtype="<i2").tobytes()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def party_values(block: Any, party: str) -> np.ndarray:
    return np.frombuffer(block.pcm[party], dtype="<i2")


def test_a_block_goes_out_as_soon_as_both_parties_have_it() -> None:
    """With both parties' audio in, a block is handed on at once, with each party's samples."""
    clock = Clock()
    source = PushSource(clock=clock)
    source.feed("caller", tone(BLOCK, 100))
    source.feed("agent", tone(BLOCK, 200))
    block = next(source.blocks())
    assert party_values(block, "caller").tolist() == [100] * BLOCK
    assert party_values(block, "agent").tolist() == [200] * BLOCK


def test_a_silent_leg_gets_silence_and_does_not_stall_the_other() -> None:
    """A party with no audio yet gets silence once the block is `hold` overdue; the other goes on."""
    clock = Clock()
    source = PushSource(clock=clock, hold=0.25)
    source.feed("caller", tone(3 * BLOCK, 100))
    clock.now = 0.36  # block 1 ended at 0.1 s, plus the hold
    blocks = source.blocks()
    first = next(blocks)
    assert party_values(first, "caller").tolist() == [100] * BLOCK
    assert party_values(first, "agent").tolist() == [0] * BLOCK
    # audio of the late leg that arrives now belongs to the present, not to the block handed on
    source.feed("agent", tone(2 * BLOCK, 200))
    second = next(blocks)
    assert party_values(second, "agent").tolist() == [200] * BLOCK


def rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(values.astype(np.float64) ** 2)))


def test_audio_placed_by_time_leaves_a_gap_where_packets_were_lost() -> None:
    """Audio fed at a sample position lands there: a gap before it is comfort noise at the
    line's own level (not digital silence, and not a shift of what follows)."""
    source = PushSource(clock=Clock())
    source.feed("caller", tone(160, 100), at=0)
    source.feed("caller", tone(BLOCK - 320, 100), at=320)  # 160 samples lost between them
    source.feed("agent", tone(BLOCK, 200), at=0)
    values = party_values(next(source.blocks()), "caller")
    assert values[:160].tolist() == [100] * 160
    assert 50 < rms(values[160:320]) < 150 and len(set(values[160:320].tolist())) > 10
    assert values[320:].tolist() == [100] * (BLOCK - 320)


def test_late_audio_is_counted_not_shifted() -> None:
    """Audio placed before what was already handed on is cut off and counted as late."""
    clock = Clock()
    source = PushSource(clock=clock)
    source.feed("caller", tone(BLOCK), at=0)
    source.feed("agent", tone(BLOCK), at=0)
    next(source.blocks())
    source.feed("agent", tone(BLOCK + 100, 300), at=BLOCK - 100)  # 100 samples late, then block 2
    assert source.late_samples == 100
    assert source.position("agent") == 2 * BLOCK


def test_a_full_buffer_drops_and_counts_instead_of_blocking() -> None:
    """Past the buffer's bound, audio is dropped and counted in blocks; feed returns at once."""
    source = PushSource(clock=Clock(), queue_seconds=0.5)
    source.feed("caller", tone(4 * BLOCK))
    source.feed("caller", tone(2 * BLOCK))  # would need 0.6 s of buffer
    assert source.dropped == 2 and source.dropped_samples == 2 * BLOCK


def test_close_hands_on_the_rest_padded_to_a_block() -> None:
    """After close, the audio still buffered comes out (padded with comfort noise; a party
    never heard with silence), then the blocks end."""
    source = PushSource(clock=Clock())
    source.feed("caller", tone(BLOCK + 300, 100))
    source.close()
    blocks = list(source.blocks())
    assert len(blocks) == 2
    assert party_values(blocks[1], "caller")[:300].tolist() == [100] * 300
    assert 50 < rms(party_values(blocks[1], "caller")[300:]) < 150
    assert party_values(blocks[1], "agent").tolist() == [0] * BLOCK
    source.feed("caller", tone(BLOCK))  # after close: ignored
    assert source.position("caller") == BLOCK + 300


@pytest.fixture(scope="module")
def model() -> SpeechModel:
    return SpeechModel(endpointing_overlay(model_dir(), Endpointing()))


async def _stream(live: Any, call: np.ndarray, until: float, step: float = 0.02) -> None:
    """Feed both parties in 20 ms frames, as fast as decoding takes them."""
    t = 0.0
    while t < until - 1e-9:
        chunk = min(step, until - t)
        for party in ("caller", "agent"):
            live.feed(party, frames_of(call, party, t, chunk))
        t += chunk
        # back-pressure, as a paced peer would have: the buffer is drained by another thread
        while live.source.buffered_seconds > 1.0:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if round(t / step) % 10 == 0:
            await asyncio.sleep(0)


@pytest.mark.slow
def test_pushed_call_gives_turns_for_both_parties_with_its_identity(
    model: SpeechModel, call_frames: tuple[np.ndarray, list[tuple[str, float, float]]]
) -> None:
    """Telephone audio pushed through a LiveCall decodes (8 kHz, real Vosk) into turns for both
    parties; call_started carries the agent, caller number and name; call_ended says why it ended."""
    call, spans = call_frames
    events: list[dict[str, Any]] = []

    async def main() -> None:
        desk = CallDesk(model, lambda e: events.append(e.to_dict()), max_calls=2, behind_limit=0)
        live = desk.open(CallIdentity("c1", "alice", "+15551230001", "Kim", "test"))
        await _stream(live, call, len(call) / RATE)
        live.end(HANGUP)
        await live.ended()
        await desk.close()

    asyncio.run(main())
    assert events[0]["type"] == "call_started"
    assert events[0]["agent"] == "alice" and events[0]["caller_number"] == "+15551230001"
    assert events[0]["caller_name"] == "Kim" and events[0]["source"] == "test"
    assert events[-1]["type"] == "call_ended" and events[-1]["summary"]["ended_by"] == HANGUP
    assert events[-1]["duration"] == pytest.approx(21.0, abs=0.15)
    assert "dropped_audio_blocks" not in events[-1]["summary"]
    turns = check_turns(events, spans)
    assert len(turns) >= 4


@pytest.mark.slow
def test_hang_up_mid_sentence_keeps_the_last_words(
    model: SpeechModel, call_frames: tuple[np.ndarray, list[tuple[str, float, float]]]
) -> None:
    """A call ended in the middle of the caller's sentence still turns those words into a turn."""
    call, spans = call_frames
    _, start, end = [s for s in spans if s[0] == "caller"][-1]
    cut = start + (end - start) * 0.7
    events: list[dict[str, Any]] = []

    async def main() -> None:
        desk = CallDesk(model, lambda e: events.append(e.to_dict()), max_calls=1)
        live = desk.open(CallIdentity("c2", "bob"))
        await _stream(live, call, cut)
        live.end(HANGUP)
        await live.ended()
        await desk.close()

    asyncio.run(main())
    last = [e for e in events if e["type"] == "turn" and e["speaker"] == "caller"][-1]
    assert last["start"] >= start - 0.3 and last["end"] <= cut + 0.1, (last, start, cut)
    assert events[-1]["type"] == "call_ended" and events[-1]["summary"]["ended_by"] == HANGUP


def test_the_desk_refuses_past_max_calls_and_duplicates() -> None:
    """A call over --max-calls or with a live id is refused with a typed reason; every open call
    ends with its call_ended when the desk closes (ended_by shutdown)."""
    events: list[Event] = []

    async def main() -> None:
        desk = CallDesk(QuietModel(), events.append, max_calls=2)  # type: ignore[arg-type]
        desk.open(CallIdentity("a"))
        with pytest.raises(Refused) as dup:
            desk.open(CallIdentity("a"))
        assert not dup.value.busy and "already live" in dup.value.reason
        desk.open(CallIdentity("b"))
        with pytest.raises(Refused) as full:
            desk.open(CallIdentity("c"))
        assert full.value.busy and "capacity" in full.value.reason
        await desk.close()
        with pytest.raises(Refused):
            desk.open(CallIdentity("d"))

    asyncio.run(main())
    ended = {e.call: e for e in events if isinstance(e, CallEnded)}
    assert set(ended) == {"a", "b"}
    assert all(e.summary and e.summary["ended_by"] == SHUTDOWN for e in ended.values())


def test_the_desk_refuses_a_call_while_decoding_is_behind_and_takes_it_once_caught_up() -> None:
    """Below --max-calls, a new call is refused as busy while a live call's audio waits to be
    decoded (the machine is at capacity), and taken again once decoding has caught up."""

    async def main() -> None:
        desk = CallDesk(QuietModel(), lambda e: None, max_calls=4)  # type: ignore[arg-type]
        first = desk.open(CallIdentity("a"))
        twenty_seconds = bytes(2 * 8000 * 20)
        first.feed("caller", twenty_seconds)
        first.feed("agent", twenty_seconds)
        assert desk.behind() > desk.behind_limit
        with pytest.raises(Refused) as busy:
            desk.open(CallIdentity("b"))
        assert busy.value.busy and "decoding is" in busy.value.reason and "behind" in busy.value.reason
        for _ in range(3000):  # bounded: the quiet model takes 20 s of audio in well under a second
            if desk.behind() <= desk.behind_limit:
                break
            await asyncio.sleep(0.01)
        desk.open(CallIdentity("b"))
        assert set(desk.calls) == {"a", "b"}
        await desk.close()

    asyncio.run(main())
