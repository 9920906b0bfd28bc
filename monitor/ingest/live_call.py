"""One live call on the desk: who it is, its audio, and why it ended.

- `CallIdentity` is what the phone system says about a call: its id, the agent, the
  caller's number and name, and where the audio comes from.
- `LiveCall` is what an adapter holds for a call it admitted: `feed(party, pcm)` pushes a
  leg's audio into the call's `PushSource`, `end(reason)` ends it; whatever ends it (the
  peer hanging up, a lost connection, the service stopping), the call's `call_ended`
  carries the first reason given in `summary["ended_by"]`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from monitor.ingest.push_source import PushSource

#: Why a call ended, as `summary["ended_by"]` says it.
HANGUP = "hangup"  # the phone system ended the call (stop, BYE, AudioSocket hang-up)
CONNECTION_LOST = "connection_lost"  # the peer's connection broke without a word
SHUTDOWN = "shutdown"  # the service was stopped (SIGTERM, Ctrl-C)
ERROR = "error"  # heatmon failed on this call


@dataclass(frozen=True, slots=True)
class CallIdentity:
    """What the phone system tells us about a call."""

    call: str  # the call's id on the wire: unique among live calls
    agent: str = "agent"
    caller_number: str | None = None
    caller_name: str | None = None
    source: str = ""  # where the audio comes from, e.g. "twilio 127.0.0.1:50312"


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
