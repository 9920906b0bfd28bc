"""CallSession: one call's audio through Vosk and the analysis chain, events out.

This is where asyncio lives, with `batches.py` (the source read by a daemon thread and
handed over in batches) and `pool.py` (several calls at once). Decoding runs in a pool of
worker threads, one per core, because Vosk releases the GIL; each party of a call is
decoded at once. Turns go through the pure analysis chain (sentiment, heat, coach) and
every event goes to `emit`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol

from monitor.events import CallEnded, CallStarted, Event, Partial, Turn, utc_timestamp
from monitor.speech.batches import audio_batches
from monitor.speech.blocks import BLOCK_SECONDS, AudioBlock, AudioSource
from monitor.speech.levels import LevelTrack, SpeechPresence
from monitor.speech.recognizer import PartialText, PartyRecognizer, SpeechModel, Utterance

Emit = Callable[[Event], None]


class Analysis(Protocol):
    """The pure chain a call's turns go through (monitor.analysis.chain.CallAnalysis)."""

    def on_turn(self, turn: Turn) -> list[Event]: ...

    def on_tick(self, t: float) -> list[Event]: ...

    def on_sound(self, t: float) -> list[Event]: ...

    def summary(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class CallOptions:
    """How a call is monitored."""

    agent: str = "agent"
    partials: bool = False  # emit `partial` events
    partial_interval: float = 0.5  # at most one partial per party per this much call time
    tick_interval: float = 1.0  # heat decay and dead-air checks, in call time
    quiet_end: float | None = 0.4  # end a turn after this much quiet following speech (None: Kaldi only)
    recycle_after: float = (
        1800.0  # seconds of audio a recogniser decodes before it is replaced (see recognizer.py)
    )
    skip_silence: bool = True  # keep a party's long silences from the recogniser (levels.SilenceGate)


@dataclass(frozen=True, slots=True)
class CallSpec:
    """One call to monitor: its id, its audio, and the chain its turns go through."""

    call: str
    source: AudioSource
    analysis: Analysis | None = None


class CallSession:
    """Monitors one call from its first audio block to `call_ended`."""

    def __init__(
        self,
        spec: CallSpec,
        model: SpeechModel,
        emit: Emit,
        *,
        options: CallOptions = CallOptions(),
        executor: Executor | None = None,
    ) -> None:
        self.call = spec.call
        self._source = spec.source
        self._analysis = spec.analysis
        self._model = model
        self._emit = emit
        self._options = options
        self._executor = executor
        self._recognizers: dict[str, PartyRecognizer] = {}
        self._levels: dict[str, LevelTrack] = {}
        self._voices: dict[str, SpeechPresence] = {}
        self._last_partial: dict[str, float] = {}
        self._next_tick = options.tick_interval
        self.position = 0.0

    async def run(self) -> None:
        """Monitor the call until its audio ends (or the task is cancelled: Ctrl-C)."""
        self._emit(
            CallStarted(
                call=self.call,
                t=0.0,
                agent=self._options.agent,
                started_at=utc_timestamp(),
                source=self._source.description,
            )
        )
        try:
            for party, rate in self._source.rates.items():
                self._recognizers[party] = PartyRecognizer(
                    self._model,
                    rate,
                    partials=self._options.partials,
                    recycle_after=self._options.recycle_after,
                    quiet_end=self._options.quiet_end,
                    skip_silence=self._options.skip_silence,
                )
                self._levels[party] = LevelTrack(rate)
                self._voices[party] = SpeechPresence()
            async for batch in audio_batches(self._source, self.call):
                await self._decode(batch)
            await self._finish()
        finally:
            self._source.close()
            summary = self._analysis.summary() if self._analysis else {}
            dropped = getattr(self._source, "dropped", 0)
            if dropped:
                summary = {**summary, "dropped_audio_blocks": dropped}
            end = round(self.position, 3)
            self._emit(CallEnded(call=self.call, t=end, duration=end, summary=summary))

    async def _decode(self, batch: list[AudioBlock]) -> None:
        loop = asyncio.get_running_loop()
        parties = [p for p in self._recognizers if any(p in block.pcm for block in batch)]
        audio: dict[str, list[tuple[bytes, float]]] = {p: [] for p in parties}
        heard: list[float] = []  # call times at which anyone was heard speaking, in this batch
        for party in parties:
            levels, voice = self._levels[party], self._voices[party]
            for pcm in (block.pcm[party] for block in batch if party in block.pcm):
                # Measured once, here: for the turn loudness, speech presence and the recogniser.
                level = levels.add(pcm)
                audio[party].append((pcm, level))
                if voice.heard(level, BLOCK_SECONDS):
                    heard.append(round(levels.position, 3))
        results = await asyncio.gather(
            *(
                loop.run_in_executor(self._executor, _accept_all, self._recognizers[p], audio[p])
                for p in parties
            )
        )
        self.position = max(r.position for r in self._recognizers.values())
        self._handle(zip(parties, results, strict=True), heard)

    async def _finish(self) -> None:
        loop = asyncio.get_running_loop()
        parties = list(self._recognizers)
        results = await asyncio.gather(
            *(loop.run_in_executor(self._executor, self._recognizers[p].finish) for p in parties)
        )
        self._handle(zip(parties, results, strict=True))

    def _handle(
        self, results: Iterable[tuple[str, Sequence[Utterance | PartialText]]], heard: Sequence[float] = ()
    ) -> None:
        """Emit what the recognisers found, and tell the analysis when anyone was heard, in
        call-time order with the ticks in between (a tick must see the silence before a sound)."""
        timeline: list[tuple[float, float, str, Utterance | PartialText | None]] = [
            (r.heard_at, r.heard_at if isinstance(r, PartialText) else r.end, party, r)
            for party, rs in results
            for r in rs
        ]
        timeline += [(t, t, "", None) for t in heard]
        timeline.sort(key=lambda item: item[:2])
        for t, _, party, result in timeline:
            self._tick_until(t, inclusive=False)
            if result is None:
                if self._analysis:
                    self._emit_all(self._analysis.on_sound(t))
            elif isinstance(result, Utterance):
                self._last_partial.pop(party, None)
                self._on_turn(self._turn(party, result))
            elif self._partial_due(party, t):
                self._emit(Partial(call=self.call, t=t, speaker=party, text=result.text))
        self._tick_until(self.position, inclusive=True)

    def _tick_until(self, t: float, *, inclusive: bool) -> None:
        """Run the analysis's clock (heat decay, dead air) up to call time `t`."""
        while self._next_tick < t or (inclusive and self._next_tick == t):
            if self._analysis:
                self._emit_all(self._analysis.on_tick(self._next_tick))
            self._next_tick += self._options.tick_interval

    def _partial_due(self, party: str, t: float) -> bool:
        last = self._last_partial.get(party)
        if last is not None and t - last < self._options.partial_interval:
            return False
        self._last_partial[party] = t
        return True

    def _turn(self, party: str, utterance: Utterance) -> Turn:
        start, end = utterance.start, utterance.end
        span = end - start
        return Turn(
            call=self.call,
            t=utterance.heard_at,
            speaker=party,
            text=utterance.text,
            start=start,
            end=end,
            words=tuple(w.to_dict() for w in utterance.words),
            confidence=None if utterance.confidence is None else round(utterance.confidence, 3),
            loudness_db=self._levels[party].loudness_db(start, end),
            rate_wps=round(len(utterance.words) / span, 2) if span > 0 else None,
        )

    def _on_turn(self, turn: Turn) -> None:
        self._emit_all(self._analysis.on_turn(turn) if self._analysis else [turn])

    def _emit_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self._emit(event)


def _accept_all(
    recognizer: PartyRecognizer, blocks: list[tuple[bytes, float]]
) -> list[Utterance | PartialText]:
    """A worker job: a batch of one party's blocks (with their levels) through its recogniser,
    block by block (turns end on block boundaries, so a batch is decoded exactly as its blocks
    would be)."""
    return [result for pcm, level in blocks for result in recognizer.accept(pcm, level)]
