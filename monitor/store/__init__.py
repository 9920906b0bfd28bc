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
from pathlib import Path
from typing import Any

from monitor.store.db import Store
from monitor.store.queries import CallFilter, CallRow, filter_from_params, parse_when
from monitor.store.redaction import redacted_detail
from monitor.store.schema import StoreError, iso_to_ts
from monitor.store.sink import StoreSink

__all__ = [
    "DB_NAME",
    "CallFilter",
    "CallRow",
    "Store",
    "StoreError",
    "StoreReader",
    "StoreSink",
    "db_path",
    "filter_from_params",
    "iso_to_ts",
    "parse_when",
    "redacted_detail",
]

DB_NAME = "heatmon.sqlite3"


def db_path(data: Path) -> Path:
    """The call store's file in a heatmon data directory."""
    return data / DB_NAME


class StoreReader:
    """Read-only history for pages served by the hub: each query in a worker thread with its
    own connection (WAL lets it read while the sink writes), never on the event loop."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def list_calls(self, where: CallFilter) -> list[dict[str, Any]]:
        """The history list as JSON-ready rows (`CallRow.to_dict`); empty while there is no store yet."""
        return await asyncio.to_thread(self._list_calls, where)

    async def call_detail(self, ref: str, *, redact: bool = False) -> dict[str, Any]:
        """One call for its review page (`Store.call_detail`), its text masked if `redact`."""
        return await asyncio.to_thread(self._call_detail, ref, redact)

    def _list_calls(self, where: CallFilter) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        with Store.open(self.path, create=False) as store:
            return [row.to_dict() for row in store.list_calls(where)]

    def _call_detail(self, ref: str, redact: bool) -> dict[str, Any]:
        with Store.open(self.path, create=False) as store:
            detail = store.call_detail(ref)
        if redact:
            detail = redacted_detail(detail)
        return detail
