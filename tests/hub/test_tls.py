"""Publishing to a hub that speaks TLS (wss://), with a self-signed certificate made for the test."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from support.hub import TOKENS, started, turn
from support.process import run

from monitor.hub import serve_hub
from monitor.hub.publisher import Publisher
from monitor.hub.server import ssl_context

PUB_TOKEN = TOKENS.first("publisher").token


def test_publisher_with_a_trusting_context_publishes_over_wss(certificate: tuple[Path, Path]) -> None:
    """A publisher given a context that trusts the hub's certificate gets its events acked over wss."""
    cert, key = certificate

    async def main() -> None:
        async with serve_hub(TOKENS, port=0, ssl=ssl_context(cert, key)) as hub:
            assert hub.url.startswith("wss://")
            client = ssl.create_default_context(cafile=str(cert))
            async with Publisher(hub.url, PUB_TOKEN, ssl=client) as pub:
                pub.publish(started("c1", "alice"))
                pub.publish(turn("c1", "over tls"))
                assert await pub.flush(timeout=30), pub.errors
            assert [json.loads(t)["text"] for t in hub.floor.calls["c1"].turns] == ["over tls"]

    run(main())


def test_publisher_without_a_context_trusts_ssl_cert_file(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no context, a wss publisher verifies the hub as ssl's default context does, so
    SSL_CERT_FILE naming the hub's certificate is enough to publish to it."""
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))

    async def main() -> None:
        async with serve_hub(TOKENS, port=0, ssl=ssl_context(cert, key)) as hub:
            async with Publisher(hub.url, PUB_TOKEN) as pub:
                pub.publish(started("c1", "alice"))
                assert await pub.flush(timeout=30), pub.errors
            assert hub.floor.calls["c1"].agent == "alice"

    run(main())


def test_untrusted_hub_certificate_is_logged_once_with_the_way_to_trust_it(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A hub whose certificate nobody trusts is not published to; the log says how to trust it."""
    cert, key = certificate
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)

    async def main() -> None:
        async with serve_hub(TOKENS, port=0, ssl=ssl_context(cert, key)) as hub:
            async with Publisher(hub.url, PUB_TOKEN, backoff=(0.05, 0.1)) as pub:
                pub.publish(started("c1", "alice"))
                assert not await pub.flush(timeout=1)
            assert "c1" not in hub.floor.calls

    with caplog.at_level(logging.INFO, logger="monitor.hub.publisher"):
        run(main())
    failures = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(failures) == 1 and "SSL_CERT_FILE=" in failures[0], failures


def test_a_tls_context_for_a_plain_ws_url_is_refused_at_once() -> None:
    """A context with a ws:// URL is a mistake to report, not a connection to retry for ever."""
    with pytest.raises(ValueError, match="wss://"):
        Publisher("ws://127.0.0.1:1", PUB_TOKEN, ssl=ssl.create_default_context())


def test_replay_publishes_to_a_tls_hub_trusted_through_ssl_cert_file(
    certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    """`heatmon replay --hub wss://...` with SSL_CERT_FILE=hub.pem exits 0 and the hub has the call."""
    cert, key = certificate
    transcript = tmp_path / "c7.jsonl"
    rows = [
        {"speaker": "agent", "text": "northline this is sam how can i help", "start": 0.5, "end": 3.0},
        {"speaker": "caller", "text": "it is still not working", "start": 3.5, "end": 7.0},
    ]
    transcript.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    async def main() -> None:
        async with serve_hub(TOKENS, port=0, ssl=ssl_context(cert, key)) as hub:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "monitor", "replay", "--fast", "--agent", "sam",
                "--hub", hub.url, "--hub-token", PUB_TOKEN, str(transcript),
                env={**os.environ, "SSL_CERT_FILE": str(cert)},
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
            stdout, stderr = await proc.communicate()
            assert proc.returncode == 0, stderr.decode()
            events = [json.loads(line) for line in stdout.decode().splitlines()]
            assert events[-1]["type"] == "call_ended"
            (call,) = hub.floor.calls.values()
            assert call.agent == "sam" and call.ended
            assert list(hub.ledger.acked.values()) == [len(events)]  # the hub acked every event

    run(main())
