"""CallSession above the recogniser: turn times across recycled recognisers, scoring, ticks, order.

A scripted recogniser stands in for Vosk here (the real-Vosk tests are test_run_vosk.py):
it lets English turns reach the sentiment and heat chain, which the Korean model cannot.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from monitor.analysis import CallAnalysis
from monitor.asr import PartyRecognizer
from monitor.audio import AudioBlock
from monitor.events import CallEnded, CallStarted, Event, Heat, Turn
from monitor.pipeline import CallOptions, CallSpec, run_calls

RATE = 8000


@dataclass
class ScriptedRecognizer:
    """Says `lines` [(start, end, text)] in call time; ends each 0.5 s after its last word."""

    lines: list[tuple[float, float, str]]
    offset: float  # call time at which this recogniser was created
    fed: int = 0
    done: set[int] = field(default_factory=set)

    def SetWords(self, on: bool) -> None:
        pass

    def AcceptWaveform(self, pcm: bytes) -> bool:
        self.fed += len(pcm) // 2
        return self._due() is not None

    def _due(self) -> int | None:
        now = self.offset + self.fed / RATE
        for i, (_, end, _) in enumerate(self.lines):
            if i not in self.done and self.offset <= end and end + 0.5 <= now:
                return i
        return None

    def Result(self) -> str:
        i = self._due()
        assert i is not None
        self.done.add(i)
        start, end, text = self.lines[i]
        words = text.split()
        step = (end - start) / len(words)
        return json.dumps(
            {
                "text": text,
                "result": [
                    {
                        "word": w,
                        "start": start - self.offset + k * step,
                        "end": start - self.offset + (k + 1) * step,
                        "conf": 0.9,
                    }
                    for k, w in enumerate(words)
                ],
            }
        )

    def PartialResult(self) -> str:
        return json.dumps({"partial": ""})

    def FinalResult(self) -> str:
        return self.Result() if self._due() is not None else json.dumps({"text": ""})


@dataclass
class ScriptedSource:
    """Silence for `seconds`, in 0.1 s blocks, for the given parties."""

    seconds: float
    parties: tuple[str, ...] = ("caller", "agent")
    description: str = "script"

    @property
    def rates(self) -> dict[str, int]:
        return dict.fromkeys(self.parties, RATE)

    def blocks(self) -> Iterator[AudioBlock]:
        for _ in range(int(self.seconds * 10)):
            yield AudioBlock(dict.fromkeys(self.parties, b"\x10\x00" * (RATE // 10)))

    def close(self) -> None:
        pass


class ScriptedModel:
    """Stands in for SpeechModel: each new recogniser goes on from where the last one stopped."""

    def __init__(self, lines: list[tuple[float, float, str]]) -> None:
        self.lines = lines
        self.made: list[ScriptedRecognizer] = []

    def recognizer(self, rate: int) -> ScriptedRecognizer:
        last = self.made[-1] if self.made else None
        offset = last.offset + last.fed / RATE if last else 0.0
        self.made.append(ScriptedRecognizer(self.lines, offset, done=last.done if last else set()))
        return self.made[-1]


CALLER = [
    (1.0, 3.0, "this is the third time i am calling and nobody helped me"),
    (8.0, 10.0, "i want to speak to your supervisor right now"),
]
AGENT = [(4.0, 6.0, "i am so sorry to hear that let me take care of this for you")]


def _run(recycle_after: float) -> tuple[list[Event], ScriptedModel]:
    events: list[Event] = []
    model = ScriptedModel(CALLER)
    spec = CallSpec("c1", ScriptedSource(14.0, parties=("caller",)), CallAnalysis("c1"))
    options = CallOptions(recycle_after=recycle_after)
    asyncio.run(run_calls([spec], model, events.append, options=options))  # type: ignore[arg-type]
    return events, model


def test_turn_times_survive_recycled_recognizers() -> None:
    """Word and turn times stay in call time when the recogniser is replaced after every turn."""
    for recycle_after, recognizers in ((0.0, 3), (1000.0, 1)):
        events, model = _run(recycle_after)
        assert len(model.made) == recognizers
        turns = [e for e in events if isinstance(e, Turn)]
        assert [(t.start, t.end) for t in turns] == [(1.0, 3.0), (8.0, 10.0)], recycle_after
        assert [round(t.t, 1) for t in turns] == [3.5, 10.5]


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
    """PartyRecognizer reports positions in call time across recycling."""
    model = ScriptedModel(CALLER)
    rec = PartyRecognizer(model, RATE, recycle_after=0.0)  # type: ignore[arg-type]
    block = b"\x00\x00" * (RATE // 10)
    found = [r for _ in range(120) for r in rec.accept(block)]
    assert [(u.start, u.end) for u in found] == [(1.0, 3.0), (8.0, 10.0)]  # type: ignore[union-attr]
    assert rec.position == 12.0
