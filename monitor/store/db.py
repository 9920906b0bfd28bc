"""The call store's connection: writing batches of events in one transaction, reading the
history, retention. `monitor.store` explains durability and call identity."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from monitor.paths import private_dir
from monitor.store.detail import call_detail, live_calls
from monitor.store.queries import CallFilter, CallRow, list_calls, resolve_call
from monitor.store.redaction import TurnRedactor
from monitor.store.rows import INSERTS, ROW_BUILDERS, TABLE_COLUMNS, RowBatch, dumps
from monitor.store.schema import StoreError, iso_to_ts, migrate

SECONDS_PER_DAY = 86_400.0
PRIVATE = 0o600


def _private_file(path: Path) -> None:
    """Make the store's folder and file, private; tighten a file an older heatmon left readable."""
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
    except FileExistsError:
        for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            with contextlib.suppress(FileNotFoundError, PermissionError):
                if stat.S_IMODE(each.stat().st_mode) & 0o077:
                    each.chmod(PRIVATE)


def _quick_check(conn: sqlite3.Connection, path: Path) -> None:
    """StoreError unless SQLite's `quick_check` (every page read, indexes not cross-checked) is clean."""
    try:
        found = [str(row[0]) for row in conn.execute("PRAGMA quick_check(3)")]
    except sqlite3.DatabaseError as err:
        found = [str(err)]
    if found != ["ok"]:
        what = " ".join(" ".join(found).replace("*** in database main ***", "").split())
        raise StoreError(
            f"the call store {path} is damaged ({what[:200]}); move it away to start"
            " with an empty one, or rescue what is left with `sqlite3 FILE .recover`"
        )


class Store:
    """One connection to the call store: writing batches of events, and the review queries."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        # call id -> (pk, started_at, agent) of its newest row; cleared whenever a transaction fails
        self._calls: dict[str, tuple[int, str | None, str | None]] = {}
        self._redactor = TurnRedactor()

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        create: bool = True,
        check_same_thread: bool = True,
        power_safe: bool = False,
        check: bool = False,
    ) -> Store:
        """Open (and with `create`, make) the store at `path`, migrated to the newest schema.

        With `create` the store is private to its owner: a new folder 0700, the file 0600
        (SQLite gives its WAL and SHM files the database's mode). `check` runs SQLite's
        `quick_check` first (a long-running writer's start: a store damaged in the middle would
        otherwise open and then fail every request and write). `power_safe` fsyncs every
        commit (`synchronous=FULL`); see the module's docstring."""
        if not create and not path.is_file():
            raise StoreError(
                f"no call store at {path}; the hub creates it on first start (or pass --data DIR)"
            )
        try:
            if create and str(path) != ":memory:":  # SQLite's in-memory database: no file
                _private_file(path)
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=check_same_thread)
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"cannot open the call store {path}: {err}") from err
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            # Checkpoint every ~40 MB of WAL rather than 4 MB: the index pages that every commit
            # touches are then copied back to the database once per many commits, not each time.
            conn.execute("PRAGMA wal_autocheckpoint = 10000")
            conn.execute(f"PRAGMA synchronous = {'FULL' if power_safe else 'NORMAL'}")
            if check:
                _quick_check(conn, path)
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

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
                    event, fixed = self._redactor.event(pk, event)
                    if fixed is not None:
                        self._restore_turn(batch, pk, *fixed)
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

    def _restore_turn(
        self, batch: RowBatch, pk: int, stored: Mapping[str, Any], event: Mapping[str, Any]
    ) -> None:
        """Store a turn again with new text: in this batch if it is still there, else in the table.
        `stored` is the turn as it was stored (a turn is known by its party, times and text)."""
        row = ROW_BUILDERS["turn"][1](pk, event)  # (pk, seq, t, speaker, text, start_t, end_t, ..., extra)
        old = ROW_BUILDERS["turn"][1](pk, stored)
        turns = batch.rows["turns"]
        for index in range(len(turns) - 1, -1, -1):
            if turns[index][:7] == old[:7]:
                turns[index] = row
                return
        self.conn.execute(
            "UPDATE OR IGNORE turns SET text = ?, extra = ? WHERE call_pk = ? AND speaker = ?"
            " AND start_t = ? AND end_t = ? AND text = ?",
            (row[4], row[9], pk, row[3], row[5], row[6], old[4]),
        )

    def _newest(self, call: str) -> tuple[int, str | None, str | None] | None:
        if call not in self._calls:
            if len(self._calls) > 50_000:
                self._calls.clear()  # a long-running hub must not grow this without bound
            row = self.conn.execute(
                "SELECT pk, started_at, agent FROM calls WHERE id = ? ORDER BY pk DESC LIMIT 1", (call,)
            ).fetchone()
            if row is None:
                return None
            self._calls[call] = (int(row[0]), row[1], row[2])
        return self._calls[call]

    def _call_pk(self, call: str) -> int:
        """The row of a call, made as a placeholder if its `call_started` was never seen."""
        known = self._newest(call)
        if known is not None:
            return known[0]
        cur = self.conn.execute("INSERT INTO calls (id, started_ts) VALUES (?, ?)", (call, time.time()))
        pk = int(cur.lastrowid or 0)
        self._calls[call] = (pk, None, None)
        return pk

    def _start_call(self, call: str, event: Mapping[str, Any]) -> int:
        started_at = event.get("started_at")
        started_ts = iso_to_ts(started_at if isinstance(started_at, str) else None) or time.time()
        agent = event.get("agent")
        values = (
            agent,
            event.get("caller_name"),
            event.get("caller_number"),
            event.get("source"),
            started_at,
            started_ts,
        )
        known = self._newest(call)
        # Another start time or another agent: the id was used again for another call.
        if (
            known is None
            or (known[1] is not None and known[1] != started_at)
            or (known[2] is not None and known[2] != agent)
        ):
            cur = self.conn.execute(
                "INSERT INTO calls (agent, caller_name, caller_number, source, started_at, started_ts, id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*values, call),
            )
            pk = int(cur.lastrowid or 0)
        else:
            pk = known[0]
            self.conn.execute(
                "UPDATE calls SET agent = ?, caller_name = ?, caller_number = ?, source = ?, started_at = ?,"
                " started_ts = ? WHERE pk = ?",
                (*values, pk),
            )
        self._calls[call] = (
            pk,
            started_at if isinstance(started_at, str) else None,
            agent if isinstance(agent, str) else None,
        )
        return pk

    # -- reading and retention -------------------------------------------------------------

    def list_calls(self, where: CallFilter | None = None) -> list[CallRow]:
        """Stored calls matching the filter, newest first."""
        return list_calls(self.conn, where or CallFilter())

    def call_detail(self, ref: str) -> dict[str, Any]:
        """Everything about one call (by id, newest of that id, or `#pk`) that a review needs."""
        return call_detail(self.conn, resolve_call(self.conn, ref))

    def live_calls(self, now: float, silent: float = 7200.0) -> list[dict[str, Any]]:
        """The calls still in progress at `now` (no call_ended, heard of within `silent`
        seconds), with what a live floor shows of each (`detail.live_calls`): what a hub
        rebuilds its floor from when it starts."""
        return live_calls(self.conn, now, silent)

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
