"""Replay: a transcript's turns through the whole chain, as the wire contract's events.

`replay_events` is pure (times come from the transcript, nothing sleeps); `replay_paced`
is the same stream released in real time (or faster), for the demo floor and for
`heatmon replay` without `--fast`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

from monitor.analysis.chain import CallAnalysis
from monitor.analysis.lexicon import Lexicon
from monitor.analysis.playbook import Playbook
from monitor.events import CallEnded, CallStarted, Event, Turn

#: Ticks at most this many between two turns. Ticks let heat decay, dead air and monologues
#: show between turns; after ten minutes of silence (at the default 1 s tick) heat has long
#: decayed and dead air been flagged, and a turn at t = 1e300 must not take 1e300 ticks. The
#: next turn's heat is the same either way: decay is computed from the time passed.
MAX_GAP_TICKS = 600


def replay_events(
    turns: Sequence[Turn],
    *,
    call: str,
    agent: str = "agent",
    started_at: str = "1970-01-01T00:00:00Z",
    source: str | None = "replay",
    playbook: Playbook | None = None,
    lexicon: Lexicon | None = None,
    tick: float = 1.0,
) -> Iterator[Event]:
    """call_started, then every turn with the events it causes and ticks between turns
    (`tick` seconds apart, at most MAX_GAP_TICKS in one gap), then call_ended.

    `turns` must be in order of their end (as `read_transcript` gives them). A turn's start
    also tells the analysis that its speaker began speaking, so the silence cues see speech
    that is still going on.
    """
    analysis = CallAnalysis(call, playbook=playbook, lexicon=lexicon)
    yield CallStarted(call=call, t=0.0, agent=agent, started_at=started_at, source=source)
    starts = sorted((turn.start, turn.speaker) for turn in turns)
    next_start = 0
    next_tick = tick
    for turn in turns:
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
        yield from analysis.on_turn(_with_call(turn, call))
        if next_tick == math.inf:  # ticks go on from the first one after the turn
            next_tick = (math.floor(turn.end / tick) + 1) * tick
    end = max((turn.end for turn in turns), default=0.0)
    yield CallEnded(call=call, t=end, duration=round(end, 2), summary=analysis.summary())


def stopped_early(
    turns: Sequence[Turn],
    *,
    call: str,
    at: float,
    playbook: Playbook | None = None,
    lexicon: Lexicon | None = None,
) -> CallEnded:
    """The `call_ended` of a replay stopped `at` seconds in (Ctrl-C, a refused hub): its summary
    is that of the turns heard so far, as the live chain would have said (it is deterministic)."""
    heard = [turn for turn in turns if turn.end <= at]
    ended = list(replay_events(heard, call=call, source=None, playbook=playbook, lexicon=lexicon))[-1]
    assert isinstance(ended, CallEnded)
    summary = {**(ended.summary or {}), "stopped_early": True}
    return CallEnded(call=call, t=round(at, 3), duration=round(at, 3), summary=summary)


async def replay_to_end(
    turns: Sequence[Turn],
    emit: Callable[[Event], None],
    *,
    call: str,
    agent: str = "agent",
    started_at: str = "1970-01-01T00:00:00Z",
    source: str | None = "replay",
    playbook: Playbook | None = None,
    lexicon: Lexicon | None = None,
    speed: float = 1.0,
    amend: Callable[[Event], Event] = lambda event: event,
) -> None:
    """`replay_paced` into `emit`, each event through `amend` first. A replay stopped early
    (cancelled: Ctrl-C, a refused hub, the demo stopping) still ends its call, with the summary
    of the turns heard by then (`stopped_early`)."""
    loop = asyncio.get_running_loop()
    began, ended = loop.time(), False
    events = replay_paced(
        turns,
        call=call,
        agent=agent,
        started_at=started_at,
        source=source,
        playbook=playbook,
        lexicon=lexicon,
        speed=speed,
    )
    try:
        async for event in events:
            emit(amend(event))
            ended = isinstance(event, CallEnded)
    finally:
        if not ended:
            last = max((turn.end for turn in turns), default=0.0)
            at = min((loop.time() - began) * speed, last)  # the call time it was stopped at
            emit(amend(stopped_early(turns, call=call, at=at, playbook=playbook, lexicon=lexicon)))


def _with_call(turn: Turn, call: str) -> Turn:
    """The turn with its call name set (a transcript may leave `call` out)."""
    return turn if turn.call == call else dataclasses.replace(turn, call=call)


async def replay_paced(
    turns: Sequence[Turn],
    *,
    call: str,
    agent: str = "agent",
    started_at: str = "1970-01-01T00:00:00Z",
    source: str | None = "replay",
    playbook: Playbook | None = None,
    lexicon: Lexicon | None = None,
    speed: float = 1.0,
) -> AsyncIterator[Event]:
    """The events of `replay_events`, each released when its call time comes (`speed` x real time)."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    loop = asyncio.get_running_loop()
    began = loop.time()
    events = replay_events(
        turns,
        call=call,
        agent=agent,
        started_at=started_at,
        source=source,
        playbook=playbook,
        lexicon=lexicon,
    )
    for event in events:
        delay = began + event.t / speed - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        yield event
