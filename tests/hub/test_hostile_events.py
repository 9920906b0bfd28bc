"""What a publisher or a supervisor sends that the wire contract does not allow is refused at the
edge, to its sender, and never reaches the floor, the pages or the store (a real hub, a real store)."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

from support.hub import TOKENS, Publishing, alert, heat, publisher, started, turn, viewer
from support.process import run

from monitor.hub import serve_hub
from monitor.store import Store, StoreSink


def strict(raw: str | bytes) -> Any:
    """Standard JSON only: NaN and Infinity, which no page can read, fail the test."""

    def refuse(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name} sent to a page")

    return json.loads(raw, parse_constant=refuse)


async def replies(ws: Any, pseq: int) -> list[dict[str, Any]]:
    """What the hub answers a publisher until it acknowledges `pseq`."""
    got: list[dict[str, Any]] = []
    while not got or not (got[-1]["type"] == "ack" and got[-1]["pseq"] >= pseq):
        got.append(json.loads(await ws.recv()))
    return got


def test_non_finite_numbers_are_refused_and_the_board_stays_readable(tmp_path: Path) -> None:
    """NaN or Infinity in any number is answered with an error and acked as refused; a page that
    connects afterwards gets a standard-JSON welcome, and the store never sees them."""

    async def main() -> None:
        sink = StoreSink(tmp_path / "calls.sqlite3")
        async with serve_hub(TOKENS, port=0, sink=sink) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"), turn("c1", "this is awful"))
            await replies(pub.ws, 2)
            for bad in (
                {**heat("c1", 50), "value": float("nan")},
                {**turn("c1", "x"), "start": float("inf")},
            ):
                await pub.ws.send(json.dumps({**bad, "pseq": pub.pseq + 1}))  # json writes NaN/Infinity
                pub.pseq += 1
                answers = await replies(pub.ws, pub.pseq)
                assert answers[0]["type"] == "error" and "finite number" in answers[0]["message"], answers
            ws, _ = await viewer(hub)  # a page opened afterwards is welcomed
            floor = hub.floor.snapshot_json(None)
            assert "NaN" not in floor and "Infinity" not in floor
            strict(floor)
            await ws.close()
        await sink.aclose()
        with Store.open(tmp_path / "calls.sqlite3", create=False) as store:
            assert store.conn.execute("SELECT count(*) FROM heat").fetchone()[0] == 0

    run(main())


def test_a_lone_surrogate_is_refused_to_its_sender_and_the_floor_goes_on(tmp_path: Path) -> None:
    """A supervisor message with text UTF-8 cannot carry gets an error; other supervisors and the
    agent still connect, and /api/floor answers."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"), alert("c1", "a1"))
            await replies(pub.ws, 2)
            sam, _ = await viewer(hub)
            await sam.send(json.dumps({"type": "message", "call": "c1", "text": "\ud800 hi"}))
            answer = json.loads(await sam.recv())
            while answer.get("type") != "error":
                answer = json.loads(await sam.recv())
            assert "UTF-8" in answer["message"], answer
            for role, name in (("supervisor", None), ("agent", "alice")):
                ws, welcome = await viewer(hub, role, name)
                assert welcome["snapshot"]["calls"][0]["messages"] == []
                await ws.close()
            token = TOKENS.first("supervisor").token
            request = urllib.request.Request(
                f"{hub.http_url}/api/floor", headers={"Authorization": f"Bearer {token}"}
            )

            def fetch() -> tuple[int, bytes]:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, response.read()

            status, body = await asyncio.to_thread(fetch)  # off the loop: the hub must answer it
            assert status == 200 and strict(body)["calls"]
            await sam.close()

    run(main())


def test_an_event_the_store_could_not_write_is_refused_and_the_connection_goes_on(tmp_path: Path) -> None:
    """A sentiment that is a list, or evidence that is a number, passes no check: refused with an
    error, acked, the connection stays up, and what comes after it is stored."""

    async def main() -> None:
        sink = StoreSink(tmp_path / "calls.sqlite3")
        async with serve_hub(TOKENS, port=0, sink=sink) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"))
            await replies(pub.ws, 1)
            await pub.send({**turn("c1", "bad"), "sentiment": [1, 2]}, {**alert("c1", "a1"), "evidence": 5})
            answers = await replies(pub.ws, pub.pseq)
            errors = [a["message"] for a in answers if a["type"] == "error"]
            assert len(errors) == 2 and "sentiment" in errors[0] and "evidence" in errors[1], errors
            await pub.send(turn("c1", "and this one is fine", t=9.0))
            await replies(pub.ws, pub.pseq)
        await sink.aclose()
        with Store.open(tmp_path / "calls.sqlite3", create=False) as store:
            texts = [row[0] for row in store.conn.execute("SELECT text FROM turns")]
        assert texts == ["and this one is fine"]

    run(main())
