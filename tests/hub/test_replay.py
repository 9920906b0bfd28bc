"""Reconnecting with `last_seq`: a viewer misses nothing while the hub's replay window has it."""

from __future__ import annotations

from support.hub import TOKENS, Publishing, alert, events, heat, publisher, quiet, started, turn, viewer
from support.process import run

from monitor.hub import HubConfig, serve_hub


def test_reconnect_with_last_seq_gets_exactly_the_missed_events():
    """Events published while a viewer was away arrive after its welcome, in order, once each."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            pub = Publishing(await publisher(hub))
            sup, _ = await viewer(hub)
            await pub.send(started("c1", "alice"), turn("c1", "before"))
            seen = await events(sup, 2)
            await sup.close()
            await pub.send(*[turn("c1", f"missed {i}", t=2.0 + i) for i in range(10)], heat("c1", 70))
            await pub.send(alert("c1", "a1"))
            await pub.acked()
            sup, welcome = await viewer(hub, last_seq=seen[-1]["seq"])
            assert welcome["replay"] is True
            missed = await events(sup, 12)
            assert [e.get("text") for e in missed[:10]] == [f"missed {i}" for i in range(10)]
            assert [e["type"] for e in missed[10:]] == ["heat", "alert"]
            assert missed[0]["seq"] == seen[-1]["seq"] + 1
            assert missed[-1]["seq"] == welcome["seq"]
            await pub.send(turn("c1", "live again", t=30.0))
            (live,) = await events(sup, 1)
            assert live["text"] == "live again" and live["seq"] == welcome["seq"] + 1
            assert await quiet(sup, 0.2) == []

    run(main())


def test_agent_replay_holds_only_own_calls():
    """An agent reconnecting with last_seq gets only its own calls' missed events."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"), started("c2", "bob"))
            await pub.acked()
            _, welcome = await viewer(hub, "agent", "alice")
            await pub.send(turn("c2", "for bob"), turn("c1", "for alice"), turn("c2", "for bob again"))
            await pub.acked()
            alice, again = await viewer(hub, "agent", "alice", last_seq=welcome["seq"])
            assert again["replay"] is True
            assert [e["text"] for e in await events(alice, 1)] == ["for alice"]
            assert await quiet(alice) == []

    run(main())


def test_last_seq_outside_the_window_means_rebuild_from_snapshot():
    """A last_seq older than the replay window, or from another life of the hub, gives replay false."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0, config=HubConfig(replay_window=5)) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"), *[turn("c1", f"t{i}", t=i + 1.0) for i in range(10)])
            await pub.acked()
            first = hub.floor.window[0][0]
            for last_seq in (first - 2, 0, hub.floor.seq + 100):
                ws, welcome = await viewer(hub, last_seq=last_seq)
                assert welcome["replay"] is False, last_seq
                assert len(welcome["snapshot"]["calls"][0]["turns"]) == 10
                assert await quiet(ws, 0.1) == []
            ws, welcome = await viewer(hub, last_seq=first - 1)
            assert welcome["replay"] is True
            assert len(await events(ws, 5)) == 5
            _, welcome = await viewer(hub, last_seq=hub.floor.seq)
            assert welcome["replay"] is True

    run(main())


def test_publisher_duplicates_are_dropped():
    """A publisher resending pseqs the hub already accepted does not duplicate events for viewers."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            sup, _ = await viewer(hub)
            pub = Publishing(await publisher(hub, "dup"))
            await pub.send(started("c1", "alice"), turn("c1", "once"))
            await pub.acked()
            again = Publishing(await publisher(hub, "dup"))
            await again.send(started("c1", "alice"), turn("c1", "once"), turn("c1", "new"))
            await again.acked()
            got = await events(sup, 3)
            assert [e.get("text") for e in got] == [None, "once", "new"]
            assert await quiet(sup, 0.2) == []

    run(main())


def test_replay_larger_than_the_live_queue_bound_arrives_whole():
    """A reconnect may miss more events than a live queue may hold: the replay still comes whole."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0, config=HubConfig(viewer_bound=50)) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"))
            await pub.acked()
            sup, welcome = await viewer(hub)
            await sup.close()
            await pub.send(*[turn("c1", f"missed {i}", t=i + 1.0) for i in range(300)])
            await pub.acked()
            sup, again = await viewer(hub, last_seq=welcome["seq"])
            assert again["replay"] is True
            got = await events(sup, 300)
            assert [e["text"] for e in got] == [f"missed {i}" for i in range(300)]
            assert hub.cut_offs == 0

    run(main())
