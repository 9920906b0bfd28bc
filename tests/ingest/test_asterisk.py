"""Calls through a real Asterisk 22 into `heatmon ingest` over AudioSocket, driven by ARI.

sipp places each call (caller 01012345678) to Asterisk, which runs the dialplan of
docs/asterisk.md: Stasis(heatmon), then Dial(PJSIP/alice), answered by a second sipp. Both
phones send Korean speech as RTP. heatmon's ARI controller forks the caller's voice and what
the caller hears (the agent) to its AudioSocket listener; the events go to a real hub (and
its store); real Vosk decodes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import rtp, sipp
from support.asterisk import Asterisk
from support.ingest import HubProcess, Service, speakers_of_words
from support.ko_speech import conversation, dialogue, model_dir
from support.process import free_port, heatmon

from monitor.store import CallFilter, Store

pytestmark = pytest.mark.slow

RATE = 8000
CALLER, CALLER_NAME = "01012345678", "Kim Minjun"
Spans = list[tuple[str, float, float]]


@pytest.fixture(scope="module")
def call_audio(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Spans, float]:
    """A 20 s two-party call as two RTP pcaps (caller, agent) and its true spans."""
    seconds = 20.0
    frames, spans = conversation(dialogue(2), RATE, seconds, seed=5)
    out = tmp_path_factory.mktemp("rtp")
    caller = rtp.write_pcap(out / "caller.pcap", rtp.mulaw(frames[:, 0]))
    agent = rtp.write_pcap(out / "agent.pcap", rtp.mulaw(frames[:, 1]))
    return caller, agent, spans, seconds


def ingest(asterisk: Asterisk, hub: HubProcess, *extra: str) -> Service:
    """`heatmon ingest --audiosocket ... --ari ...` publishing to the hub, once ARI is connected."""
    service = Service(
        "--audiosocket", "127.0.0.1:0", "--ari", asterisk.ari_url, "--hub", hub.url,
        "--hub-token", hub.tokens.first("publisher").token, *extra,
        env={"HEATMON_ARI_PASSWORD": asterisk.ari_password},
    )  # fmt: skip
    if not service.wait_for(lambda: "ari: connected" in service.stderr, 60):
        service.stop()
        raise AssertionError(f"heatmon ingest did not connect to ARI:\n{service.stderr}")
    return service


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    """A real `heatmon hub` with its store in tmp_path."""
    process = HubProcess(tmp_path / "hub", free_port())
    try:
        yield process
    finally:
        process.stop()


def place_call(
    asterisk: Asterisk,
    workdir: Path,
    caller_pcap: Path,
    agent_pcap: Path,
    hangup_after: float,
    calls: int = 1,
    ring: float = 0.0,
) -> None:
    """Calls from the caller's phone to the agent's through Asterisk; both phones finish cleanly."""
    agent = sipp.agent_phone(workdir / "agent", agent_pcap, asterisk.agents[0].port, calls, ring)
    try:
        caller = sipp.call(workdir / "caller", asterisk.sip_port, "100", CALLER, CALLER_NAME, caller_pcap,
                           hangup_after, calls)  # fmt: skip
        try:
            assert caller.wait(120) == 0, caller.errors
        finally:
            caller.stop()
        assert agent.wait(60) == 0, agent.errors
    finally:
        agent.stop()


def only_call(service: Service, timeout: float = 120.0) -> str:
    """The id of the one call heatmon took, once its call_ended is out."""
    assert service.wait_for(lambda: len(service.calls()) == 1 and service.ended(next(iter(service.calls()))),
                            timeout), service.stderr  # fmt: skip
    (call,) = service.calls()
    return call


def test_a_call_through_asterisk_gives_both_parties_with_the_callers_number_and_agent(
    asterisk: Asterisk, hub: HubProcess, call_audio: tuple[Path, Path, Spans, float], tmp_path: Path
) -> None:
    """A sipp call through Asterisk, answered after ringing, is one call: call_started with the
    caller's number and name and the agent from the dialplan, turns of both parties each on its
    own speech (the ringing's digital silence does not hide the line's noise), call_ended by
    hang-up; the hub's store has it under the caller's number."""
    caller_pcap, agent_pcap, spans, seconds = call_audio
    ring = 2.5
    with ingest(asterisk, hub) as service:
        place_call(asterisk, tmp_path / "phones", caller_pcap, agent_pcap, seconds + 0.5, ring=ring)
        call = only_call(service)
        assert service.stop() == 0, service.stderr
    events = service.of(call)
    started = events[0]
    assert started["type"] == "call_started" and started["agent"] == "alice"
    assert started["caller_number"] == CALLER and started["caller_name"] == CALLER_NAME
    assert started["source"].startswith("asterisk PJSIP/caller-")
    turns = [e for e in events if e["type"] == "turn"]
    # On a failure, what the service said of the legs and how the call ended tell where audio went.
    told = [line for line in service.stderr.splitlines() if "call" in line or "leg" in line][-30:]
    assert {t["speaker"] for t in turns} == {"caller", "agent"}, (turns, events[-1], told)
    # call time starts when the call enters Stasis: the phones' audio starts after the ringing
    answered = [(who, start + ring, end + ring) for who, start, end in spans]
    for turn in turns:
        assert speakers_of_words(turn, answered, slack=0.6) == {turn["speaker"]}, (turn, answered)
    assert len(turns) >= 4
    assert events[-1]["type"] == "call_ended" and events[-1]["summary"]["ended_by"] == "hangup"
    assert "dropped_audio_blocks" not in events[-1]["summary"]
    log = service.stderr
    assert f"is the caller of call {call}" in log and f"is the agent of call {call}" in log
    assert "Traceback" not in log
    hub.stop()
    store = Store.open(hub.data / "heatmon.sqlite3", create=False)
    try:
        (row,) = store.list_calls(CallFilter(caller=CALLER))
        detail = store.call_detail(row.ref)
    finally:
        store.close()
    assert row.id == call and row.agent == "alice" and row.caller_name == CALLER_NAME and row.ended
    assert len(detail["turns"]) == len(turns)


def test_two_calls_at_once_are_two_calls_each_with_both_parties(
    asterisk: Asterisk, hub: HubProcess, call_audio: tuple[Path, Path, Spans, float], tmp_path: Path
) -> None:
    """Two calls through Asterisk at the same time are two calls on heatmon's side, each with
    its own caller and agent turns, and both end by hang-up."""
    caller_pcap, agent_pcap, spans, seconds = call_audio
    with ingest(asterisk, hub) as service:
        place_call(asterisk, tmp_path / "phones", caller_pcap, agent_pcap, seconds + 0.5, calls=2)

        def both_ended() -> bool:
            return len(service.calls()) == 2 and all(map(service.ended, service.calls()))

        assert service.wait_for(both_ended, 120), service.stderr
    assert len(service.calls()) == 2
    for call in service.calls():
        events = service.of(call)
        turns = [e for e in events if e["type"] == "turn"]
        assert {t["speaker"] for t in turns} == {"caller", "agent"}, (call, turns)
        for turn in turns:
            assert speakers_of_words(turn, spans, slack=0.6) == {turn["speaker"]}, (turn, spans)
        assert events[-1]["type"] == "call_ended" and events[-1]["summary"]["ended_by"] == "hangup"


def test_hanging_up_mid_sentence_keeps_the_last_words(
    asterisk: Asterisk, hub: HubProcess, call_audio: tuple[Path, Path, Spans, float], tmp_path: Path
) -> None:
    """The caller hangs up (BYE) in the middle of a sentence: the words said before it still
    become the caller's last turn, and the call ends by hang-up."""
    caller_pcap, agent_pcap, spans, _ = call_audio
    _, start, end = [s for s in spans if s[0] == "caller"][-1]
    cut = start + (end - start) * 0.7
    with ingest(asterisk, hub) as service:
        place_call(asterisk, tmp_path / "phones", caller_pcap, agent_pcap, cut)
        call = only_call(service)
    events = service.of(call)
    caller_turns = [e for e in events if e["type"] == "turn" and e["speaker"] == "caller"]
    assert caller_turns, ([e["type"] for e in events], events[-1], service.stderr[-4000:])
    last = caller_turns[-1]
    assert last["start"] >= start - 0.6 and last["end"] <= cut + 0.6, (last, start, cut)
    assert events[-1]["type"] == "call_ended" and events[-1]["summary"]["ended_by"] == "hangup"


def test_asterisk_outside_the_allow_list_is_refused_and_the_call_goes_on(
    asterisk: Asterisk, hub: HubProcess, call_audio: tuple[Path, Path, Spans, float], tmp_path: Path
) -> None:
    """With --allow naming another network, Asterisk's AudioSocket connections are refused and
    logged; the phone call itself completes, and heatmon's call ends with no turns."""
    caller_pcap, agent_pcap, _, _ = call_audio
    with ingest(asterisk, hub, "--allow", "10.9.0.0/16") as service:
        place_call(asterisk, tmp_path / "phones", caller_pcap, agent_pcap, 3.0)
        call = only_call(service)
        assert service.stop() == 0, service.stderr
    events = service.of(call)
    assert [e for e in events if e["type"] == "turn"] == []
    assert events[-1]["type"] == "call_ended" and events[-1]["summary"]["ended_by"] == "connection_lost"
    refusals = [line for line in service.stderr.splitlines() if "audiosocket: refused 127.0.0.1" in line]
    assert len(refusals) == 2 and all("allow-list" in line for line in refusals), service.stderr
    assert "Traceback" not in service.stderr


def test_a_wrong_ari_password_is_one_clear_line(asterisk: Asterisk) -> None:
    """ARI refusing heatmon's user stops `heatmon ingest` at start with one line naming the user."""
    result = heatmon(
        "ingest", "--audiosocket", f"127.0.0.1:{free_port()}", "--ari", asterisk.ari_url,
        "--ari-password", "not-the-password", "--model", str(model_dir()),
    )  # fmt: skip
    assert result.code == 2, result.stderr
    assert "refused user 'heatmon'" in result.stderr and "Traceback" not in result.stderr
