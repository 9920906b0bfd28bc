"""Logins: failures logged (never the token), rate-limited per address, the Origin checked
against the hub's own origins (never the client's Host), and the tokens file re-read."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from support.hub import TOKENS
from support.process import run
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from monitor.hub import HubConfig, Tokens, serve_hub
from monitor.hub.auth import LoginLimiter, TokensFile
from monitor.hub.static import hub_origins, origin_allowed

WRONG = "w" * 32


async def open_from(url: str, source: str, **options: object) -> ClientConnection:
    """A websocket to the hub from a loopback address of our choosing (127.0.0.x)."""
    host, port = url.split("//")[1].split("/")[0].rsplit(":", 1)
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect((host, int(port)))
    return await connect(url, sock=sock, **options)  # type: ignore[arg-type]


async def hello_from(url: str, source: str, token: str, role: str = "supervisor") -> tuple[int, str] | None:
    """Say hello from `source`: None if welcomed, else the close code and reason."""
    ws = await open_from(url, source)
    try:
        await ws.send(json.dumps({"type": "hello", "role": role, "token": token}))
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert msg["type"] == "welcome"
        return None
    except ConnectionClosed as err:
        assert err.rcvd is not None
        return err.rcvd.code, err.rcvd.reason
    finally:
        await ws.close()


def api_status(port: int, path: str, token: str, source: str = "127.0.0.1") -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def test_failed_logins_are_logged_with_the_address_never_the_token(caplog: pytest.LogCaptureFixture) -> None:
    """A refused websocket hello and an HTTP API 401 each log a line with the peer's address
    and the reason; the token tried appears in no log line."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            assert await hello_from(hub.url, "127.0.0.3", WRONG) == (1008, "invalid token")
            assert await asyncio.to_thread(api_status, hub.port, "/api/floor", WRONG) == 401

    with caplog.at_level(logging.INFO, logger="monitor.hub"):
        run(main())
    failed = [r.getMessage() for r in caplog.records if "failed login" in r.getMessage()]
    assert len(failed) == 2, failed
    assert "127.0.0.3:" in failed[0] and "invalid token" in failed[0]
    assert "127.0.0.1:" in failed[1] and "/api/floor" in failed[1] and "invalid token" in failed[1]
    assert all(r.levelno == logging.WARNING for r in caplog.records if "failed login" in r.getMessage())
    assert not [r for r in caplog.records if WRONG in r.getMessage()]


def test_wrong_tokens_are_refused_per_address_after_ten() -> None:
    """Ten wrong tokens from one address and it is refused for a while, even with a right
    token (429 at the handshake, 429 on the API); another address logs in all the while."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0, config=HubConfig(login_refuse_for=600.0)) as hub:
            good = TOKENS.first("supervisor").token
            for _ in range(10):
                assert await hello_from(hub.url, "127.0.0.5", WRONG) == (1008, "invalid token")
            with pytest.raises(InvalidStatus) as refused:
                await hello_from(hub.url, "127.0.0.5", good)
            answer = refused.value.response
            assert answer.status_code == 429 and b"too many failed logins" in answer.body
            assert int(answer.headers["Retry-After"]) > 500
            assert await hello_from(hub.url, "127.0.0.6", good) is None
            assert await asyncio.to_thread(api_status, hub.port, "/api/floor", good) == 200

    run(main())


def test_http_api_failures_count_against_the_address() -> None:
    """Wrong bearer tokens on the HTTP API count like wrong hellos: after ten, 429."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            good = TOKENS.first("supervisor").token
            for _ in range(10):
                assert await asyncio.to_thread(api_status, hub.port, "/api/floor", WRONG) == 401
            assert await asyncio.to_thread(api_status, hub.port, "/api/floor", good) == 429
            assert await asyncio.to_thread(api_status, hub.port, "/api/health", "") == 200

    run(main())


def test_login_limiter_refills_and_forgets() -> None:
    """The token bucket: ten failures a minute, then refused for `refuse_for`; a try earned
    back every six seconds; a bounded number of addresses remembered."""
    limiter = LoginLimiter(failures=10, per=60.0, refuse_for=30.0, max_sources=100)
    assert [limiter.failed("a", 100.0) for _ in range(9)] == [0.0] * 9
    assert limiter.failed("a", 100.0) == 30.0
    assert limiter.refused("a", 111.0) == 19.0 and limiter.refused("b", 111.0) == 0.0
    assert limiter.refused("a", 130.0) == 0.0
    # 30 s after: five tries earned back (one per 6 s), so the fifth failure refuses again
    assert [limiter.failed("a", 130.0) > 0 for _ in range(5)] == [False] * 4 + [True]
    for i in range(500):
        limiter.failed(f"10.0.{i // 250}.{i % 250}", 200.0)
    assert len(limiter._sources) <= 100


def test_origin_is_checked_against_the_hubs_own_origins_not_the_host_header() -> None:
    """A page from another site is refused even when it makes its browser send a Host header
    that matches its Origin (DNS rebinding); the hub's listening address and its public URL
    are allowed."""

    async def handshake(port: int, host: str, origin: str) -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            (
                f"GET /ws HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        writer.close()
        return status

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            port = hub.port
            assert await handshake(port, f"evil.example:{port}", f"http://evil.example:{port}") == 403
            assert await handshake(port, f"127.0.0.1:{port}", f"http://127.0.0.1:{port}") == 101
            assert await handshake(port, f"localhost:{port}", f"http://localhost:{port}") == 101
        async with serve_hub(TOKENS, port=0, public_urls=["https://Hub.Floor:443/"]) as hub:
            port = hub.port
            assert await handshake(port, "hub.floor", "https://hub.floor") == 101
            assert await handshake(port, f"127.0.0.1:{port}", f"http://127.0.0.1:{port}") == 403

    run(main())
    allowed = hub_origins([], "0.0.0.0", 8765, False, ["floorbox", "10.1.2.3"])
    assert origin_allowed("http://10.1.2.3:8765", allowed) and origin_allowed("http://floorbox:8765", allowed)
    assert not origin_allowed("http://10.1.2.4:8765", allowed) and origin_allowed(None, allowed)
    assert hub_origins([], "127.0.0.1", 443, True, []) >= {"https://127.0.0.1", "https://localhost"}


def test_tokens_file_changes_take_effect_without_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A token added to the tokens file logs in at the next hello, a removed one is refused, and
    a corrupt file keeps the tokens the hub had with one log line."""
    path = tmp_path / "tokens.json"
    tokens = Tokens.make()
    tokens.save(path)

    async def main() -> None:
        config = HubConfig(tokens_recheck=0.0, login_failures=100)
        async with serve_hub(tokens, port=0, config=config, tokens_file=path) as hub:
            added, grant = tokens.add("supervisor", "lead")
            assert await hello_from(hub.url, "127.0.0.1", grant.token) == (1008, "invalid token")
            added.save(path)
            assert await hello_from(hub.url, "127.0.0.1", grant.token) is None
            assert await asyncio.to_thread(api_status, hub.port, "/api/floor", grant.token) == 200
            removed = Tokens(
                tuple(g for g in added.grants if g.role != "supervisor" or g.name != "supervisor1")
            )
            removed.save(path)
            old = tokens.first("supervisor").token
            assert await hello_from(hub.url, "127.0.0.1", old) == (1008, "invalid token")
            path.write_text("{not json")
            for _ in range(3):
                assert await hello_from(hub.url, "127.0.0.1", grant.token) is None
            assert await hello_from(hub.url, "127.0.0.1", old) == (1008, "invalid token")

    with caplog.at_level(logging.INFO, logger="monitor.hub"):
        run(main())
    corrupt = [r for r in caplog.records if "is not JSON" in r.getMessage()]
    assert len(corrupt) == 1 and "keeping the" in corrupt[0].getMessage()


def test_tokens_file_is_looked_at_at_most_once_a_second(tmp_path: Path) -> None:
    """TokensFile re-reads a changed file only once `every` seconds have passed since its last look."""
    path = tmp_path / "tokens.json"
    first = Tokens.make()
    first.save(path)
    watched = TokensFile(first, path, every=1.0)
    assert watched.current(100.0) is first
    second, _ = first.add("agent", "zoe")
    second.save(path)
    assert watched.current(100.5) is first
    assert watched.current(101.0).grants == second.grants
