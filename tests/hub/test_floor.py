"""The hub's pure parts: floor state and seq, replay window, per-viewer queues, tokens."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from support.hub import alert, heat, started, turn

from monitor.events import Event
from monitor.hub.auth import AuthError, Tokens, TokensFileError, publisher_token
from monitor.hub.call_state import HISTORY_KEPT, TURNS_KEPT, Stamped
from monitor.hub.fanout import ViewerQueue, batch_messages
from monitor.hub.floor import Floor, FloorError


def test_floor_numbers_events_and_keeps_bounded_call_state():
    """Each event gets the next seq; a call keeps its last 50 turns and bounded histories."""
    floor = Floor(first_seq=100)
    floor.publish(started("c1", "alice"), now=0)
    for i in range(TURNS_KEPT + 10):
        floor.publish(turn("c1", f"t{i}", t=float(i)), now=0)
    for i in range(HISTORY_KEPT + 5):
        floor.publish(heat("c1", i % 100, t=float(i)), now=0)
    call = floor.calls["c1"]
    assert floor.seq == 100 + TURNS_KEPT + 10 + HISTORY_KEPT + 5
    assert len(call.turns) == TURNS_KEPT and json.loads(call.turns[-1])["text"] == f"t{TURNS_KEPT + 9}"
    assert len(call.heat_history) == HISTORY_KEPT and len(call.sentiments) == TURNS_KEPT + 10
    assert call.heat is not None and call.heat["value"] == (HISTORY_KEPT + 4) % 100


def test_floor_keeps_heatmons_turn_score_for_the_sparkline_and_the_ack_on_the_calls_clock():
    """A caller turn's point is heatmon's `score` (VADER's `compound` only without one), as every
    page draws it; an acknowledgement carries the call's time beside the wall clock."""
    floor = Floor()
    floor.publish(started("c1", "alice"), now=0)
    scored = turn("c1", "third time calling", t=4.0, compound=0.2)
    scored["sentiment"] = {**scored["sentiment"], "score": -0.6}
    floor.publish(scored, now=0)
    floor.publish(turn("c1", "fine", t=9.0, compound=0.3), now=0)
    floor.publish(turn("c1", "on it", t=11.0, speaker="agent"), now=0)
    floor.publish(alert("c1", "a1"), now=0)
    floor.ack_alert("c1", "a1", "sam", "2026-11-23T12:00:00Z")
    (call,) = floor.snapshot(None)["calls"]
    assert call["sentiments"] == [[4.0, -0.6], [9.0, 0.3]]
    assert call["alerts"][0]["acked_t"] == 11.0


def test_partial_clears_on_turn_and_call_end():
    """A party's partial text shows until its turn is final; an ended call has no partials."""
    floor = Floor()
    floor.publish(started("c1", "alice"), now=0)
    floor.publish({"type": "partial", "call": "c1", "t": 1, "speaker": "agent", "text": "let me"}, now=0)
    assert floor.calls["c1"].partials == {"caller": "", "agent": "let me"}
    floor.publish(turn("c1", "let me check", speaker="agent"), now=0)
    assert floor.calls["c1"].partials["agent"] == ""
    floor.publish({"type": "call_ended", "call": "c1", "t": 9, "duration": 9}, now=50)
    assert floor.calls["c1"].ended is True


def coach(call: str, t: float, step: str, prompt: str, done: str) -> dict[str, object]:
    """A coach event whose `done` ticks the letters in `done`."""
    return {
        "type": "coach",
        "call": call,
        "t": t,
        "step": step,
        "prompt": prompt,
        "phrases": ["i see"] if prompt else [],
        "done": {letter: letter in done for letter in "HEAT"},
    }


def test_snapshot_keeps_the_last_prompt_beside_a_newer_prompt_less_coach_event():
    """A coach event with an empty prompt (steps ticked) is the call's `coach`; `coach_prompt` keeps the
    last one that said something, so a page opened later still shows it."""
    floor = Floor()
    floor.publish(started("c1", "alice"), now=0)
    floor.publish(coach("c1", 5.0, "E", "", done=""), now=0)
    assert floor.snapshot("alice")["calls"][0]["coach_prompt"] is None
    floor.publish(coach("c1", 10.0, "E", "Show you understand.", done="H"), now=0)
    floor.publish(coach("c1", 14.0, "A", "", done="HE"), now=0)
    (state,) = floor.snapshot("alice")["calls"]
    assert state["coach"]["t"] == 14.0 and state["coach"]["done"]["E"] is True
    assert state["coach_prompt"]["prompt"] == "Show you understand." and state["coach_prompt"]["seq"] == 3
    assert Event.check(state["coach"]) is None  # an empty prompt fits the wire contract


def test_ended_calls_expire_after_retention():
    """An ended call stays on the board for the retention time, then is forgotten; live ones stay
    until they have been silent for the silent retention (their end never came)."""
    floor = Floor(ended_retention=60, silent_retention=1000)
    floor.publish(started("c1", "alice"), now=0)
    floor.publish(started("c2", "bob"), now=0)
    floor.publish({"type": "call_ended", "call": "c1", "t": 9, "duration": 9}, now=100)
    assert floor.expire(150) == []
    assert floor.expire(161) == ["c1"]
    assert list(floor.calls) == ["c2"]
    floor.publish(heat("c2", 10), now=500)
    assert floor.expire(1400) == []
    assert floor.expire(1501) == ["c2"]


def test_ack_and_message_need_known_call_and_alert():
    """Acks mark the alert for every snapshot; unknown calls or alerts are refused."""
    floor = Floor()
    floor.publish(started("c1", "alice"), now=0)
    floor.publish(alert("c1", "a1"), now=0)
    _, stamped = floor.ack_alert("c1", "a1", "sam", "2026-11-23T12:00:00Z")
    assert json.loads(stamped.json)["type"] == "alert_ack" and stamped.agent == "alice"
    assert floor.snapshot(None)["alerts"][0]["acked_by"] == "sam"
    assert floor.snapshot("alice")["calls"][0]["alerts"][0]["acked_by"] == "sam"
    assert floor.snapshot("bob") == {"calls": [], "alerts": []}
    with pytest.raises(FloorError):
        floor.ack_alert("c1", "a2", "sam", "x")
    with pytest.raises(FloorError):
        floor.message("c9", "sam", "hi", "x")


def test_replay_window_is_exact_and_bounded():
    """`since` gives exactly the events after last_seq while the window holds them, else None."""
    floor = Floor(first_seq=1, replay_window=10)
    floor.publish(started("c1", "alice"), now=0)
    for i in range(20):
        floor.publish(turn("c1", f"t{i}", t=float(i)), now=0)
    assert floor.seq == 21
    assert [json.loads(s)["seq"] for s in floor.since(15, None) or []] == [16, 17, 18, 19, 20, 21]
    assert floor.since(11, None) is not None and floor.since(10, None) is None
    assert floor.since(21, None) == [] and floor.since(22, None) is None
    assert floor.since(15, "bob") == []


def stamp(seq: int, kind: str, call: str = "c1", speaker: str = "") -> Stamped:
    key = (call, kind, speaker) if kind in ("heat", "partial") else None
    return Stamped(seq, "alice", key, json.dumps({"type": kind, "seq": seq}))


def test_viewer_queue_coalesces_heat_and_partials_keeps_the_rest():
    """A backed-up queue keeps only the newest heat/partial per call and speaker, never drops alerts."""
    queue = ViewerQueue(bound=100)
    for event in [
        stamp(1, "heat"),
        stamp(2, "alert"),
        stamp(3, "heat"),
        stamp(4, "heat", call="c2"),
        stamp(5, "partial", speaker="caller"),
        stamp(6, "partial", speaker="agent"),
        stamp(7, "partial", speaker="caller"),
        stamp(8, "turn"),
    ]:
        assert queue.put(event)
    assert [json.loads(e)["seq"] for e in queue.take()] == [2, 3, 4, 6, 7, 8]
    assert queue.take() == [] and queue.size == 0


def test_viewer_queue_reports_passing_its_bound():
    """`put` says False once more than `bound` events that cannot be coalesced wait; heat and
    partials (at most three per call) do not count against it."""
    queue = ViewerQueue(bound=3)
    assert all(queue.put(stamp(i, "heat", call=f"c{i}")) for i in range(50))
    assert queue.put(stamp(60, "turn")) and queue.put(stamp(61, "turn")) and queue.put(stamp(62, "alert"))
    assert not queue.put(stamp(63, "coach"))


def test_batches_are_valid_json_and_split():
    """Encoded events are joined into `batch` messages of bounded size that parse back."""
    events = [json.dumps({"type": "turn", "seq": i}) for i in range(5)]
    messages = list(batch_messages(events, 2))
    assert [len(json.loads(m)["events"]) for m in messages] == [2, 2, 1]


def test_tokens_check_roles_and_reasons():
    """A token opens only its own role; others get the reason the close frame carries."""
    tokens = Tokens.make(agents=("alice",))
    grant = tokens.check(tokens.first("agent").token, "agent")
    assert grant.agent == "alice" and grant.name == "alice"
    assert tokens.check(tokens.first("supervisor").token, "supervisor").agent is None
    for token, role, reason in [
        ("nope" * 8, "agent", "invalid token"),
        (None, "agent", "missing token"),
        (tokens.first("agent").token, "supervisor", "token is not for role supervisor"),
        (tokens.first("agent").token, "admin", "unknown role 'admin'"),
    ]:
        with pytest.raises(AuthError) as err:
            tokens.check(token, role)
        assert err.value.reason == reason


def test_tokens_file_round_trip_mode_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The file is created once with mode 0600, read back, and bad files give clear errors."""
    path = tmp_path / "sub" / "tokens.json"
    tokens, created = Tokens.load_or_create(path)
    assert created and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [g.role for g in tokens.grants] == ["publisher", "supervisor", "agent"]
    again, created = Tokens.load_or_create(path)
    assert not created and again == tokens
    monkeypatch.delenv("HEATMON_HUB_TOKEN", raising=False)
    assert publisher_token(None, path) == tokens.first("publisher").token
    monkeypatch.setenv("HEATMON_HUB_TOKEN", "from-env")
    assert publisher_token(None, path) == "from-env"
    for text, message in [
        ("{", "not JSON"),
        ('{"tokens": 3}', "needs a 'tokens' list"),
        ('{"tokens": [{"token": "short", "role": "agent"}]}', r"16\+ characters"),
        ('{"tokens": [{"token": "' + "x" * 20 + '", "role": "boss"}]}', "unknown role"),
    ]:
        path.write_text(text)
        with pytest.raises(TokensFileError, match=message):
            Tokens.load(path)
    with pytest.raises(TokensFileError, match="does not exist"):
        Tokens.load(tmp_path / "missing.json")
