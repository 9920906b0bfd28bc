"""Live phone calls: the audio source an adapter pushes into, and the desk that runs the calls.

- `PushSource` is the `AudioSource` of one live call. Adapters push a party's PCM at any
  time from the event loop (`feed`, never blocking); `blocks()` hands the pipeline blocks of
  `BLOCK_SECONDS` with every party aligned in call time. A block goes out as soon as every
  party's audio for it is in, or when the wall clock has passed it by `hold` seconds: a party
  whose audio is late or lost gets a gap then, so one bad leg never stalls the other;
  gaps are comfort noise at the party's line level (see `_comfort`).
  While no party's audio for a block is in, nothing goes out: a peer that falls behind as a
  whole (a busy network, a stall) loses nothing.
  The call's clock starts with its first audio (a peer that says hello first and streams
  later has not lost the time in between).
  Audio that arrives for a block already handed on is late and counted (`late_samples`);
  audio past the buffer's bound (decoding has fallen behind) is dropped and counted
  (`dropped`, in blocks, which the pipeline reports in the call's summary).
- `CallIdentity` is what the phone system says about a call: its id, the agent, the
  caller's number and name, and where the audio comes from.
- `CallDesk` is the service's registry of live calls. `open(identity)` starts a
  `CallSession` for the call and returns its `LiveCall` (`feed(party, pcm)`, `end(reason)`);
  past `max_calls` it raises `Refused`, which an adapter turns into its protocol's refusal.
  Every call ends with its `call_ended`, whatever ends it (the peer hanging up, a lost
  connection, the service stopping), with the reason in `summary["ended_by"]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from monitor.analysis.chain import CallAnalysis
from monitor.errors import HeatmonError
from monitor.events import CallEnded, CallStarted, Event
from monitor.speech.audio import BLOCK_SECONDS, AudioBlock
from monitor.speech.pool import cores
from monitor.speech.recognizer import SpeechModel
from monitor.speech.session import Analysis, CallOptions, CallSession, CallSpec

log = logging.getLogger("heatmon")

PARTIES = ("caller", "agent")
TELEPHONE_RATE = 8000

#: Why a call ended, as `summary["ended_by"]` says it.
HANGUP = "hangup"  # the phone system ended the call (stop, BYE, AudioSocket hang-up)
CONNECTION_LOST = "connection_lost"  # the peer's connection broke without a word
SHUTDOWN = "shutdown"  # the service was stopped (SIGTERM, Ctrl-C)
ERROR = "error"  # heatmon failed on this call


class Refused(HeatmonError):
    """A call the desk will not take (at capacity, a duplicate id); `reason` says why."""

    def __init__(self, reason: str, *, busy: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.busy = busy  # at capacity: the peer may try again later (SIP 503, not 403)


@dataclass(frozen=True, slots=True)
class CallIdentity:
    """What the phone system tells us about a call."""

    call: str  # the call's id on the wire: unique among live calls
    agent: str = "agent"
    caller_number: str | None = None
    caller_name: str | None = None
    source: str = ""  # where the audio comes from, e.g. "twilio 127.0.0.1:50312"


class PushSource:
    """A live call's audio, pushed by an adapter; see the module docstring."""

    def __init__(
        self,
        rates: Mapping[str, int] | None = None,
        *,
        description: str = "",
        hold: float = 0.4,
        queue_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates: dict[str, int] = dict(rates or dict.fromkeys(PARTIES, TELEPHONE_RATE))
        self.description = description
        self.hold = hold
        self._clock = clock
        self._started: float | None = None  # the wall clock at call time 0, from the first audio
        self._bound = {p: int(r * queue_seconds) for p, r in self.rates.items()}
        self._block = {p: max(1, round(r * BLOCK_SECONDS)) for p, r in self.rates.items()}
        self._buffers = {p: bytearray() for p in self.rates}  # samples from the next block on
        self._ends = dict.fromkeys(self.rates, 0)  # per party: samples written, in call time
        self._emitted = 0  # blocks handed on
        self._closed = False
        self._lock = threading.Condition()
        # Per party: the level of its line noise (RMS), for the comfort noise that fills gaps.
        self._hiss: dict[str, float] = {}
        self._noise = np.random.default_rng(0)
        self.dropped_samples = 0
        self.late_samples = 0
        self.fed_samples = 0

    @property
    def dropped(self) -> int:
        """Audio dropped because decoding fell behind, in blocks (rounded up)."""
        block = min(self._block.values())
        return math.ceil(self.dropped_samples / block)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def buffered_seconds(self) -> float:
        """Audio waiting to be handed on, for the party that has the most."""
        with self._lock:
            return max(len(b) / 2 / self.rates[p] for p, b in self._buffers.items())

    def now(self, party: str) -> int:
        """The call's present in samples of `party`: where audio arriving now belongs (by the
        wall clock since the first audio, never before what was already handed on)."""
        with self._lock:
            base = self._emitted * self._block[party]
            if self._started is None:
                return max(base, self._ends[party])
            return max(base, int((self._clock() - self._started) * self.rates[party]))

    def position(self, party: str) -> int:
        """Call time (in samples of `party`) up to which the party's audio has been written."""
        return self._ends[party]

    def feed(self, party: str, pcm: bytes, at: int | None = None) -> None:
        """Push int16 little-endian PCM of `party`, starting at sample `at` of the call (default:
        right after the party's last audio, or now if that was already handed on). Never
        blocks for long and never raises for audio; an unknown party is a programming error."""
        if party not in self.rates:
            raise ValueError(f"no party {party!r} in this call")
        if len(pcm) % 2:
            pcm = pcm[:-1]
        n = len(pcm) // 2
        if not n:
            return
        with self._lock:
            if self._closed:
                return
            base = self._emitted * self._block[party]  # first sample still in the buffer
            start = max(self._ends[party], base) if at is None else at
            if self._started is None:
                self._started = self._clock() - max(0, start) / self.rates[party]
            if start < base:  # late: the block it belonged to was already handed on
                skip = min(n, base - start)
                self.late_samples += skip
                pcm, n, start = pcm[skip * 2 :], n - skip, base
                if not n:
                    return
            buffer = self._buffers[party]
            offset = start - base
            if offset + n > self._bound[party]:
                self.dropped_samples += n
                return
            if offset > len(buffer) // 2:  # a gap (lost packets): comfort noise in its place
                buffer.extend(self._comfort(party, offset - len(buffer) // 2))
            buffer[offset * 2 : offset * 2 + n * 2] = pcm
            self._listen(party, pcm)
            self._ends[party] = max(self._ends[party], start + n)
            self.fed_samples += n
            self._lock.notify()

    def close(self) -> None:
        """No more audio: `blocks()` hands on what it has and ends."""
        with self._lock:
            self._closed = True
            self._lock.notify()

    def blocks(self) -> Iterator[AudioBlock]:
        while True:
            with self._lock:
                while not self._ready():
                    self._lock.wait(timeout=self._wait())
                if self._closed and self._drained():
                    return
                block = self._take()
            yield block

    def _ready(self) -> bool:
        if self._closed:
            return True
        k = self._emitted + 1  # the block after the next is due
        have = [self._ends[p] >= k * self._block[p] for p in self.rates]
        if all(have):
            return True
        if self._started is None or not any(have):
            return False  # nobody's audio is in: the peer is slow, not a leg lost; wait for it
        return self._clock() - self._started >= k * BLOCK_SECONDS + self.hold

    def _wait(self) -> float:
        if self._started is None or self._ends_below_next_block():
            return 1.0  # a feed or close wakes us
        due = self._started + (self._emitted + 1) * BLOCK_SECONDS + self.hold
        return min(max(0.005, due - self._clock()), 1.0)

    def _ends_below_next_block(self) -> bool:
        k = self._emitted + 1
        return all(self._ends[p] < k * self._block[p] for p in self.rates)

    def _drained(self) -> bool:
        """Closed, and every party's audio handed on."""
        return all(self._ends[p] <= self._emitted * self._block[p] for p in self.rates)

    def _listen(self, party: str, pcm: bytes) -> None:
        """Follow the party's line noise: the quietest recent audio, rising slowly."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        rms = float(np.sqrt(np.mean(samples * samples)))
        known = self._hiss.get(party)
        self._hiss[party] = rms if known is None else min(rms, known * 1.01 + 0.01)

    def _comfort(self, party: str, samples: int) -> bytes:
        """Audio for a stretch that never came: noise at the line's own level (RFC 3389's
        comfort noise), not digital silence, which would drag the noise floor the turn
        endings are measured against far below the line's and keep turns from ending."""
        level = self._hiss.get(party)
        if not level or samples <= 0:
            return bytes(2 * max(0, samples))
        noise = self._noise.normal(0.0, level, samples).clip(-32768, 32767).astype("<i2")
        return noise.tobytes()

    def _take(self) -> AudioBlock:
        pcm: dict[str, bytes] = {}
        for party, buffer in self._buffers.items():
            size = self._block[party] * 2
            chunk = bytes(buffer[:size])
            del buffer[:size]
            pcm[party] = chunk + self._comfort(party, (size - len(chunk)) // 2)
        self._emitted += 1
        return AudioBlock(pcm)


@dataclass(eq=False)
class LiveCall:
    """One call on the desk: an adapter feeds it and ends it."""

    identity: CallIdentity
    source: PushSource
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    ended_by: str | None = None

    @property
    def call(self) -> str:
        return self.identity.call

    def feed(self, party: str, pcm: bytes, at: int | None = None) -> None:
        """Push int16 PCM of `party` (see `PushSource.feed`)."""
        self.source.feed(party, pcm, at)

    def end(self, reason: str = HANGUP) -> None:
        """End the call: its last words become a turn, then `call_ended` with `reason` (the
        first reason given wins: a BYE after a lost connection does not rewrite it)."""
        if self.ended_by is None:
            self.ended_by = reason
        self.source.close()

    async def ended(self) -> None:
        """Wait until the call's `call_ended` has been emitted."""
        if self.task is not None:
            await asyncio.wait([self.task])


class CallDesk:
    """The live calls of one `heatmon ingest` service: each decoded with the shared model."""

    def __init__(
        self,
        model: SpeechModel,
        emit: Callable[[Event], None],
        *,
        max_calls: int,
        options: CallOptions | None = None,
        analysis: Callable[[str], Analysis] = CallAnalysis,
        threads: int | None = None,
        hold: float = 0.4,
    ) -> None:
        if max_calls < 1:
            raise ValueError(f"max_calls must be at least 1, not {max_calls}")
        self.max_calls = max_calls
        self._model = model
        self._emit = emit
        self._options = options or CallOptions()
        self._analysis = analysis
        self._hold = hold
        self._executor = ThreadPoolExecutor(max_workers=threads or cores(), thread_name_prefix="vosk")
        self.calls: dict[str, LiveCall] = {}
        self.refused = 0
        self._closing = False

    @property
    def closing(self) -> bool:
        """The service is stopping: new calls are refused."""
        return self._closing

    def open(self, identity: CallIdentity, rates: Mapping[str, int] | None = None) -> LiveCall:
        """Start monitoring a call; `Refused` past `max_calls`, for a live id, or when stopping."""
        if self._closing:
            raise Refused("the service is stopping", busy=True)
        if identity.call in self.calls:
            self.refused += 1
            raise Refused(f"call {identity.call!r} is already live")
        if len(self.calls) >= self.max_calls:
            self.refused += 1
            raise Refused(f"at capacity ({self.max_calls} calls)", busy=True)
        source = PushSource(rates, description=identity.source, hold=self._hold)
        live = LiveCall(identity, source)
        options = dataclasses.replace(self._options, agent=identity.agent)
        spec = CallSpec(identity.call, source, self._analysis(identity.call))
        emit = self._emitter(live)
        session = CallSession(spec, self._model, emit, options=options, executor=self._executor)
        self.calls[identity.call] = live
        live.task = asyncio.get_running_loop().create_task(self._run(live, session), name=f"call-{live.call}")
        log.info(
            "call %s started: agent %s, caller %s, from %s",
            identity.call,
            identity.agent,
            identity.caller_number or "unknown",
            identity.source or "?",
        )
        return live

    async def _run(self, live: LiveCall, session: CallSession) -> None:
        try:
            await session.run()
        except asyncio.CancelledError:
            raise
        except Exception as err:  # one call's failure must never take the others down
            live.ended_by = live.ended_by or ERROR
            log.error("call %s failed: %s", live.call, err, exc_info=err)
        finally:
            self.calls.pop(live.call, None)

    def _emitter(self, live: LiveCall) -> Callable[[Event], None]:
        """The session's events with the phone system's word on who is on the call added."""
        identity = live.identity

        def emit(event: Event) -> None:
            if isinstance(event, CallStarted):
                event = dataclasses.replace(
                    event,
                    agent=identity.agent,
                    caller_number=identity.caller_number,
                    caller_name=identity.caller_name or event.caller_name,
                )
            elif isinstance(event, CallEnded):
                summary = dict(event.summary or {})
                summary["ended_by"] = live.ended_by or ERROR
                if live.source.late_samples:
                    summary["late_audio_seconds"] = round(
                        live.source.late_samples / min(live.source.rates.values()), 2
                    )
                event = dataclasses.replace(event, summary=summary)
            self._emit(event)

        return emit

    async def close(self, reason: str = SHUTDOWN, timeout: float = 30.0) -> None:
        """End every live call (each emits its `call_ended`), refuse new ones, free the workers."""
        self._closing = True
        calls = list(self.calls.values())
        for live in calls:
            live.end(reason)
        tasks = [live.task for live in calls if live.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:  # stuck: cancelled, CallSession still emits call_ended
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        with contextlib.suppress(RuntimeError):
            self._executor.shutdown(wait=False, cancel_futures=True)
