"""The hub's defences: message size, malformed input, hello timeout, Origin, static files, TLS."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path

import pytest
from support.hub import TOKENS, Publishing, events, publisher, started, turn, viewer
from support.process import run
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from monitor.hub import HubConfig, serve_hub
from monitor.hub.server import ssl_context


async def close_of(ws) -> tuple[int, str]:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    except ConnectionClosed as err:
        assert err.rcvd is not None
        return err.rcvd.code, err.rcvd.reason


def test_oversize_message_closes_with_1009():
    """A message over 64 KiB closes the connection with 1009, publisher or viewer alike."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            pub = await publisher(hub)
            await pub.send(json.dumps({**turn("c1", "x" * 70_000), "pseq": 1}))
            assert (await close_of(pub))[0] == 1009
            sup, _ = await viewer(hub)
            await sup.send("y" * (64 * 1024 + 1))
            assert (await close_of(sup))[0] == 1009

    run(main())


def test_malformed_publisher_events_get_errors_and_are_acked():
    """Events that break the wire contract are answered with errors, acked, and never forwarded."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            sup, _ = await viewer(hub)
            ws = await publisher(hub)
            pub = Publishing(ws)
            await pub.send(
                started("c1", "alice"),
                {"type": "turn", "call": "c1", "t": 1.0},  # missing speaker, text, start, end
                {"type": "nonsense", "call": "c1", "t": 1.0},
                {**turn("c1", "ok"), "speaker": "robot"},
                turn("c1", "fine"),
            )
            errors = []
            async with asyncio.timeout(5):
                while True:
                    msg = json.loads(await ws.recv())
                    if msg["type"] == "error":
                        errors.append(msg["message"])
                    elif msg["type"] == "ack":
                        assert msg["pseq"] == 5
                        break
            assert len(errors) == 3 and "missing" in errors[0] and "unknown event type" in errors[1]
            await ws.send("{not json")
            assert json.loads(await ws.recv()) == {"type": "error", "message": "not JSON"}
            await ws.send(json.dumps(turn("c1", "no pseq")))
            assert "pseq" in json.loads(await ws.recv())["message"]
            got = await events(sup, 2)
            assert [e["type"] for e in got] == ["call_started", "turn"] and got[1]["text"] == "fine"

    run(main())


def test_silent_client_is_closed_after_hello_timeout():
    """A connection that never says hello is closed with 1008 "hello expected"."""

    async def main() -> None:
        async with (
            serve_hub(TOKENS, port=0, config=HubConfig(hello_timeout=0.2)) as hub,
            connect(hub.url) as ws,
        ):
            assert await close_of(ws) == (1008, "hello expected")

    run(main())


def test_foreign_origin_is_refused_and_own_origin_allowed():
    """Browsers from another origin get 403; the hub's own origin and configured ones connect."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0, allowed_origins=["https://board.example"]) as hub:
            with pytest.raises(InvalidStatus) as refused:
                await connect(hub.url, origin="http://evil.example")  # type: ignore[arg-type]
            assert refused.value.response.status_code == 403
            with pytest.raises(InvalidStatus):
                await connect(hub.url, origin=f"http://127.0.0.1:{hub.port + 1}")  # type: ignore[arg-type]
            for origin in (f"http://127.0.0.1:{hub.port}", "https://board.example"):
                ws = await connect(hub.url, origin=origin)  # type: ignore[arg-type]
                await ws.close()

    run(main())


async def http_get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    """A raw HTTP/1.1 GET, path sent exactly as given (no client-side normalisation)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def test_static_files_allow_list_and_traversal(tmp_path: Path):
    """Pages and dashboard assets are served with their content types; traversal and other files are 404."""
    root = tmp_path / "dashboard"
    (root / "js").mkdir(parents=True)
    (root / "floor.html").write_text("<h1>floor</h1>")
    (root / "agent.html").write_text("<h1>agent</h1>")
    (root / "js" / "app.js").write_text("export {};")
    (root / "style.css").write_text("body{}")
    (root / ".secret.json").write_text("{}")
    (root / "notes.txt").write_text("no")
    (root / "link.js").symlink_to(tmp_path / "outside.js")
    (tmp_path / "outside.js").write_text("secret")
    (tmp_path / "secret.html").write_text("secret")

    async def main() -> None:
        async with serve_hub(TOKENS, port=0, dashboard=root) as hub:
            for path, body, ctype in [
                ("/", b"<h1>floor</h1>", "text/html; charset=utf-8"),
                ("/floor", b"<h1>floor</h1>", "text/html; charset=utf-8"),
                ("/agent?x=1", b"<h1>agent</h1>", "text/html; charset=utf-8"),
                ("/js/app.js", b"export {};", "text/javascript; charset=utf-8"),
                ("/style.css", b"body{}", "text/css; charset=utf-8"),
            ]:
                status, headers, got = await http_get(hub.port, path)
                assert (status, got, headers["content-type"]) == (200, body, ctype), path
                assert headers["cache-control"] == "no-cache"
            for path in [
                "/../secret.html",
                "/%2e%2e/secret.html",
                "/js/../../secret.html",
                "/js/%2E%2E/%2E%2E/secret.html",
                "/..%2fsecret.html",
                "//etc/passwd",
                "/.secret.json",
                "/notes.txt",
                "/link.js",
                "/history",
                "/js",
                "/js/",
                "/js/app.js%00.html",
                "/js\\app.js",
                "/nope.html",
            ]:
                status, _, body = await http_get(hub.port, path)
                assert status == 404, path
                assert b"secret" not in body

    run(main())


def test_tls_hub_serves_wss(certificate: tuple[Path, Path]):
    """With a certificate the hub speaks wss: a client that trusts it connects and gets a welcome."""
    cert, key = certificate
    client = ssl.create_default_context(cafile=str(cert))

    async def main() -> None:
        async with serve_hub(TOKENS, port=0, ssl=ssl_context(cert, key)) as hub:
            assert hub.url.startswith("wss://")
            async with connect(hub.url, ssl=client) as ws:
                await ws.send(json.dumps({"type": "hello", "role": "supervisor",
                                          "token": TOKENS.first("supervisor").token}))  # fmt: skip
                assert json.loads(await ws.recv())["type"] == "welcome"
            with pytest.raises((OSError, InvalidHandshake, ConnectionClosed, ssl.SSLError)):
                async with connect(hub.url.replace("wss://", "ws://"), open_timeout=2) as plain:
                    await plain.recv()

    run(main())


async def api_get(port: int, path: str, token: str | None = None) -> tuple[int, object]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_http_api_health_floor_and_routes():
    """The JSON API: health without a token, the floor per role with a bearer token, added routes."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"), started("c2", "bob"))
            await pub.acked()
            status, health = await api_get(hub.port, "/api/health")
            assert status == 200 and health == {"ok": True, "calls": 2, "viewers": 0, "seq": hub.floor.seq}
            status, floor = await api_get(hub.port, "/api/floor", TOKENS.first("supervisor").token)
            assert status == 200 and len(floor["calls"]) == 2  # type: ignore[index]
            status, floor = await api_get(hub.port, "/api/floor", TOKENS.first("agent", "bob").token)
            assert [c["call"] for c in floor["calls"]] == ["c2"]  # type: ignore[index]
            assert await api_get(hub.port, "/api/floor") == (401, {"error": "missing token"})
            assert await api_get(hub.port, "/api/floor", "z" * 32) == (401, {"error": "invalid token"})
            status, _ = await api_get(hub.port, "/api/floor", TOKENS.first("publisher").token)
            assert status == 401
            assert (await api_get(hub.port, "/api/nothing"))[0] == 404

            async def echo(grant, params):
                return {"by": grant.name, "params": params}

            hub.api.route("echo", echo)
            status, data = await api_get(hub.port, "/api/echo?call=c1&x=2", TOKENS.first("supervisor").token)
            assert data == {"by": "supervisor1", "params": {"call": "c1", "x": "2"}}

    run(main())
