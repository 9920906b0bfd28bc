"""`--redact` masks the live board too: what viewers receive and the welcome, not only the store."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from support.hub import TOKENS, Publishing, alert, events, publisher, started, turn, viewer
from support.process import HEATMON, run

from monitor.hub import HubConfig, serve_hub
from monitor.store import Store, StoreSink, db_path

CARD = "4111 1111 1111 1111"


def card_events() -> list[dict[str, Any]]:
    words = [
        {"word": w, "start": 1.0, "end": 1.1, "conf": 1.0}
        for w in ["my", "card", "is", "four", "one", "one", "one", "one", "one"]
    ]
    spoken = turn("c1", "my card is four one one one one one", t=2.0)
    spoken["words"] = words
    warned = alert("c1", "a1")
    warned["evidence"] = [f"card {CARD}"]
    warned["message"] = f"caller read {CARD}"
    return [
        started("c1", "alice"),
        {"type": "partial", "call": "c1", "t": 1.5, "speaker": "caller", "text": f"it is {CARD}"},
        spoken,
        turn("c1", "four five three two", t=4.0),  # a card read in groups, one turn each
        turn("c1", "eight one seven seven", t=6.0),
        warned,
    ]


SPOKEN = ("text", "message", "evidence", "word")


def spoken_text(value: Any) -> list[str]:
    """Every spoken or quoted string in a JSON value: text, messages, evidence, words."""
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            if key in SPOKEN:
                found += [item] if isinstance(item, str) else [i for i in item if isinstance(i, str)]
            else:
                found += spoken_text(item)
        return found
    if isinstance(value, list):
        return [s for item in value for s in spoken_text(item)]
    return []


def digits_in(value: Any) -> list[str]:
    """Runs of six or more digits (typed or spoken) in what a JSON value says."""
    text = " | ".join(spoken_text(value))
    words = " ".join(w["word"] for w in _words(value))
    typed = re.findall(r"\d(?:[\s-]*\d){5,}", text)
    spoken = re.findall(r"(?:\b(?:one|four|five|eight|seven|three|two)\b\W*){6,}", text + " | " + words)
    return typed + spoken


def _words(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        own = [w for w in value.get("words", []) if isinstance(w, dict)]
        return own + [w for k, v in value.items() if k != "words" for w in _words(v)]
    if isinstance(value, list):
        return [w for item in value for w in _words(item)]
    return []


def test_redacting_hub_masks_what_viewers_and_the_welcome_show(tmp_path: Path) -> None:
    """With redact on, turn and partial text, word lists, alert messages and evidence reach the
    board masked, in the stream and in a later welcome; the store has them masked too."""

    async def main() -> None:
        sink = StoreSink(db_path(tmp_path), redact=True)
        try:
            async with serve_hub(TOKENS, port=0, sink=sink, config=HubConfig(redact=True)) as hub:
                live, _ = await viewer(hub, "agent", "alice")
                pub = Publishing(await publisher(hub))
                await pub.send(*card_events())
                await pub.acked()
                got = await events(live, 6)
                assert digits_in(got) == [], got
                by_type = {e["type"]: e for e in got}
                assert by_type["partial"]["text"] == "it is [16 digits redacted]"
                assert by_type["alert"]["evidence"] == ["card [16 digits redacted]"]
                turns = [e for e in got if e["type"] == "turn"]
                assert turns[0]["text"] == "my card is [6 digits redacted]"
                assert [w["word"] for w in turns[0]["words"]][3:] == ["*"] * 6
                assert turns[2]["text"] == "[4 digits redacted]"  # continues the number before it
                _, welcome = await viewer(hub)
                assert digits_in(welcome) == [] and "[16 digits redacted]" in json.dumps(welcome)
        finally:
            await sink.aclose()
        store = Store.open(db_path(tmp_path), create=False)
        try:
            assert digits_in(store.call_detail("c1")) == []
        finally:
            store.close()

    run(main())


def test_plain_hub_shows_digits() -> None:
    """Without redact the board shows the text as spoken (masking is asked for, never guessed)."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            live, _ = await viewer(hub)
            pub = Publishing(await publisher(hub))
            await pub.send(*card_events())
            assert CARD in json.dumps(await events(live, 6))

    run(main())


def test_heatmon_hub_redact_masks_the_board(tmp_path: Path) -> None:
    """`heatmon hub --redact` (the real command) masks the live board's stream."""

    async def main() -> None:
        proc = await asyncio.create_subprocess_exec(
            *HEATMON, "hub", "--port", "0", "--data", str(tmp_path), "--redact",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            url = ""
            async with asyncio.timeout(60):
                while not url:
                    line = (await proc.stdout.readline()).decode()
                    assert line, "the hub ended before listening"
                    if line.startswith("hub listening on "):
                        url = line.split()[-1]
            tokens = json.loads((tmp_path / "tokens.json").read_text())["tokens"]
            token = {t["role"]: t["token"] for t in tokens}
            from websockets.asyncio.client import connect

            async with connect(url) as sup, connect(url) as pub:
                await sup.send(
                    json.dumps({"type": "hello", "role": "supervisor", "token": token["supervisor"]})
                )
                await sup.recv()
                await pub.send(
                    json.dumps({"type": "hello", "role": "publisher", "token": token["publisher"]})
                )
                await pub.recv()
                items = [{**e, "pseq": i + 1} for i, e in enumerate(card_events())]
                await pub.send(json.dumps({"type": "batch", "events": items}))
                got: list[dict[str, Any]] = []
                async with asyncio.timeout(10):
                    while len(got) < 6:
                        msg = json.loads(await sup.recv())
                        got += msg["events"] if msg["type"] == "batch" else [msg]
                assert digits_in(got) == [] and CARD not in json.dumps(got)
        finally:
            proc.terminate()
            await proc.wait()

    run(main())
