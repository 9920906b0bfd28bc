"""The hub's asyncio sink into the call store: one writer thread, group commit."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path
from typing import Any

from monitor.store.db import Store
from monitor.store.schema import StoreError


class StoreSink:
    """The hub's asyncio face of the store: `await write(events)` returns once they are committed.

    One writer thread owns the connection, so SQLite never runs on the event loop. Writes
    that arrive while a commit is running wait together and go into the next transaction
    (group commit): one fsync for many publishers' batches.
    """

    def __init__(self, path: Path, *, redact: bool = False, power_safe: bool = False) -> None:
        # Opened (and checked) here, not in the thread, so a bad path or a damaged file fails at
        # start-up with a clear error.
        self._store = Store.open(path, check_same_thread=False, power_safe=power_safe, check=True)
        self._redact = redact
        self._wake = threading.Condition()
        self._pending: list[tuple[list[dict[str, Any]], asyncio.Future[None], asyncio.AbstractEventLoop]] = []
        self._closing = False
        #: Transactions committed so far (tests and benchmarks read it to see group commit at work).
        self.commits = 0
        self._thread = threading.Thread(target=self._run, name="heatmon-store-writer", daemon=True)
        self._thread.start()

    async def write(self, events: list[dict[str, Any]]) -> None:
        """Store the events; when this returns they are committed (durable)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        with self._wake:
            if self._closing:
                raise StoreError("the call store is closed")
            self._pending.append((list(events), done, loop))
            self._wake.notify()
        await done

    async def aclose(self) -> None:
        """Write what is pending, then close the store."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closing:
                    self._wake.wait()
                if not self._pending:
                    break
                group, self._pending = self._pending, []
            self._commit(group)
        self._store.close()

    def _commit(
        self, group: list[tuple[list[dict[str, Any]], asyncio.Future[None], asyncio.AbstractEventLoop]]
    ) -> None:
        try:
            self._store.write_events([e for events, _, _ in group for e in events], redact=self._redact)
            self.commits += 1
            outcomes: list[BaseException | None] = [None] * len(group)
        except Exception:
            # One bad batch must not fail its neighbours: retry each on its own.
            outcomes = [self._write_alone(events) for events, _, _ in group]
        # One wake-up per event loop, not per waiter: each wake-up is a syscall on its self-pipe.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[None], BaseException | None]]] = {}
        for (_, done, loop), error in zip(group, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((done, error))
        for loop, settled in by_loop.items():
            # RuntimeError: that writer's event loop is gone, so nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, settled)

    def _write_alone(self, events: list[dict[str, Any]]) -> BaseException | None:
        try:
            self._store.write_events(events, redact=self._redact)
        except Exception as err:
            failure = StoreError(f"could not write to the call store {self._store.path}: {err}")
            failure.__cause__ = err
            return failure
        self.commits += 1
        return None


def _settle(settled: list[tuple[asyncio.Future[None], BaseException | None]]) -> None:
    for done, error in settled:
        if done.done():
            continue  # that writer was cancelled; its events are stored all the same
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
