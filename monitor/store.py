"""The call store: every call, turn, heat change, alert, acknowledgement, coach step and
supervisor message in one SQLite file (`<data>/heatmon.sqlite3`), and the hub's sink into it.

Durability: WAL journal, `synchronous=NORMAL` by default. The promise is that a `kill -9`
of the hub loses nothing `StoreSink.write` has returned for (the hub acknowledges a
publisher's batch only then). In WAL mode a commit has written its frames to the WAL file
before it returns, so they are in the operating system's cache and survive the process
being killed at any instant; `NORMAL` gives exactly that and fsyncs only at checkpoints.
What it does not survive is a power cut or kernel crash, which can take the commits made
since the last checkpoint with it (the database itself stays consistent).
`power_safe=True` selects `synchronous=FULL` (an fsync of the WAL at every commit) for a
floor that wants acknowledged events to outlive the machine; group commit (many `write`
calls, one transaction, one fsync) keeps that affordable; `bench/store_throughput.py`
measures both.

Calls are rows with their own key (`pk`), because call ids need not be unique over months
(a demo run twice, a PBX that reuses ids): a `call_started` with a new `started_at` for a
known id begins a new row, and later events of that id go to the newest row.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from monitor.store_queries import CallFilter, CallRow, call_detail, list_calls, resolve_call
from monitor.store_redact import TurnRedactor
from monitor.store_rows import INSERTS, ROW_BUILDERS, TABLE_COLUMNS, RowBatch, dumps
from monitor.store_schema import StoreError, iso_to_ts, migrate

__all__ = ["DB_NAME", "CallFilter", "CallRow", "Store", "StoreError", "StoreSink", "db_path"]

DB_NAME = "heatmon.sqlite3"
SECONDS_PER_DAY = 86_400.0


def db_path(data: Path) -> Path:
    """The call store's file in a heatmon data directory."""
    return data / DB_NAME


class Store:
    """One connection to the call store: writing batches of events, and the review queries."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        # call id -> (pk, started_at) of its newest row; cleared whenever a transaction fails
        self._calls: dict[str, tuple[int, str | None]] = {}
        self._redactor = TurnRedactor()

    @classmethod
    def open(
        cls, path: Path, *, create: bool = True, check_same_thread: bool = True, power_safe: bool = False
    ) -> Store:
        """Open (and with `create`, make) the store at `path`, migrated to the newest schema.

        `power_safe` fsyncs every commit (`synchronous=FULL`); see the module's docstring."""
        if not create and not path.is_file():
            raise StoreError(
                f"no call store at {path}; the hub creates it on first start (or pass --data DIR)"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=check_same_thread)
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"cannot open the call store {path}: {err}") from err
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {'FULL' if power_safe else 'NORMAL'}")
            migrate(conn)
        except sqlite3.DatabaseError as err:
            conn.close()
            raise StoreError(f"{path} is not a usable heatmon call store: {err}") from err
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite when the last one closes)."""
        self.conn.close()

    # -- writing ---------------------------------------------------------------------------

    def write_events(self, events: Iterable[Mapping[str, Any]], *, redact: bool = False) -> None:
        """Store the events in one transaction: all of them or, on an error, none."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            batch = RowBatch()
            sorters = batch.sorters
            calls = self._calls
            for event in events:
                call = event.get("call")
                if not isinstance(call, str) or not call:
                    continue
                kind = event.get("type")
                if kind == "call_started":
                    pk = self._start_call(call, event)
                else:
                    known = calls.get(call)
                    pk = known[0] if known is not None else self._call_pk(call)
                    if kind == "call_ended":
                        summary = event.get("summary")
                        peak = summary.get("peak_heat") if isinstance(summary, Mapping) else None
                        # A calm call may have no heat event at all; its summary still knows the peak.
                        conn.execute(
                            "UPDATE calls SET ended = 1, duration = :duration, summary = :summary,"
                            " peak_heat = max(coalesce(peak_heat, :peak), coalesce(:peak, peak_heat))"
                            " WHERE pk = :pk",
                            {
                                "duration": event.get("duration"),
                                "summary": dumps(summary),
                                "peak": peak,
                                "pk": pk,
                            },
                        )
                if redact:
                    event, fixed_previous = self._redactor.event(pk, event)
                    if fixed_previous is not None:
                        self._restore_turn(batch, pk, fixed_previous)
                sorter = sorters.get(kind)  # type: ignore[arg-type]
                if sorter is not None:
                    sorter[0](sorter[1](pk, event))
            for table, rows in batch.rows.items():
                if rows:
                    conn.executemany(INSERTS[table], rows)
            # SQLite finds the peak in the (call_pk, t, value) index faster than Python per event.
            conn.executemany(
                "UPDATE calls SET peak_heat = max(coalesce(peak_heat, -1),"
                " (SELECT max(value) FROM heat WHERE call_pk = ?1)) WHERE pk = ?1",
                [(pk,) for pk in batch.heated_calls()],
            )
            conn.execute("COMMIT")
        except BaseException:
            self._calls.clear()
            self._redactor.forget()
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _restore_turn(self, batch: RowBatch, pk: int, event: Mapping[str, Any]) -> None:
        """Store a turn again with new text: in this batch if it is still there, else in the table."""
        row = ROW_BUILDERS["turn"][1](pk, event)  # (pk, seq, t, speaker, text, start_t, end_t, ..., extra)
        turns = batch.rows["turns"]
        for index in range(len(turns) - 1, -1, -1):
            if turns[index][0] == pk and turns[index][3] == row[3] and turns[index][5] == row[5]:
                turns[index] = row
                return
        self.conn.execute(
            "UPDATE turns SET text = ?, extra = ? WHERE call_pk = ? AND speaker = ? AND start_t = ?",
            (row[4], row[9], pk, row[3], row[5]),
        )

    def _newest(self, call: str) -> tuple[int, str | None] | None:
        if call not in self._calls:
            if len(self._calls) > 50_000:
                self._calls.clear()  # a long-running hub must not grow this without bound
            row = self.conn.execute(
                "SELECT pk, started_at FROM calls WHERE id = ? ORDER BY pk DESC LIMIT 1", (call,)
            ).fetchone()
            if row is None:
                return None
            self._calls[call] = (int(row[0]), row[1])
        return self._calls[call]

    def _call_pk(self, call: str) -> int:
        """The row of a call, made as a placeholder if its `call_started` was never seen."""
        known = self._newest(call)
        if known is not None:
            return known[0]
        cur = self.conn.execute("INSERT INTO calls (id, started_ts) VALUES (?, ?)", (call, time.time()))
        pk = int(cur.lastrowid or 0)
        self._calls[call] = (pk, None)
        return pk

    def _start_call(self, call: str, event: Mapping[str, Any]) -> int:
        started_at = event.get("started_at")
        started_ts = iso_to_ts(started_at if isinstance(started_at, str) else None) or time.time()
        values = (event.get("agent"), event.get("caller_name"), event.get("source"), started_at, started_ts)
        known = self._newest(call)
        if known is None or (known[1] is not None and known[1] != started_at):
            cur = self.conn.execute(
                "INSERT INTO calls (agent, caller_name, source, started_at, started_ts, id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (*values, call),
            )
            pk = int(cur.lastrowid or 0)
        else:
            pk = known[0]
            self.conn.execute(
                "UPDATE calls SET agent = ?, caller_name = ?, source = ?, started_at = ?, started_ts = ?"
                " WHERE pk = ?",
                (*values, pk),
            )
        self._calls[call] = (pk, started_at if isinstance(started_at, str) else None)
        return pk

    # -- reading and retention -------------------------------------------------------------

    def list_calls(self, where: CallFilter | None = None) -> list[CallRow]:
        """Stored calls matching the filter, newest first."""
        return list_calls(self.conn, where or CallFilter())

    def call_detail(self, ref: str) -> dict[str, Any]:
        """Everything about one call (by id, newest of that id, or `#pk`) that a review needs."""
        return call_detail(self.conn, resolve_call(self.conn, ref))

    def purge(self, before_ts: float) -> int:
        """Delete the calls that started before `before_ts` (epoch seconds); return how many."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            old = "SELECT pk FROM calls WHERE started_ts < ?"
            for table in TABLE_COLUMNS:
                conn.execute(f"DELETE FROM {table} WHERE call_pk IN ({old})", (before_ts,))
            count = conn.execute("DELETE FROM calls WHERE started_ts < ?", (before_ts,)).rowcount
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._calls.clear()
        return int(count)

    def purge_older_than(self, days: float, now: float) -> int:
        """Retention: delete calls that started more than `days` days before `now`."""
        if days < 0:
            raise StoreError(f"retention must be zero or more days, not {days}")
        return self.purge(now - days * SECONDS_PER_DAY)


class StoreSink:
    """The hub's asyncio face of the store: `await write(events)` returns once they are committed.

    One writer thread owns the connection, so SQLite never runs on the event loop. Writes
    that arrive while a commit is running wait together and go into the next transaction
    (group commit): one fsync for many publishers' batches.
    """

    def __init__(self, path: Path, *, redact: bool = False, power_safe: bool = False) -> None:
        # Opened here, not in the thread, so a bad path fails at start-up with a clear error.
        self._store = Store.open(path, check_same_thread=False, power_safe=power_safe)
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
