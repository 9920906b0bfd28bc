"""The publisher client against a real hub: acks, flush, resend after a hub restart, bad tokens."""

from __future__ import annotations

import asyncio
import json

from support.hub import TOKENS, events, heat, quiet, started, turn, viewer
from support.process import free_port, run

from monitor.hub import serve_hub
from monitor.hub.publisher import Publisher
from monitor.hub.urls import hub_ws_url

PUB_TOKEN = TOKENS.first("publisher").token


def test_hub_url_gets_the_websocket_path():
    """`--hub ws://host:port` means the hub's /ws endpoint; http(s) maps to ws(s)."""
    assert hub_ws_url("ws://127.0.0.1:8765") == "ws://127.0.0.1:8765/ws"
    assert hub_ws_url("https://hub.example:9000/") == "wss://hub.example:9000/ws"
    assert hub_ws_url("ws://h:1/ws") == "ws://h:1/ws"


def test_published_events_reach_viewers_and_flush_confirms():
    """Events published through the client reach a supervisor in order, and flush sees them acked."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            sup, _ = await viewer(hub)
            async with Publisher(f"ws://127.0.0.1:{hub.port}", PUB_TOKEN) as pub:
                pub.publish(started("c1", "alice"))
                for i in range(30):
                    pub.publish(turn("c1", f"turn {i}", t=i + 1.0))
                assert await pub.flush(timeout=30)
                assert pub.unacked == 0 and pub.dropped == 0
            got = await events(sup, 31)
            assert [e["text"] for e in got[1:]] == [f"turn {i}" for i in range(30)]

    run(main())


def test_publisher_buffers_while_hub_down_and_resends_after_restart():
    """Events published while the hub is down arrive once it is up; after a restart (state lost)
    the publisher re-announces its live calls, so the new hub's board has them again."""

    async def main() -> None:
        port = free_port()
        async with Publisher(f"ws://127.0.0.1:{port}", PUB_TOKEN, backoff=(0.05, 0.2)) as pub:
            pub.publish(started("c1", "alice"))
            pub.publish(heat("c1", 40))
            for i in range(5):
                pub.publish(turn("c1", f"before {i}", t=1.0 + i))
            assert not await pub.flush(timeout=0.3)  # no hub yet
            async with serve_hub(TOKENS, port=port) as hub:
                assert await pub.flush(timeout=30)
                assert hub.floor.calls["c1"].heat is not None
            pub.publish(turn("c1", "said while the hub was down", t=5.0))
            async with serve_hub(TOKENS, port=port) as hub:
                assert await pub.flush(timeout=30)
                call = hub.floor.calls["c1"]
                assert call.agent == "alice" and call.heat is not None and call.heat["value"] == 40
                assert [json.loads(t)["text"] for t in call.turns] == ["said while the hub was down"]
                _, welcome = await viewer(hub, "agent", "alice")
                assert [c["call"] for c in welcome["snapshot"]["calls"]] == ["c1"]

    run(main())


def test_restarted_hub_gets_the_last_prompt_and_the_newer_ticked_steps():
    """After a hub restart the publisher re-announces a call's last coach prompt and the newer
    prompt-less coach event, so the agent's page gets both the prompt and the ticked steps back."""

    def coach(t: float, prompt: str, done: dict[str, bool]) -> dict[str, object]:
        return {"type": "coach", "call": "c1", "t": t, "step": "E", "prompt": prompt, "done": done}

    async def main() -> None:
        port = free_port()
        async with Publisher(f"ws://127.0.0.1:{port}", PUB_TOKEN, backoff=(0.05, 0.2)) as pub:
            pub.publish(started("c1", "alice"))
            pub.publish(coach(4.0, "Show you understand.", {"H": False, "E": False}))
            pub.publish(coach(6.0, "", {"H": True, "E": False}))
            async with serve_hub(TOKENS, port=port):
                assert await pub.flush(timeout=30)
            async with serve_hub(TOKENS, port=port) as hub:
                pub.publish(turn("c1", "still there", t=7.0))
                assert await pub.flush(timeout=30)
                call = hub.floor.calls["c1"]
                assert call.coach is not None and call.coach["t"] == 6.0 and call.coach["done"]["H"]
                assert call.coach_prompt is not None and call.coach_prompt["prompt"] == "Show you understand."

    run(main())


def test_publisher_with_a_bad_token_stops_and_says_why():
    """A token the hub refuses ends the publisher's retries with the hub's reason."""

    async def main() -> None:
        async with (
            serve_hub(TOKENS, port=0) as hub,
            Publisher(hub.url, TOKENS.first("supervisor").token) as pub,
        ):
            pub.publish(started("c1", "alice"))
            assert not await pub.flush(timeout=5)
            assert pub.rejected == "token is not for role publisher"

    run(main())


def test_full_buffer_drops_oldest_non_alert_and_counts():
    """Past its bound the buffer drops the oldest droppable event, keeps alerts, and counts drops."""

    async def main() -> None:
        async with Publisher("ws://127.0.0.1:9", PUB_TOKEN, buffer=3, backoff=(5, 5)) as pub:
            pub.publish(started("c1", "alice"))
            pub.publish(
                {
                    "type": "alert",
                    "call": "c1",
                    "t": 1,
                    "id": "a1",
                    "kind": "k",
                    "level": "hot",
                    "message": "m",
                    "evidence": [],
                }
            )
            pub.publish(heat("c1", 10))
            pub.publish(heat("c1", 20))
            assert pub.dropped == 1 and pub.unacked == 3
            kinds = [(i.kind, json.loads(i.encoded()).get("value")) for i in pub._outbox.items]
            assert kinds == [("call_started", None), ("alert", None), ("heat", 20)]

    run(main())


def test_dropped_connection_resumes_without_loss_or_duplicates():
    """When the publisher's connection drops mid-stream, it resumes from the hub's last_pseq:
    a viewer sees every event exactly once, in order."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            sup, _ = await viewer(hub)
            async with Publisher(hub.url, PUB_TOKEN, backoff=(0.05, 0.1)) as pub:
                pub.publish(started("c1", "alice"))
                for i in range(50):
                    pub.publish(turn("c1", f"turn {i}", t=i + 1.0))
                    if i == 25:
                        # Once the publisher is connected (a condition: a busy machine takes longer).
                        assert hub.server is not None
                        publishers: list[object] = []
                        for _ in range(1200):
                            viewers = {v.ws for v in hub.viewers}
                            publishers = [c for c in hub.server.connections if c not in viewers]
                            if publishers and pub.connections == 1:
                                break
                            await asyncio.sleep(0.05)
                        assert publishers, "the publisher never connected"
                        for conn in publishers:
                            await conn.close(1012, "restarting")  # type: ignore[attr-defined]
                assert await pub.flush(timeout=30)
                assert pub.connections == 2
            got = await events(sup, 51)
            assert [e.get("text") for e in got[1:]] == [f"turn {i}" for i in range(50)]
            assert await quiet(sup, 0.2) == []

    run(main())


def test_big_events_are_split_under_the_message_limit_and_oversize_ones_dropped():
    """Big events go out in several messages under the hub's 64 KiB limit; an event too big
    for any message, or one that is not JSON, is dropped and counted, never raised."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            sup, _ = await viewer(hub)
            async with Publisher(hub.url, PUB_TOKEN) as pub:
                pub.publish(started("c1", "alice"))
                pub.publish(turn("c1", "x" * 70_000))  # over the limit on its own
                pub.publish({"type": "heat", "call": "c1", "t": 1, "value": object()})  # not JSON
                for i in range(30):
                    pub.publish(turn("c1", f"{i} " + "y" * 10_000, t=i + 1.0))
                assert await pub.flush(timeout=30)
                assert pub.dropped == 2 and pub.connections == 1
                assert "over the hub's message limit" in pub.errors[0] and "cannot be JSON" in pub.errors[1]
            got = await events(sup, 31)
            assert [e["text"].split()[0] for e in got[1:]] == [str(i) for i in range(30)]

    run(main())
