"""The hub's HTTP side answers odd requests with a 4xx, never a 500 or a traceback in its log:
methods other than GET and HEAD, duplicate Host/Origin/Authorization, over-long path parts,
numbers beyond SQLite's range; HEAD answers without a body."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from support.pages import SAM, HubThread, tokens
from support.process import error_lines, heatmon
from support.store_events import call_events

from monitor.hub.connections import Hub
from monitor.hub.server import serve_hub
from monitor.review.history import register_history
from monitor.store import Store, StoreReader, db_path


class HistoryHub(HubThread):
    """A real hub with the history API over a real store, in its own thread."""

    def __init__(self, data: Path) -> None:
        super().__init__()
        self.data = data

    @asynccontextmanager
    async def _serving(self) -> AsyncIterator[Hub]:
        async with serve_hub(tokens(), port=0) as hub:
            register_history(hub.api, StoreReader(db_path(self.data)))
            yield hub


def raw(port: int, request: str) -> tuple[int, dict[str, str], bytes]:
    """Send one raw HTTP request; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def get(path: str, *extra: str, method: str = "GET") -> str:
    return "\r\n".join([f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *extra, "", ""])


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HistoryHub]:
    data = tmp_path_factory.mktemp("data")
    store = Store.open(db_path(data))
    store.write_events(call_events("escalation", "2026-11-20T09:00:00Z"))
    store.close()
    running = HistoryHub(data).start()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


def test_head_answers_like_get_without_a_body(hub: HistoryHub) -> None:
    """HEAD /floor: 200, the page's Content-Length, no body."""
    status, headers, body = raw(hub.port, get("/floor", method="HEAD"))
    assert status == 200 and int(headers["content-length"]) > 1000 and body == b""


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"])
def test_other_methods_get_405_with_allow(hub: HistoryHub, method: str) -> None:
    """POST, PUT, DELETE and the like get 405 with Allow: GET, HEAD."""
    status, headers, _ = raw(hub.port, get("/floor", "Content-Length: 0", method=method))
    assert status == 405 and headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("path", "twice"),
    [
        ("/ws", "Origin: http://127.0.0.1"),
        ("/ws", "Host: evil.example"),
        ("/api/calls", f"Authorization: Bearer {SAM}"),
        ("/floor", "Host: other"),
    ],
)
def test_a_header_that_must_be_single_sent_twice_is_400(hub: HistoryHub, path: str, twice: str) -> None:
    """Two Host, Origin or Authorization headers are a 400, not a 500."""
    first = twice.split(":")[0] + ": " + ("127.0.0.1" if twice.startswith("Host") else "x")
    extra = [twice, f"Authorization: Bearer {SAM}"] if twice.startswith("Authorization") else [first, twice]
    status, _, _ = raw(hub.port, get(path, *extra))
    assert status == 400


def test_an_over_long_path_component_is_404(hub: HistoryHub) -> None:
    """A path part of 300 or 5000 characters is simply not found."""
    for size in (300, 5000):
        status, _, _ = raw(hub.port, get("/" + "a" * size + ".js"))
        assert status == 404


@pytest.mark.parametrize(
    "query",
    [
        "calls?offset=1e300",
        "calls?offset=inf",
        "calls?limit=nan",
        "calls?offset=99999999999999999999999",
        "calls?min_heat=1e999",
        "calls/%23999999999999999999999",
    ],
)
def test_numbers_beyond_sqlite_are_a_4xx(hub: HistoryHub, query: str) -> None:
    """Offsets, limits and call numbers too large for SQLite (or not finite) get a 4xx or an
    empty answer, never a 500."""
    status, _, _ = raw(hub.port, get(f"/api/{query}", f"Authorization: Bearer {SAM}"))
    assert status in (200, 400, 404)


@pytest.mark.parametrize("command", ["report", "export"])
def test_the_cli_takes_a_call_number_beyond_sqlite_in_one_line(hub: HistoryHub, command: str) -> None:
    """`heatmon report/export '#99999999999999999999999'` says there is no such call, in one line."""
    result = heatmon(command, "#99999999999999999999999", "--data", str(hub.data), timeout=60)
    assert result.code != 0 and "Traceback" not in result.stderr
    assert len(error_lines(result.stderr)) == 1, result.stderr
