"""Replay: a transcript's turns through the whole chain, as the wire contract's events.

A `Replay` is one call to play: its turns and how its `call_started` names it.
`Replay.events()` is pure (times come from the transcript, nothing sleeps); `paced()` is the
same stream released in real time (or faster), and `play()` hands it to a callback and ends
the call however the replay stops: for the demo floor and `heatmon replay` without `--fast`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.analysis.chain import CallAnalysis
from monitor.analysis.lexicon import Lexicon
from monitor.analysis.playbook import Playbook
from monitor.events import CallEnded, CallStarted, Event, Turn

#: Ticks at most this many between two turns. Ticks let heat decay, dead air and monologues
#: show between turns; after ten minutes of silence (at the default 1 s tick) heat has long
#: decayed and dead air been flagged, and a turn at t = 1e300 must not take 1e300 ticks. The
#: next turn's heat is the same either way: decay is computed from the time passed.
MAX_GAP_TICKS = 600


@dataclass(frozen=True, slots=True)
class Replay:
    """One call to replay: `turns` in order of their end (as `read_transcript` gives them)."""

    turns: Sequence[Turn]
    call: str
    agent: str = "agent"
    started_at: str = "1970-01-01T00:00:00Z"
    source: str | None = "replay"
    playbook: Playbook | None = None
    lexicon: Lexicon | None = None

    def events(self, tick: float = 1.0) -> Iterator[Event]:
        """call_started, then every turn with the events it causes and ticks between turns
        (`tick` seconds apart, at most MAX_GAP_TICKS in one gap), then call_ended.

        A turn's start also tells the analysis that its speaker began speaking, so the silence
        cues see speech that is still going on.
        """
        analysis = CallAnalysis(self.call, playbook=self.playbook, lexicon=self.lexicon)
        yield CallStarted(
            call=self.call, t=0.0, agent=self.agent, started_at=self.started_at, source=self.source
        )
        starts = sorted((turn.start, turn.speaker) for turn in self.turns)
        next_start = 0
        next_tick = tick
        for turn in self.turns:
            ticks = 0
            while True:
                start_t = starts[next_start][0] if next_start < len(starts) else math.inf
                if min(start_t, next_tick) > turn.end:
                    break
                if start_t <= next_tick:
                    analysis.on_speech(starts[next_start][1], start_t, True)
                    next_start += 1
                elif ticks == MAX_GAP_TICKS:
                    next_tick = math.inf  # a long silence has said all it can: on to the turn
                else:
                    yield from analysis.on_tick(next_tick)
                    ticks += 1
                    next_tick += tick
            yield from analysis.on_turn(self._with_call(turn))
            if next_tick == math.inf:  # ticks go on from the first one after the turn
                next_tick = (math.floor(turn.end / tick) + 1) * tick
        end = self.last_end
        yield CallEnded(call=self.call, t=end, duration=round(end, 2), summary=analysis.summary())

    @property
    def last_end(self) -> float:
        return max((turn.end for turn in self.turns), default=0.0)

    def summary(self) -> dict[str, Any]:
        """The summary the call ends with (its `call_ended`'s), from the real chain."""
        *_, ended = self.events()
        assert isinstance(ended, CallEnded)
        return dict(ended.summary or {})

    def stopped_early(self, at: float) -> CallEnded:
        """The `call_ended` of a replay stopped `at` seconds in (Ctrl-C, a refused hub): its
        summary is that of the turns heard so far, as the live chain would have said (it is
        deterministic)."""
        heard = dataclasses.replace(self, turns=[turn for turn in self.turns if turn.end <= at], source=None)
        summary = {**heard.summary(), "stopped_early": True}
        return CallEnded(call=self.call, t=round(at, 3), duration=round(at, 3), summary=summary)

    async def paced(self, speed: float = 1.0) -> AsyncIterator[Event]:
        """The events of `events()`, each released when its call time comes (`speed` x real time)."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        loop = asyncio.get_running_loop()
        began = loop.time()
        for event in self.events():
            delay = began + event.t / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            yield event

    async def play(
        self,
        emit: Callable[[Event], None],
        speed: float = 1.0,
        amend: Callable[[Event], Event] = lambda event: event,
    ) -> None:
        """`paced()` into `emit`, each event through `amend` first. A replay stopped early
        (cancelled: Ctrl-C, a refused hub, the demo stopping) still ends its call, with the
        summary of the turns heard by then (`stopped_early`)."""
        loop = asyncio.get_running_loop()
        began, ended = loop.time(), False
        try:
            async for event in self.paced(speed):
                emit(amend(event))
                ended = isinstance(event, CallEnded)
        finally:
            if not ended:
                at = min((loop.time() - began) * speed, self.last_end)  # the call time it was stopped at
                emit(amend(self.stopped_early(at)))

    def _with_call(self, turn: Turn) -> Turn:
        """The turn with its call name set (a transcript may leave `call` out)."""
        return turn if turn.call == self.call else dataclasses.replace(turn, call=self.call)
