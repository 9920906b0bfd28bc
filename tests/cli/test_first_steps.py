"""What a new user meets first: a hub URL checked at once, and the demo's agent links."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from support.process import error_lines, free_port, heatmon

from monitor.cli.demo import agents_hottest_first
from monitor.demo.simulation import demo_agents, load_demo_calls, pick_agent
from monitor.paths import BUNDLED_MODELS

CALL = BUNDLED_MODELS / "demo_calls" / "heat-deescalation.jsonl"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"127.0.0.1:{free_port()}", "did you mean ws://127.0.0.1:"),
        ("localhost:8765", "did you mean ws://localhost:8765"),
        ("ws://[bad", "is not a URL"),
        ("ws://127.0.0.1:notaport", "is not a URL"),
        ("ftp://127.0.0.1:8765", "starts with ws:// or wss://"),
        ("ws://:8765", "names no host"),
    ],
)
def test_a_bad_hub_url_is_one_line_at_once(url: str, says: str) -> None:
    """`replay --hub URL` with no scheme, a broken bracket, a bad port or no host exits 2 with
    one line saying what a hub URL looks like, before anything is replayed."""
    result = heatmon("replay", "--fast", "--hub", url, str(CALL), timeout=60)
    assert result.code == 2, result.stderr
    assert result.stdout == ""  # refused before the first event
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and "Traceback" not in result.stderr and says in lines[0], result.stderr


def test_the_demo_lists_every_agent_with_the_hottest_call_first() -> None:
    """The demo's agent links cover every demo agent, in order of their hottest call's peak heat."""
    calls = load_demo_calls()
    order = agents_hottest_first(calls)
    assert sorted(order) == sorted({c.agent for c in calls})
    result = heatmon(
        "replay", "--fast", *(str(BUNDLED_MODELS / "demo_calls" / f"{c.name}.jsonl") for c in calls)
    )
    peaks: dict[str, float] = {}
    agent_of = {c.name: c.agent for c in calls}
    for ended in result.of("call_ended"):
        agent = agent_of[ended["call"]]
        peaks[agent] = max(peaks.get(agent, 0.0), ended["summary"]["peak_heat"])
    assert [peaks[a] for a in order] == sorted(peaks.values(), reverse=True)


def test_the_readme_says_the_demo_script_passes_its_options_on() -> None:
    """The README's first steps say `scripts/demo` hands its options to `heatmon demo`."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert "scripts/demo --" in readme and "passes its options" in readme


@pytest.mark.parametrize("lanes", [1, 4, 8, 12, 20])
def test_the_demo_links_every_agent_who_can_take_a_call(lanes: int) -> None:
    """With `--calls N`, the demo's links cover the spare agents who take calls over when a call's
    own agent is busy (8 calls of 5 agents put amara, daniel and lena on the board): every agent
    `pick_agent` hands a call to in a long random run of starts and ends has a link."""
    calls = load_demo_calls()
    links = agents_hottest_first(calls, lanes=lanes)
    assert len(links) == len(set(links))
    pool, busy, given = demo_agents(calls), set[str](), set[str]()
    rng = random.Random(lanes)
    lines: list[str] = []
    for _ in range(5_000):
        if len(lines) < lanes and (not lines or rng.random() < 0.6):
            agent = pick_agent(rng.choice(calls).agent, busy, pool)
            lines.append(agent)
            busy.add(agent)
            given.add(agent)
        else:
            busy.discard(lines.pop(rng.randrange(len(lines))))
    assert given <= set(links), given - set(links)
    if lanes == 8:
        assert {"amara", "daniel", "lena"} <= given
