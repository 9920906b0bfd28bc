"""The call store's schema, its version (`PRAGMA user_version`) and forward migrations.

A new database is made the way an old one grows: schema v1 first, then every migration in
order, so the upgrade path of a real user's file is the path every test and fresh install
takes. A migration is a function of an open connection inside the transaction that also
bumps `user_version`; it never rewrites history, only adds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from monitor.errors import HeatmonError


class StoreError(HeatmonError):
    """The call store is missing, unreadable, too new for this heatmon, or has no such call."""


#: Schema v1, as heatmon 0.1 created it. Kept verbatim: migrations start from it.
SCHEMA_V1 = """
CREATE TABLE calls (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    agent TEXT,
    caller_name TEXT,
    source TEXT,
    started_at TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ended INTEGER NOT NULL DEFAULT 0,
    duration REAL,
    summary TEXT
);
CREATE INDEX calls_by_id ON calls (id);
CREATE INDEX calls_by_agent ON calls (agent);
CREATE TABLE turns (
    call_pk INTEGER NOT NULL, seq INTEGER, t REAL NOT NULL, speaker TEXT NOT NULL,
    text TEXT NOT NULL, start_t REAL NOT NULL, end_t REAL NOT NULL, compound REAL,
    sentiment TEXT, extra TEXT,
    UNIQUE (call_pk, speaker, start_t)
);
CREATE TABLE heat (
    call_pk INTEGER NOT NULL, seq INTEGER, t REAL NOT NULL, value REAL NOT NULL,
    level TEXT NOT NULL, trend REAL, reasons TEXT,
    UNIQUE (call_pk, t, value)
);
CREATE TABLE alerts (
    call_pk INTEGER NOT NULL, seq INTEGER, t REAL NOT NULL, alert_id TEXT NOT NULL,
    kind TEXT NOT NULL, level TEXT, message TEXT, evidence TEXT,
    UNIQUE (call_pk, alert_id)
);
CREATE TABLE acks (
    call_pk INTEGER NOT NULL, seq INTEGER, alert_id TEXT NOT NULL, by TEXT, at TEXT,
    UNIQUE (call_pk, alert_id, by)
);
CREATE TABLE coach (
    call_pk INTEGER NOT NULL, seq INTEGER, t REAL NOT NULL, step TEXT NOT NULL,
    prompt TEXT, phrases TEXT, done TEXT,
    UNIQUE (call_pk, t, step)
);
"""


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """v2: peak heat and start time as columns (history filters without scanning every heat
    row), and the supervisors' messages to agents."""
    conn.execute("ALTER TABLE calls ADD COLUMN peak_heat REAL")
    conn.execute("ALTER TABLE calls ADD COLUMN started_ts REAL")
    conn.execute("UPDATE calls SET peak_heat = (SELECT MAX(value) FROM heat WHERE heat.call_pk = calls.pk)")
    rows = conn.execute("SELECT pk, started_at, created_at FROM calls").fetchall()
    conn.executemany(
        "UPDATE calls SET started_ts = ? WHERE pk = ?",
        [(iso_to_ts(started) or iso_to_ts(created), pk) for pk, started, created in rows],
    )
    conn.execute("CREATE INDEX calls_by_start ON calls (started_ts)")
    conn.execute("CREATE INDEX calls_by_peak ON calls (peak_heat)")
    conn.execute(
        "CREATE TABLE messages (call_pk INTEGER NOT NULL, seq INTEGER, sender TEXT, text TEXT NOT NULL,"
        " at TEXT, UNIQUE (call_pk, at, sender, text))"
    )


def _v2_to_v3(conn: sqlite3.Connection) -> None:
    """v3: the call time `t` of acknowledgements and supervisor messages (hub-protocol.md:
    the call's latest `t` when it happened). Rows stored before have none (NULL): the hub
    never recorded it, and the wall clock less the start would be wrong for a replayed call."""
    conn.execute("ALTER TABLE acks ADD COLUMN t REAL")
    conn.execute("ALTER TABLE messages ADD COLUMN t REAL")


def _v3_to_v4(conn: sqlite3.Connection) -> None:
    """v4: a turn is one by its whole content, not by its speaker and start time alone. Two
    different turns of one party may start at the same second (a recogniser's rounding, a
    transcript's coarse times); v3 kept the first and dropped the others. A resent turn (the
    same speaker, times and text) is still stored once."""
    conn.execute(
        "CREATE TABLE turns_v4 ("
        " call_pk INTEGER NOT NULL, seq INTEGER, t REAL NOT NULL, speaker TEXT NOT NULL,"
        " text TEXT NOT NULL, start_t REAL NOT NULL, end_t REAL NOT NULL, compound REAL,"
        " sentiment TEXT, extra TEXT,"
        " UNIQUE (call_pk, speaker, start_t, end_t, text))"
    )
    conn.execute("INSERT OR IGNORE INTO turns_v4 SELECT * FROM turns")
    conn.execute("DROP TABLE turns")
    conn.execute("ALTER TABLE turns_v4 RENAME TO turns")


def _v4_to_v5(conn: sqlite3.Connection) -> None:
    """v5: the caller's number from the phone system (`call_started.caller_number`), indexed so
    a caller's earlier calls are found at once. Calls stored before have none (NULL)."""
    conn.execute("ALTER TABLE calls ADD COLUMN caller_number TEXT")
    conn.execute("CREATE INDEX calls_by_caller_number ON calls (caller_number)")


#: MIGRATIONS[n] takes a database from version n + 1 to n + 2.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1_to_v2, _v2_to_v3, _v3_to_v4, _v4_to_v5)
LATEST_VERSION = 1 + len(MIGRATIONS)


def iso_to_ts(value: str | None) -> float | None:
    """Seconds since the epoch for an ISO 8601 time (UTC if it names no zone); None if unreadable."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to LATEST_VERSION (creating it if empty); return the version found.

    Runs under BEGIN IMMEDIATE and reads the version inside the transaction, so two
    processes opening an old file at once migrate it once. The connection must be in
    autocommit mode (isolation_level None) so that the BEGIN here is the only one.
    """
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if current == LATEST_VERSION:
        return current  # the usual case: no write lock, so readers never wait for the hub's commits
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if found > LATEST_VERSION:
            raise StoreError(
                f"the call store has schema version {found}, newer than this heatmon knows"
                f" ({LATEST_VERSION}); upgrade heatmon"
            )
        if found == 0:
            if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise StoreError("the file is an SQLite database, but not a heatmon call store")
            for statement in _statements(SCHEMA_V1):
                conn.execute(statement)
            version = 1
        else:
            version = found
        for step in MIGRATIONS[version - 1 :]:
            step(conn)
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


def _statements(script: str) -> list[str]:
    """A DDL script split into statements (executescript would commit our transaction)."""
    return [s.strip() for s in script.split(";") if s.strip()]
