"""The hub with real websocket clients on port 0: hello, snapshot, fan-out, roles, supervisors."""

from __future__ import annotations

import asyncio
import json

from support.hub import TOKENS, Publishing, alert, events, heat, publisher, quiet, started, turn, viewer
from support.process import run
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from monitor.hub import serve_hub


def test_welcome_carries_snapshot_of_live_calls():
    """A viewer that connects after events were published gets the floor in its welcome."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(
                started("c1", "alice", caller_name="Dana", caller_number="+15550101"),
                turn("c1", "this is awful"),
                heat("c1", 55),
            )
            await pub.send(alert("c1", "a1"))
            await pub.acked()
            _, welcome = await viewer(hub)
            assert welcome["role"] == "supervisor" and welcome["agent"] is None
            assert welcome["seq"] == hub.floor.seq
            (call,) = welcome["snapshot"]["calls"]
            assert call["call"] == "c1" and call["agent"] == "alice" and call["caller_name"] == "Dana"
            assert call["caller_number"] == "+15550101"
            assert call["heat"]["value"] == 55 and call["heat_history"] == [[2.0, 55]]
            assert call["sentiments"] == [[1.0, -0.5]]
            assert call["turns"][0]["text"] == "this is awful" and "seq" in call["turns"][0]
            assert call["alerts"][0]["id"] == "a1" and call["alerts"][0]["acked_by"] is None
            assert welcome["snapshot"]["alerts"][0]["id"] == "a1"
            assert welcome["replay"] is False

    run(main())


def test_events_fan_out_to_every_viewer_with_increasing_seq():
    """Every viewer gets every event, each with a larger seq than the one before, in batches."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            viewers = [(await viewer(hub))[0] for _ in range(3)]
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"), *[turn("c1", f"turn {i}", t=i + 1.0) for i in range(20)])
            for ws in viewers:
                got = await events(ws, 21)
                assert [e["type"] for e in got] == ["call_started"] + ["turn"] * 20
                seqs = [e["seq"] for e in got]
                assert seqs == sorted(seqs) and len(set(seqs)) == 21
                assert all("pseq" not in e for e in got)

    run(main())


def test_agent_sees_only_own_calls():
    """An agent's welcome and stream hold only the calls of that agent; a supervisor sees both."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"), started("c2", "bob"))
            await pub.acked()
            alice, welcome = await viewer(hub, "agent", "alice")
            assert welcome["agent"] == "alice"
            assert [c["call"] for c in welcome["snapshot"]["calls"]] == ["c1"]
            sup, welcome = await viewer(hub)
            assert sorted(c["call"] for c in welcome["snapshot"]["calls"]) == ["c1", "c2"]
            await pub.send(turn("c2", "bob's caller"), alert("c2", "a9"), turn("c1", "alice's caller"))
            got = await events(alice, 1)
            assert got[0]["call"] == "c1"
            assert await quiet(alice) == []
            assert [e["call"] for e in await events(sup, 3)] == ["c2", "c2", "c1"]

    run(main())


def test_bad_tokens_are_closed_with_a_reason():
    """Unknown token, missing token and a token of another role close with 1008 and say why."""

    async def closed_reason(hub, payload) -> tuple[int, str]:
        async with connect(hub.url) as ws:
            await ws.send(payload)
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except ConnectionClosed as err:
                assert err.rcvd is not None
                return err.rcvd.code, err.rcvd.reason
        raise AssertionError("not closed")

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            agent_token = TOKENS.first("agent", "alice").token
            cases = {
                json.dumps({"type": "hello", "role": "supervisor", "token": "x" * 32}): "invalid token",
                json.dumps({"type": "hello", "role": "supervisor"}): "missing token",
                json.dumps({"type": "hello", "role": "supervisor", "token": agent_token}): (
                    "token is not for role supervisor"
                ),
                json.dumps({"type": "hello", "role": "publisher", "token": agent_token}): (
                    "token is not for role publisher"
                ),
                "not json": "hello expected",
                json.dumps({"type": "turn"}): "hello expected",
            }
            for payload, reason in cases.items():
                assert await closed_reason(hub, payload) == (1008, reason)

    run(main())


def test_supervisor_acknowledges_alert_for_all_supervisors():
    """An ack from one supervisor reaches the other supervisors and the call's agent, and sticks."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"), alert("c1", "a1"))
            await pub.acked()
            sup1, _ = await viewer(hub, "supervisor", "supervisor1")
            sup2, _ = await viewer(hub, "supervisor", "supervisor2")
            alice, _ = await viewer(hub, "agent", "alice")
            bob, _ = await viewer(hub, "agent", "bob")
            await sup1.send(json.dumps({"type": "ack_alert", "call": "c1", "id": "a1"}))
            for ws in (sup1, sup2, alice):
                (ack,) = await events(ws, 1)
                assert ack["type"] == "alert_ack" and ack["id"] == "a1" and ack["by"] == "supervisor1"
                assert ack["at"].endswith("Z") and "seq" in ack
            assert await quiet(bob) == []
            _, welcome = await viewer(hub)
            assert welcome["snapshot"]["calls"][0]["alerts"][0]["acked_by"] == "supervisor1"

    run(main())


def test_supervisor_message_reaches_only_that_agent():
    """A supervisor's message goes to the call's agent and the supervisors, not to other agents."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"), started("c2", "bob"))
            await pub.acked()
            sup, _ = await viewer(hub)
            alice, _ = await viewer(hub, "agent", "alice")
            bob, _ = await viewer(hub, "agent", "bob")
            await sup.send(json.dumps({"type": "message", "call": "c1", "text": "offer the refund"}))
            (msg,) = await events(alice, 1)
            assert msg["type"] == "supervisor_message" and msg["text"] == "offer the refund"
            assert msg["from"] == "supervisor1" and msg["call"] == "c1"
            assert (await events(sup, 1))[0]["type"] == "supervisor_message"
            assert await quiet(bob) == []

    run(main())


def test_malformed_viewer_messages_get_errors_and_keep_the_connection():
    """Bad requests get an `error` answer, the connection stays; agents may not send anything."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            pub = Publishing(await publisher(hub))
            await pub.send(started("c1", "alice"))
            await pub.acked()
            sup, _ = await viewer(hub)
            bad = [
                "{oops",
                "[1, 2]",
                json.dumps({"type": "ack_alert", "call": "c1", "id": "nope"}),
                json.dumps({"type": "ack_alert", "call": "zz", "id": "a1"}),
                json.dumps({"type": "message", "call": "c1", "text": "x" * 501}),
                json.dumps({"type": "message", "call": "c1", "text": "   "}),
                json.dumps({"type": "shout", "call": "c1"}),
            ]
            for payload in bad:
                await sup.send(payload)
                reply = json.loads(await asyncio.wait_for(sup.recv(), 5))
                assert reply["type"] == "error" and reply["message"], payload
            alice, _ = await viewer(hub, "agent", "alice")
            await alice.send(json.dumps({"type": "message", "call": "c1", "text": "hi"}))
            reply = json.loads(await asyncio.wait_for(alice.recv(), 5))
            assert reply == {"type": "error", "message": "agents may not send messages"}
            await sup.send(json.dumps({"type": "message", "call": "c1", "text": "still here"}))
            assert (await events(sup, 1))[0]["text"] == "still here"

    run(main())


def test_unknown_viewer_message_type_is_named_before_its_fields():
    """A message of an unknown type is answered "unknown message type", whatever fields it lacks;
    a known type without a call is told it needs one."""

    async def main() -> None:
        async with serve_hub(TOKENS, port=0) as hub:
            sup, _ = await viewer(hub)
            expected = [
                ({"type": "bogus"}, "unknown message type 'bogus'"),
                ({"type": "bogus", "call": "c1"}, "unknown message type 'bogus'"),
                ({"call": "c1"}, "unknown message type None"),
                ({"type": ["message"]}, "unknown message type ['message']"),
                ({"type": "message", "text": "hi"}, "message needs a 'call'"),
                ({"type": "ack_alert", "id": "a1"}, "ack_alert needs a 'call'"),
            ]
            for payload, message in expected:
                await sup.send(json.dumps(payload))
                reply = json.loads(await asyncio.wait_for(sup.recv(), 5))
                assert reply == {"type": "error", "message": message}, payload

    run(main())
