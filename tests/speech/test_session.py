"""CallSession above the recogniser: turn times across recycled recognisers, scoring, ticks, order.

A scripted recogniser stands in for Vosk here (the real-Vosk tests are test_run_vosk.py):
it lets English turns reach the sentiment and heat chain, which the Korean model cannot.
"""

from __future__ import annotations

import asyncio
import json
import threading
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from monitor.analysis.chain import CallAnalysis
from monitor.events import Alert, CallEnded, CallStarted, Event, Heat, Turn
from monitor.speech.blocks import AudioBlock
from monitor.speech.pool import run_calls
from monitor.speech.recognizer import PartyRecognizer
from monitor.speech.session import CallOptions, CallSpec

RATE = 8000
BLOCK = RATE // 10  # samples in 0.1 s
LOUD, HISS = 3000, 16  # sample values: speech (-21 dBFS) and line noise (-66 dBFS)


class ScriptedModel:
    """Stands in for SpeechModel: its recognisers say `texts` in order, across recycling."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.said = 0
        self.made: list[ScriptedRecognizer] = []

    def recognizer(self, rate: int) -> ScriptedRecognizer:
        self.made.append(ScriptedRecognizer(self))
        return self.made[-1]

    def lend(self, rate: int) -> tuple[ScriptedRecognizer, float]:
        return self.recognizer(rate), 0.0  # always fresh: each test's recognisers are its own

    def give_back(self, rec: ScriptedRecognizer, rate: int, decoded: float) -> None:
        pass


@dataclass
class ScriptedRecognizer:
    """Hears loud audio as the model's next text, like Kaldi on its own clock.

    Its clock is the audio it was fed, so audio held back from it (the silence gate)
    makes it run behind the call, as Vosk does. An utterance ends 0.5 s after the loudness.
    """

    model: ScriptedModel
    fed: int = 0  # samples
    threads: set[str] = field(default_factory=set)  # names of the threads that fed it
    run: tuple[int, int] | None = None  # loud span (first sample, sample after the last)
    quiet: int = 0  # samples of quiet since the span

    def SetWords(self, on: bool) -> None:
        pass

    def AcceptWaveform(self, pcm: bytes) -> bool:
        self.threads.add(threading.current_thread().name)
        samples = memoryview(pcm).cast("h")
        for at in range(0, len(samples), BLOCK):
            block = samples[at : at + BLOCK]
            if max(abs(v) for v in block) >= LOUD:
                self.run = (self.run[0] if self.run else self.fed, self.fed + len(block))
                self.quiet = 0
            elif self.run:
                self.quiet += len(block)
            self.fed += len(block)
        return self.run is not None and self.quiet >= RATE // 2

    def Result(self) -> str:
        if self.run is None:
            return json.dumps({"text": ""})
        (first, last), self.run = self.run, None
        text = self.model.texts[self.model.said]
        self.model.said += 1
        words = text.split()
        start, step = first / RATE, (last - first) / RATE / len(words)
        result = [
            {"word": w, "start": start + k * step, "end": start + (k + 1) * step, "conf": 0.9}
            for k, w in enumerate(words)
        ]
        return json.dumps({"text": text, "result": result})

    def PartialResult(self) -> str:
        return json.dumps({"partial": self.model.texts[self.model.said] if self.run else ""})

    def FinalResult(self) -> str:
        return self.Result()


@dataclass
class ScriptedSource:
    """A call of `seconds` in 0.1 s blocks: speech during each party's (start, end) spans, else hiss."""

    seconds: float
    spans: dict[str, list[tuple[float, float]]]
    description: str = "script"

    @property
    def rates(self) -> dict[str, int]:
        return dict.fromkeys(self.spans, RATE)

    def blocks(self) -> Iterator[AudioBlock]:
        for i in range(round(self.seconds * 10)):
            t = i / 10
            yield AudioBlock(
                {
                    party: array("h", [LOUD if any(a <= t < b for a, b in spans) else HISS] * BLOCK).tobytes()
                    for party, spans in self.spans.items()
                }
            )

    def close(self) -> None:
        pass


CALLER = [
    (1.0, 3.0, "this is the third time i am calling and nobody helped me"),
    (8.0, 10.0, "i want to speak to your supervisor right now"),
]


def _run(recycle_after: float, skip_silence: bool = True) -> tuple[list[Event], ScriptedModel]:
    events: list[Event] = []
    model = ScriptedModel([text for _, _, text in CALLER])
    source = ScriptedSource(14.0, {"caller": [(a, b) for a, b, _ in CALLER]})
    spec = CallSpec("c1", source, CallAnalysis("c1"))
    options = CallOptions(recycle_after=recycle_after, skip_silence=skip_silence)
    asyncio.run(run_calls([spec], model, events.append, options=options))  # type: ignore[arg-type]
    return events, model


def test_turn_times_survive_recycled_recognizers_and_skipped_silence() -> None:
    """Turns stay in call time when the recogniser is replaced after every turn, and when
    the silence gate keeps silence from it (so its own clock runs behind the call's)."""
    for recycle_after, recognizers in ((0.0, 3), (1000.0, 1)):
        for skip_silence in (True, False):
            events, model = _run(recycle_after, skip_silence)
            assert len(model.made) == recognizers
            fed = sum(r.fed for r in model.made) / RATE
            assert fed < 9.0 if skip_silence else fed == 14.0
            turns = [e for e in events if isinstance(e, Turn)]
            assert [(t.start, t.end) for t in turns] == [(1.0, 3.0), (8.0, 10.0)], (
                recycle_after,
                skip_silence,
            )
            assert [round(t.t, 1) for t in turns] == [3.4, 10.4]  # the quiet end, 0.4 s after the speech


def test_caller_turns_are_scored_and_heat_follows() -> None:
    """English caller turns from the recogniser get sentiment, and the call heats up with reasons."""
    events, _ = _run(300.0)
    assert isinstance(events[0], CallStarted) and isinstance(events[-1], CallEnded)
    turns = [e for e in events if isinstance(e, Turn)]
    assert all(t.sentiment is not None and t.sentiment["score"] < 0 for t in turns)
    heats = [e for e in events if isinstance(e, Heat)]
    assert heats and heats[-1].value > 0 and all(h.reasons for h in heats if h.value > 0)
    assert events[-1].summary and events[-1].summary["peak_heat"] > 0
    times = [e.t for e in events]
    assert times == sorted(times)


def test_party_recognizer_offsets() -> None:
    """PartyRecognizer reports call times across recycling and skipped silence, block by block."""
    model = ScriptedModel([text for _, _, text in CALLER])
    rec = PartyRecognizer(model, RATE, recycle_after=0.0, skip_silence=True)  # type: ignore[arg-type]
    source = ScriptedSource(12.0, {"caller": [(a, b) for a, b, _ in CALLER]})
    found = [r for block in source.blocks() for r in rec.accept(block.pcm["caller"])]
    assert [(u.start, u.end) for u in found] == [(1.0, 3.0), (8.0, 10.0)]  # type: ignore[union-attr]
    assert [u.heard_at for u in found] == [3.5, 10.5]  # Kaldi's own end: no quiet end asked for
    assert rec.position == 12.0


def test_decoding_threads_can_be_capped() -> None:
    """`threads` caps the decoding pool: with one thread both parties of a call decode on it
    (one after the other), and never on the event loop's thread; below one is refused."""
    spans = {"caller": [(1.0, 3.0)], "agent": [(4.0, 6.0)]}
    for threads, most in ((1, 1), (None, 2)):
        model = ScriptedModel(["hello there", "how can i help"])
        events: list[Event] = []
        spec = CallSpec("c1", ScriptedSource(8.0, spans))
        asyncio.run(run_calls([spec], model, events.append, threads=threads))  # type: ignore[arg-type]
        used = set().union(*(r.threads for r in model.made))
        assert 1 <= len(used) <= most and threading.main_thread().name not in used, used
        assert sorted(e.speaker for e in events if isinstance(e, Turn)) == ["agent", "caller"]
    with pytest.raises(ValueError, match="at least 1"):
        asyncio.run(run_calls([], ScriptedModel([]), events.append, threads=0))  # type: ignore[arg-type]


def _alerts(spans: list[tuple[float, float]], seconds: float) -> list[tuple[str, float]]:
    """The (kind, call time) of every alert on a caller-only call speaking during `spans`."""
    events: list[Event] = []
    model = ScriptedModel(["my internet has been down since yesterday and nobody told me why"] * len(spans))
    spec = CallSpec("c1", ScriptedSource(seconds, {"caller": spans}), CallAnalysis("c1"))
    asyncio.run(run_calls([spec], model, events.append))  # type: ignore[arg-type]
    return [(e.kind, e.t) for e in events if isinstance(e, Alert)]


def test_a_long_sentence_is_not_dead_air_but_a_silent_line_is() -> None:
    """A caller talking for 15 s has no turn until the end, but the audio shows someone speaking:
    no dead-air alert. The same call silent after a short sentence gets one, 12 s after it."""
    # Dead air only: how heated the caller's words are (a rising-heat alert) is not the point here.
    assert [kind for kind, _ in _alerts([(1.0, 16.0)], 20.0) if kind == "dead_air"] == []
    assert [(kind, t) for kind, t in _alerts([(1.0, 3.0)], 20.0) if kind == "dead_air"] == [
        ("dead_air", 15.0)
    ]
