"""heatmon as a user installs it: a built wheel in a fresh virtual environment, run from a
directory outside the checkout, finds its data and serves its pages."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import sysconfig
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest
from support.process import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # builds a wheel and a virtual environment


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with heatmon's wheel in it; its dependencies are taken from the test venv
    (found through a path file) so the test needs no network."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(work),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = work.glob("heatmon-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for folder in ("models", "dashboard"):
        shipped = {p.relative_to(ROOT / folder).as_posix() for p in (ROOT / folder).rglob("*") if p.is_file()}
        inside = {
            n.removeprefix(f"monitor/bundled/{folder}/")
            for n in names
            if n.startswith(f"monitor/bundled/{folder}/")
        }
        assert shipped <= inside, f"the wheel lacks {sorted(shipped - inside)[:5]} of {folder}/"
    env = work / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # The test venv's packages (vosk, websockets, ...) but not its editable heatmon: a .pth in a
    # plain folder is not read, so only the wheel's `monitor` can be found.
    (Path(purelib) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
    return env


def test_the_installed_wheel_replays_a_bundled_call_from_anywhere(installed: Path, tmp_path: Path) -> None:
    """`heatmon replay` of a bundled demo call scores, heats and coaches it (lexicon, playbook and
    calls all come from the installed package), run from a folder outside the checkout."""
    python = installed / "bin" / "python"
    where = subprocess.run(
        [str(python), "-c", "import monitor.paths as p; print(p.BUNDLED_MODELS)"],
        check=True, capture_output=True, text=True, cwd=tmp_path,
    ).stdout.strip()  # fmt: skip
    assert not where.startswith(str(ROOT)), where
    call = Path(where) / "demo_calls" / "heat-deescalation.jsonl"
    done = subprocess.run(
        [str(installed / "bin" / "heatmon"), "replay", "--fast", str(call)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    kinds = {json.loads(line)["type"] for line in done.stdout.splitlines()}
    assert {"call_started", "turn", "heat", "coach", "call_ended"} <= kinds


def test_the_installed_wheel_serves_the_floor(installed: Path, tmp_path: Path) -> None:
    """`heatmon hub` from the wheel serves the floor page from the installed dashboard."""
    port = free_port()
    hub = subprocess.Popen(
        [str(installed / "bin" / "heatmon"), "hub", "--port", str(port), "--data", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert hub.stdout is not None
        for line in hub.stdout:
            if "hub listening on" in line:
                break
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/floor", timeout=30) as response:
            page = response.read().decode()
        assert response.status == 200 and "<title>" in page
    finally:
        hub.send_signal(signal.SIGINT)
        hub.communicate(timeout=60)
