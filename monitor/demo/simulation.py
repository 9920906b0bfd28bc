"""The demo floor: the bundled demo calls, played over and over so the board stays alive.

`DemoFloor` keeps `calls` lanes busy: lane i starts its first call i staggers in (so the
board fills up call by call), then starts the next demo call whenever its call ends. Each
started call gets a unique id and an agent who is not on another call at the moment. How a
call is played is the `Player`'s job: `TranscriptPlayer` replays the written transcript
through the analysis chain; the audio player (monitor.demo.audio) runs synthesized speech
through Vosk. Every call a player starts ends with `call_ended`, also when the demo stops.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from monitor.analysis.lexicon import Lexicon
from monitor.analysis.playbook import Playbook
from monitor.errors import InputError
from monitor.events import CallEnded, CallStarted, Event, Turn, utc_timestamp
from monitor.paths import BUNDLED_MODELS
from monitor.transcripts.reader import read_transcript
from monitor.transcripts.replay import Replay

DEMO_CALLS = BUNDLED_MODELS / "demo_calls"
#: Agents who take over a demo call when its own agent is busy on another one.
SPARE_AGENTS = ("amara", "daniel", "lena", "omar", "grace", "victor", "nina", "samuel")

Emit = Callable[[Event], None]


@dataclass(frozen=True, slots=True)
class DemoCall:
    """One bundled demo call: its transcript and who is on it."""

    name: str
    agent: str
    caller_name: str
    title: str
    turns: tuple[Turn, ...]

    @property
    def duration(self) -> float:
        return max((turn.end for turn in self.turns), default=0.0)


def load_demo_calls(folder: Path = DEMO_CALLS) -> list[DemoCall]:
    """The demo calls listed in `folder/index.json`, in its order."""
    try:
        index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        entries = index["calls"]
        calls = [
            DemoCall(
                name=str(entry["call"]),
                agent=str(entry["agent"]),
                caller_name=str(entry["caller_name"]),
                title=str(entry["title"]),
                turns=tuple(read_transcript(folder / str(entry["file"])).turns),
            )
            for entry in entries
        ]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(f"the demo calls in {folder} are missing or damaged: {err}") from err
    if not calls:
        raise InputError(f"no demo calls listed in {folder / 'index.json'}")
    return calls


def demo_agents(calls: Iterable[DemoCall]) -> list[str]:
    """Every agent name a demo floor can use: the calls' own agents first, then the spares."""
    names = list(dict.fromkeys(call.agent for call in calls))
    return names + [name for name in SPARE_AGENTS if name not in names]


def floor_agents(calls: Sequence[DemoCall], lanes: int) -> list[str]:
    """Every agent who can take a call on a floor of `lanes` calls at once: the calls' own agents,
    then the spares `pick_agent` can call on. At most `lanes - 1` agents are busy when a call is
    given out, so the first `lanes` names of the pool are always enough."""
    own = len(dict.fromkeys(call.agent for call in calls))
    return demo_agents(calls)[: max(own, lanes)]


def pick_agent(preferred: str, busy: set[str] | frozenset[str], pool: Sequence[str]) -> str:
    """The call's own agent if free, else the first free one of `pool` (else the preferred one:
    an agent with two calls is better than no call)."""
    if preferred not in busy:
        return preferred
    return next((name for name in pool if name not in busy), preferred)


def call_ids(calls: Sequence[DemoCall]) -> Iterator[tuple[DemoCall, str]]:
    """The demo calls in a loop, each start with its own id: `billing-dispute-1`, `outage-2`, ..."""
    for number, call in enumerate(itertools.cycle(calls), start=1):
        yield call, f"{call.name}-{number}"


class Player(Protocol):
    """Plays one demo call from `call_started` to `call_ended` (also when cancelled)."""

    @property
    def mode(self) -> str: ...

    @property
    def speed(self) -> float: ...

    async def play(self, call: DemoCall, call_id: str, agent: str, emit: Emit) -> None: ...


@dataclass(frozen=True, slots=True)
class TranscriptPlayer:
    """Replays a demo call's written transcript through the analysis chain, paced."""

    speed: float = 1.0
    mode: str = "transcript"
    playbook: Playbook | None = None  # None: the bundled one
    lexicon: Lexicon | None = None

    async def play(self, call: DemoCall, call_id: str, agent: str, emit: Emit) -> None:
        def named(event: Event) -> Event:
            """The demo call's caller is named on its first event and in its summary."""
            if isinstance(event, CallStarted):
                return dataclasses.replace(event, caller_name=call.caller_name)
            if isinstance(event, CallEnded):
                return dataclasses.replace(
                    event, summary={**(event.summary or {}), "caller_name": call.caller_name}
                )
            return event

        replay = Replay(
            call.turns,
            call_id,
            agent=agent,
            started_at=utc_timestamp(),
            source=f"demo transcript: {call.title}",
            playbook=self.playbook,
            lexicon=self.lexicon,
        )
        await replay.play(emit, speed=self.speed, amend=named)


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """How busy the demo floor is."""

    calls: int = 8  # calls live at once
    stagger: float = 4.0  # call-time seconds between the first starts of the lanes
    pause: float = 3.0  # call-time seconds between a lane's call ending and its next starting


class DemoFloor:
    """Keeps `options.calls` demo calls live until `run`'s stop event is set."""

    def __init__(
        self, calls: Sequence[DemoCall], player: Player, emit: Emit, options: DemoOptions = DemoOptions()
    ) -> None:
        if options.calls < 1:
            raise InputError("the demo needs at least one call (--calls N, N >= 1)")
        self.player = player
        self.emit = emit
        self.options = options
        self.pool = demo_agents(calls)
        self.started: list[tuple[str, str]] = []  # (call id, agent) of every call started
        self._next = call_ids(calls)
        self._busy: set[str] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Play until `stop` is set; then end every live call (each gets `call_ended`)."""
        lanes = [asyncio.create_task(self._lane(i), name=f"demo-lane-{i}") for i in range(self.options.calls)]
        stopping = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([stopping, *lanes], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopping:
                    task.result()  # a lane can only end by failing: raise its error
        finally:
            for task in (stopping, *lanes):
                task.cancel()
            await asyncio.gather(stopping, *lanes, return_exceptions=True)

    async def _lane(self, index: int) -> None:
        speed = self.player.speed
        await asyncio.sleep(index * self.options.stagger / speed)
        while True:
            call, call_id = next(self._next)
            agent = pick_agent(call.agent, self._busy, self.pool)
            self._busy.add(agent)
            self.started.append((call_id, agent))
            try:
                await self.player.play(call, call_id, agent, self.emit)
            finally:
                self._busy.discard(agent)
            await asyncio.sleep(self.options.pause / speed)
