"""A call id used again: the new call starts clean on the live floor, and apart in the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.hub import TOKENS, Publishing, alert, heat, publisher, started, turn, viewer
from support.process import run

from monitor.hub import serve_hub
from monitor.store import Store, StoreSink, db_path


@pytest.mark.parametrize("started_at", ["2026-11-23T13:00:00Z", "2026-11-23T12:00:00Z"])
def test_reused_call_id_shows_nothing_of_the_earlier_call(tmp_path: Path, started_at: str) -> None:
    """A new call_started for a known id (another agent; another start or the same) replaces the
    old live state: the new agent sees none of the earlier call's turns, alerts or heat, and
    the store keeps the two calls apart."""

    async def main() -> None:
        sink = StoreSink(db_path(tmp_path))
        try:
            async with serve_hub(TOKENS, port=0, sink=sink) as hub:
                pub = Publishing(await publisher(hub))
                await pub.send(
                    started("c1", "alice"),
                    turn("c1", "my card is four one one one"),
                    heat("c1", 80, level="hot"),
                    alert("c1", "a1"),
                )
                await pub.acked()
                again = started("c1", "bob", t=0.0)
                again["started_at"] = started_at
                await pub.send(again, turn("c1", "hello there", t=1.0))
                await pub.acked()
                _, welcome = await viewer(hub, "agent", "bob")
                (call,) = welcome["snapshot"]["calls"]
                assert call["agent"] == "bob" and call["started_at"] == started_at
                assert [t["text"] for t in call["turns"]] == ["hello there"]
                assert call["alerts"] == [] and call["heat"] is None and call["heat_history"] == []
                assert welcome["snapshot"]["alerts"] == []
                _, welcome = await viewer(hub, "agent", "alice")
                assert welcome["snapshot"]["calls"] == [] and welcome["snapshot"]["alerts"] == []
                _, welcome = await viewer(hub)
                assert [a["id"] for a in welcome["snapshot"]["alerts"]] == []
        finally:
            await sink.aclose()
        store = Store.open(db_path(tmp_path), create=False)
        try:
            rows = sorted(store.list_calls(), key=lambda r: r.pk)
            assert [(r.id, r.agent, r.turns) for r in rows] == [("c1", "alice", 1), ("c1", "bob", 1)]
        finally:
            store.close()

    run(main())


def test_reannounced_call_keeps_its_live_state() -> None:
    """The same call_started again (a publisher re-announcing after a reconnect) keeps the
    call's turns, alerts and heat."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"), turn("c1", "still broken"), alert("c1", "a1"))
            await pub.send(started("c1", "alice"))
            await pub.acked()
            _, welcome = await viewer(hub, "agent", "alice")
            (call,) = welcome["snapshot"]["calls"]
            assert [t["text"] for t in call["turns"]] == ["still broken"]
            assert [a["id"] for a in call["alerts"]] == ["a1"]

    run(main())
