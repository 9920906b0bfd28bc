"""JSON nested 30,000 deep costs the hub neither a traceback nor its stack: each sender gets
a clear answer and the hub goes on."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from support.hub import TOKENS, Publishing, events, publisher, started, viewer
from support.process import run
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from monitor.hub import serve_hub
from monitor.hub.auth import Tokens, TokensFileError

DEEP = "[" * 30_000 + "]" * 30_000


def test_deeply_nested_json_is_answered_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """30,000-deep JSON as a hello, as a publisher's event and as a supervisor's request: the
    hello is refused with a reason, the others get an error, and every connection goes on."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            ws = await connect(hub.url)
            await ws.send(DEEP)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            assert ws.close_code == 1008 and ws.close_reason == "hello expected"
            raw = await publisher(hub)
            await raw.send(DEEP)
            assert json.loads(await asyncio.wait_for(raw.recv(), 10)) == {
                "type": "error",
                "message": "not JSON",
            }
            await raw.send(
                json.dumps(
                    {"type": "turn", "call": "c1", "pseq": 1, "words": json.loads("[" * 900 + "]" * 900)}
                )
            )
            error = json.loads(await asyncio.wait_for(raw.recv(), 10))
            assert error["type"] == "error" and "pseq 1 rejected" in error["message"]
            sup, _ = await viewer(hub)
            await sup.send(DEEP)
            assert json.loads(await asyncio.wait_for(sup.recv(), 10)) == {
                "type": "error",
                "message": "not JSON",
            }
            pub = Publishing(await publisher(hub, "p2"))
            await pub.send(started("c1", "alice"))
            assert (await events(sup, 1))[0]["type"] == "call_started"

    with caplog.at_level(logging.INFO):
        run(main())
    assert not [r for r in caplog.records if r.exc_info], [
        r.getMessage() for r in caplog.records if r.exc_info
    ]


def test_deeply_nested_tokens_file_is_a_clear_error(tmp_path: Path) -> None:
    """A tokens file nested 30,000 deep is a TokensFileError saying so, not a RecursionError."""
    path = tmp_path / "tokens.json"
    path.write_text(DEEP)
    with pytest.raises(TokensFileError, match="nested too deep"):
        Tokens.load(path)
