"""The call store's files on disk: private to their owner, and checked for damage at start."""

from __future__ import annotations

import stat
from pathlib import Path

from support.process import HubProcess, error_lines, heatmon, run
from support.store_events import call_events

from monitor.hub.auth import Tokens
from monitor.hub.publisher import Publisher
from monitor.store import Store, db_path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_hub_keeps_its_data_folder_and_store_files_private(tmp_path: Path) -> None:
    """A hub started on a new data folder makes it 0700 and the store, its WAL and SHM 0600."""
    data = tmp_path / "data"
    hub = HubProcess(data)
    try:

        async def publish() -> bool:
            token = Tokens.load(data / "tokens.json").first("publisher").token
            async with Publisher(hub.url, token) as pub:
                for event in call_events("escalation", "2026-11-20T09:00:00Z"):
                    pub.publish(event)
                return await pub.flush(timeout=20)

        assert run(publish())
        store = db_path(data)
        files = [store, store.with_name(store.name + "-wal"), store.with_name(store.name + "-shm")]
        assert all(f.is_file() for f in files)  # the hub holds the store open: WAL and SHM exist
        assert {f.name: mode(f) for f in [data / "tokens.json", *files]} == {
            f.name: 0o600 for f in [data / "tokens.json", *files]
        }
        assert mode(data) == 0o700
    finally:
        hub.stop()


def test_an_existing_world_readable_store_is_made_private(tmp_path: Path) -> None:
    """A store file left 0644 by an older heatmon is 0600 once a writer opens it."""
    path = db_path(tmp_path)
    Store.open(path).close()
    path.chmod(0o644)
    Store.open(path).close()
    assert mode(path) == 0o600


def damaged_store(data: Path) -> Path:
    """A store of many calls, then garbage written over pages in the middle of the file."""
    path = db_path(data)
    store = Store.open(path)
    for n in range(40):
        store.write_events(call_events("escalation", f"2026-11-20T09:{n:02d}:00Z", call_id=f"c{n}"))
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    size = path.stat().st_size
    assert size > 40 * 4096
    with path.open("r+b") as raw:
        for page in range(10, 14):
            raw.seek(page * 4096)
            raw.write(b"\xa5" * 4096)
    return path


def test_a_store_damaged_in_the_middle_is_refused_at_start_with_one_line(tmp_path: Path) -> None:
    """`heatmon hub` on a store whose middle pages are garbage exits at once with a one-line
    error naming the file, instead of starting and failing every request and write."""
    path = damaged_store(tmp_path)
    result = heatmon("hub", "--data", str(tmp_path), "--port", "0", "--quiet", timeout=30)
    assert result.code != 0
    assert "Traceback" not in result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and str(path) in lines[0] and "damaged" in lines[0], result.stderr


def test_the_store_commands_on_a_damaged_store_answer_with_one_line(tmp_path: Path) -> None:
    """`heatmon calls`, `export` and `report` on a damaged store each exit with one error line
    naming the file and what to do, never a traceback or a half-printed list."""
    path = damaged_store(tmp_path)
    report = ["report", "c3", "-o", str(tmp_path / "c3.html")]
    for command in (["calls"], ["calls", "--search", "late"], ["export", "c3"], report):
        result = heatmon(*command, "--data", str(tmp_path), timeout=30)
        assert result.code != 0, command
        assert "Traceback" not in result.stderr, command
        lines = error_lines(result.stderr)
        assert len(lines) == 1 and str(path) in lines[0] and "damaged" in lines[0], (command, result.stderr)
