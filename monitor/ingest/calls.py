"""The call desk of `heatmon ingest`: admitting live calls and running each one's session.

`CallDesk` is the service's registry of live calls. `open(identity)` starts a
`CallSession` for the call and returns its `LiveCall` (`feed(party, pcm)`, `end(reason)`);
past `max_calls`, or while decoding has fallen behind the calls already live, it raises
`Refused`, which an adapter turns into its protocol's refusal.
Every call ends with its `call_ended`, whatever ends it (the peer hanging up, a lost
connection, the service stopping), with the reason in `summary["ended_by"]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from monitor.analysis.chain import CallAnalysis
from monitor.errors import HeatmonError
from monitor.events import CallEnded, CallStarted, Event
from monitor.ingest.live_call import ERROR, SHUTDOWN, CallIdentity, LiveCall
from monitor.ingest.push_source import PushSource
from monitor.speech.pool import cores
from monitor.speech.recognizer import SpeechModel
from monitor.speech.session import Analysis, CallOptions, CallSession, CallSpec

log = logging.getLogger("heatmon")

#: Seconds of a live call's audio that may wait for decoding before new calls are refused
#: (`--max-behind`; 0 turns the guard off). A call that keeps up has a few tenths waiting
#: (a block, a decode in flight, the wait for a late leg); past a second, its turns come
#: about a second and a half after the caller stops.
BEHIND_LIMIT = 1.0


class Refused(HeatmonError):
    """A call the desk will not take (at capacity, a duplicate id); `reason` says why."""

    def __init__(self, reason: str, *, busy: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.busy = busy  # at capacity: the peer may try again later (SIP 503, not 403)


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
        behind_limit: float = BEHIND_LIMIT,
    ) -> None:
        if max_calls < 1:
            raise ValueError(f"max_calls must be at least 1, not {max_calls}")
        self.max_calls = max_calls
        self._model = model
        self._emit = emit
        self._options = options or CallOptions()
        self._analysis = analysis
        self._hold = hold
        self.behind_limit = behind_limit
        self._executor = ThreadPoolExecutor(max_workers=threads or cores(), thread_name_prefix="vosk")
        self.calls: dict[str, LiveCall] = {}
        self._sessions: dict[str, CallSession] = {}
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
        behind = self.behind()
        if self.behind_limit > 0 and behind > self.behind_limit:
            # --max-calls is a guess at the machine; this is the measurement. One more call
            # would only put every call further behind.
            self.refused += 1
            raise Refused(
                f"at capacity: decoding is {behind:.1f} s behind with {len(self.calls)} calls", busy=True
            )
        source = PushSource(rates, description=identity.source, hold=self._hold)
        live = LiveCall(identity, source)
        options = dataclasses.replace(self._options, agent=identity.agent)
        spec = CallSpec(identity.call, source, self._analysis(identity.call))
        emit = self._emitter(live)
        session = CallSession(spec, self._model, emit, options=options, executor=self._executor)
        self.calls[identity.call] = live
        self._sessions[identity.call] = session
        live.task = asyncio.get_running_loop().create_task(self._run(live, session), name=f"call-{live.call}")
        log.info(
            "call %s started: agent %s, caller %s, from %s",
            identity.call,
            identity.agent,
            identity.caller_number or "unknown",
            identity.source or "?",
        )
        return live

    def behind(self) -> float:
        """How far decoding has fallen behind the live calls: for the call furthest behind,
        the seconds of its audio that have arrived but are not decoded yet (a few tenths while
        the machine keeps up: a block, a decode in flight, the wait for a late leg)."""
        lags = [0.0]
        for call, session in self._sessions.items():  # set and dropped with `calls`
            source = self.calls[call].source
            arrived = max(source.position(p) / rate for p, rate in source.rates.items())
            lags.append(arrived - session.position)
        return max(lags)

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
            self._sessions.pop(live.call, None)

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
