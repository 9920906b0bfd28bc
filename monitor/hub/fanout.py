"""Fan-out to dashboard viewers: one bounded queue and one sender task per viewer.

A viewer that keeps up (nothing queued, room in its socket buffer) gets each tick's batch
written at once, without a task switch. One that falls behind gets its events queued and
sent by its own task, which waits for the socket to drain; while queued, `heat` and
`partial` are coalesced to the newest per call (and speaker), a partial is dropped once
its speaker's turn follows, and everything else is kept. So a queue holds at most one heat
and two partials per call beside what must be kept; its bound counts only the latter (turns,
alerts, coach, call starts and ends, acks, messages), and the bytes of everything queued.
A viewer whose queue passes either bound, or whose socket takes nothing for
`stall_timeout`, is cut off with 1008 "viewer too slow", so it can neither grow the hub's
memory nor slow the other viewers; it reconnects with `last_seq` and is replayed what it
missed, coalesced the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.protocol import State

from monitor.events import Batch, Raw
from monitor.hub.call_state import Stamped

log = logging.getLogger("monitor.hub")

TOO_SLOW = "viewer too slow"


class ViewerQueue:
    """Events waiting for one viewer, coalescing heat/partials, with bounds. Pure.

    `bound` counts the events that cannot be coalesced (the coalesced ones are at most three
    per call); `byte_bound` the characters of JSON of everything queued."""

    __slots__ = ("bound", "byte_bound", "chars", "entries", "index", "kept", "size")

    def __init__(self, bound: int, byte_bound: int = 8 * 1024 * 1024) -> None:
        self.bound = bound
        self.byte_bound = byte_bound
        self.entries: list[Stamped | None] = []
        self.index: dict[tuple[str, str, str], int] = {}  # coalescing key -> position in entries
        self.size = 0  # events queued
        self.kept = 0  # of which cannot be coalesced
        self.chars = 0  # characters of JSON queued

    def put(self, stamped: Stamped) -> bool:
        """Queue one event; False if the queue is past a bound (the viewer must be cut off)."""
        key = stamped.key
        if key is not None:
            self._drop(key)  # an older heat/partial not yet sent: only the newest matters
            self.index[key] = len(self.entries)
        else:
            self.kept += 1
            if stamped.supersedes is not None:
                self._drop(stamped.supersedes)  # the turn replaces its speaker's partial
        self.entries.append(stamped)
        self.size += 1
        self.chars += len(stamped.json)
        return self.kept <= self.bound and self.chars <= self.byte_bound

    def _drop(self, key: tuple[str, str, str]) -> None:
        at = self.index.pop(key, None)
        if at is not None:
            old = self.entries[at]
            if old is not None:
                self.entries[at] = None
                self.size -= 1
                self.chars -= len(old.json)

    def take(self) -> list[str]:
        """Everything queued, oldest first, as encoded events; the queue is left empty."""
        taken = [s.json for s in self.entries if s is not None]
        self.entries, self.index, self.size, self.kept, self.chars = [], {}, 0, 0, 0
        return taken


def batch_messages(events: list[str], per_message: int) -> Iterator[str]:
    """Encoded events as `batch` messages of at most `per_message` events each, made one at a time."""
    for i in range(0, len(events), per_message):
        yield Batch(events=[Raw(e) for e in events[i : i + per_message]]).to_json()


class Viewer:
    """One connected dashboard: its socket, what it may see, its queue and its sender task."""

    def __init__(
        self,
        ws: ServerConnection,
        *,
        agent: str | None,
        name: str,
        bound: int,
        byte_bound: int = 8 * 1024 * 1024,
        per_message: int,
        stall_timeout: float,
        write_limit: int,
        on_cut_off: Callable[[Viewer], None],
    ) -> None:
        self.ws = ws
        self.agent = agent  # None: a supervisor, sees every call
        self.name = name
        self.queue = ViewerQueue(bound, byte_bound)
        self.per_message = per_message
        self.stall_timeout = stall_timeout
        self.write_limit = write_limit
        self.on_cut_off = on_cut_off
        self.wake = asyncio.Event()
        self.cut = False
        self.started = False
        self.sending = False
        # Replayed events for a viewer that reconnected with last_seq: sent first, at the pace
        # the socket takes them. Not counted against the bound: they are the replay window's
        # own strings, already in memory, and only as many as the window holds.
        self.backlog: list[str] = []
        self.sender: asyncio.Task[None] | None = None
        self.closer: asyncio.Task[None] | None = None

    @property
    def idle(self) -> bool:
        """Nothing queued or being sent, and room in the socket's buffer: a write may go straight out."""
        return (
            self.started
            and not self.sending
            and not self.queue.size
            and not self.backlog
            and not self.cut
            and self.ws.protocol.state is State.OPEN
            and self.ws.transport.get_write_buffer_size() < self.write_limit
        )

    def offer(self, events: list[Stamped]) -> None:
        """Send or queue what this viewer may see of a tick's events (called by the hub, synchronously)."""
        if self.cut:
            return
        if self.idle:
            # The common case: write now, like broadcast() does, without a task switch; the
            # buffer check above keeps this from growing memory for a viewer that stopped reading.
            mine = [s.json for s in events if self.agent is None or s.agent == self.agent]
            for message in batch_messages(mine, self.per_message):
                broadcast([self.ws], message)
            return
        agent, put = self.agent, self.queue.put
        queued = False
        for stamped in events:
            if agent is None or stamped.agent == agent:
                queued = True
                if not put(stamped):
                    q = self.queue
                    past = f"{q.bound} events" if q.kept > q.bound else f"{q.byte_bound // 1024} KiB"
                    self.cut_off(f"queue passed {past}")
                    return
        if queued:
            self.wake.set()

    def start(self) -> None:
        """Start sending (after the welcome went out, so it comes first)."""
        self.sender = asyncio.create_task(self._send_loop(), name=f"viewer-{self.name}")
        self.started = True
        self.wake.set()

    async def _send_loop(self) -> None:
        """Sends what piled up while the socket was busy, waiting for it to drain."""
        while not self.cut:
            await self.wake.wait()
            self.wake.clear()
            self.sending = True
            try:
                pending, self.backlog = self.backlog + self.queue.take(), []
                for message in batch_messages(pending, self.per_message):
                    async with asyncio.timeout(self.stall_timeout):
                        await self.ws.send(message)
            except TimeoutError:
                self.cut_off(f"socket took no data for {self.stall_timeout:g} s")
                return
            except ConnectionClosed:
                return
            finally:
                self.sending = False

    def cut_off(self, why: str) -> None:
        """Drop this viewer: close with 1008, abort the TCP connection if the close cannot go out."""
        if self.cut:
            return
        self.cut = True
        self.queue.take()
        log.warning("cutting off viewer %s: %s", self.name, why)
        self.on_cut_off(self)
        self.closer = asyncio.create_task(self._close(), name=f"cut-off-{self.name}")

    async def _close(self) -> None:
        if self.sender is not None and self.sender is not asyncio.current_task():
            self.sender.cancel()
        try:
            async with asyncio.timeout(1.0):
                await self.ws.close(CloseCode.POLICY_VIOLATION, TOO_SLOW)
        except TimeoutError:
            self.ws.transport.abort()

    async def stop(self) -> None:
        """The connection is over: stop the sender task."""
        self.cut = True
        if self.sender is not None:
            self.sender.cancel()
            await asyncio.wait([self.sender])
