"""bench/hub_hostile.py, small: a real `heatmon hub` with its store under hostile clients, kill -9 and
SIGTERM loses nothing it acknowledged and prints no traceback; and the bench's judge catches a
planted defect in its figures."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "hub_hostile.py"


def bench_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hub_hostile", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["hub_hostile"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("hostile") / "figures.json"
    args = ["--calls", "16", "--viewers", "2", "--duration", "8", "--json", str(out)]
    run = subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=400)
    assert out.exists(), run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    figures: dict[str, Any] = json.loads(out.read_text())
    figures["_returncode"], figures["_stdout"] = run.returncode, run.stdout
    return figures


@pytest.mark.slow
def test_the_bench_finds_the_hub_loses_nothing_and_refuses_every_kind(figures: dict[str, Any]) -> None:
    """Every kind of hostile input is tried and refused; nothing acknowledged is lost from the store,
    no viewer misses a turn outside the restarts, no hostile text reaches them, no traceback."""
    assert figures["_returncode"] == 0, figures["_stdout"]
    assert all(sum(answers.values()) > 0 for answers in figures["hostile"].values()), figures["hostile"]
    assert figures["all_acked"] and figures["stored"]["turns_lost"] == 0
    assert figures["stored"]["turns"] == figures["turns_published"] > 0
    assert all(v["lost"] == 0 and v["hostile_seen"] == 0 for v in figures["viewers_figures"])
    assert figures["tracebacks"] == 0
    assert figures["faults"][0].startswith("kill -9") and figures["final_sigterm_exit"] == 0
    assert "PASS  Traceback lines on the hub's stderr: 0" in figures["_stdout"]


def planted(fig: dict[str, Any], change: str) -> dict[str, Any]:
    bad = copy.deepcopy(fig)
    if change == "accepted":
        bad["hostile"]["nan"] = {"accepted": 1}
    elif change == "store_failed":
        bad["hostile"]["unstorable"] = {"error: refused": 1, "closed 1011 store failed": 1}
    elif change == "untried":
        bad["hostile"]["deep_json"] = {}
    elif change == "lost":
        bad["stored"]["turns_lost"] = 1
    elif change == "viewer":
        bad["viewers_figures"][0]["lost"] = 2
    elif change == "marker":
        bad["viewers_figures"][0]["hostile_seen"] = 1
    elif change == "traceback":
        bad["tracebacks"] = 3
    elif change == "floor":
        bad["pages"]["/api/floor"] = False
    return bad


@pytest.mark.parametrize(
    "change", ["accepted", "store_failed", "untried", "lost", "viewer", "marker", "traceback", "floor"]
)
def test_a_planted_defect_fails_the_bench(change: str) -> None:
    """Figures with one defect planted (a NaN accepted, a publisher cut off for an event the store
    could not write, a kind never tried, a stored turn lost, a viewer's turn lost, hostile text
    seen, a traceback, /api/floor down) give a FAIL line."""
    bench = bench_module()
    good: dict[str, Any] = {
        "hostile": {kind: {answers[0]: 1} for kind, answers in bench.EXPECTED.items()},
        "stored": {"turns_lost": 0, "alerts_lost": 0, "calls_lost": 0, "calls_not_ended": 0,
                   "hostile_rows": 0},
        "all_acked": True, "unacked": 0, "dropped": 0, "tracebacks": 0, "final_sigterm_exit": 0,
        "pages": {"/api/floor": True, "ws supervisor supervisor1": True},
        "viewers_figures": [{"lost": 0, "hostile_seen": 0, "non_standard_json": 0, "replays": 2}],
    }  # fmt: skip
    good["hostile"]["wrong_token"] = {"HTTP 429": 1}
    assert all(passed for passed, _ in bench.verdicts(good)), bench.verdicts(good)
    assert any(not passed for passed, _ in bench.verdicts(planted(good, change)))
