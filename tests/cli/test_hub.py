"""`heatmon hub` and `heatmon token` as a user runs them: real subprocesses, a real port."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from support.hub import started, turn
from support.process import HEATMON, free_port, heatmon

from monitor.hub.publisher import Publisher
from monitor.store import Store


async def publish_one_call(url: str, token: str) -> bool:
    async with Publisher(url, token) as pub:
        pub.publish(started("c1", "alice"))
        pub.publish(turn("c1", "where is my refund"))
        return await pub.flush(timeout=30)


def test_hub_creates_tokens_prints_urls_serves_stores_and_stops(tmp_path: Path):
    """First start creates a 0600 tokens file, prints no token but how to list the page links
    (`token list --show` gives them, the token in the fragment),
    serves the floor page, stores what a publisher sends before acking it, logs nothing but
    warnings with --quiet, and stops on SIGINT."""
    port = free_port()
    env = {**os.environ, "HEATMON_DATA": str(tmp_path)}
    proc = subprocess.Popen(
        [*HEATMON, "hub", "--port", str(port), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        lines = []
        assert proc.stdout is not None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith("  publishers:"):
                break
        out = "".join(lines)
        tokens_file = tmp_path / "tokens.json"
        assert f"tokens: {tokens_file} (created with fresh tokens)" in out
        assert (tokens_file.stat().st_mode & 0o777) == 0o600
        tokens = {g["role"]: g["token"] for g in json.loads(tokens_file.read_text())["tokens"]}
        assert not any(token in out for token in tokens.values())  # what it prints goes to a journal
        assert f"heatmon token list --show --url http://127.0.0.1:{port}" in out
        links = heatmon("token", "list", "--show", "--url", f"http://127.0.0.1:{port}", data=tmp_path).stdout
        assert f"http://127.0.0.1:{port}/floor#token={tokens['supervisor']}" in links
        assert f"http://127.0.0.1:{port}/agent#token={tokens['agent']}" in links
        assert f"call store: {tmp_path / 'heatmon.sqlite3'}" in out
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/floor", timeout=30) as response:
            assert response.status == 200 and response.headers["Content-Type"].startswith("text/html")
        assert asyncio.run(publish_one_call(f"ws://127.0.0.1:{port}", tokens["publisher"]))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert proc.stderr is not None
        logged = proc.stderr.read()
        assert "connected from" not in logged and "GET /" not in logged, logged  # --quiet: warnings only
        store = Store.open(tmp_path / "heatmon.sqlite3", create=False)
        try:
            assert [c.id for c in store.list_calls()] == ["c1"]
        finally:
            store.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_hub_on_a_taken_port_is_a_one_line_error(tmp_path: Path):
    """A port in use gives one clear error line and exit code 2, no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = heatmon("hub", "--port", str(taken.getsockname()[1]), data=tmp_path)
    assert result.returncode == 2
    assert "heatmon: error: cannot listen on 127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr


def test_token_add_and_list(tmp_path: Path):
    """`token add` appends a fresh agent token; `token list` masks tokens unless --show."""
    result = heatmon("token", "add", "--role", "agent", "--agent", "alice", data=tmp_path)
    assert result.returncode == 0, result.stderr
    grants = json.loads((tmp_path / "tokens.json").read_text())["tokens"]
    alice = grants[-1]
    assert alice["role"] == "agent" and alice["name"] == "alice"
    assert f"/agent#token={alice['token']}" in result.stdout
    listed = heatmon("token", "list", data=tmp_path)
    assert "alice" in listed.stdout and alice["token"] not in listed.stdout
    assert alice["token"] in heatmon("token", "list", "--show", data=tmp_path).stdout


def test_token_commands_take_the_data_directory_of_a_hub(tmp_path: Path):
    """`token add/list --data DIR` use DIR/tokens.json, the file of `heatmon hub --data DIR`."""
    hub_data = tmp_path / "hub-data"
    added = heatmon(
        "token", "add", "--role", "supervisor", "--name", "lead", "--data", str(hub_data), data=tmp_path
    )
    assert added.returncode == 0, added.stderr
    assert [g["name"] for g in json.loads((hub_data / "tokens.json").read_text())["tokens"]][-1] == "lead"
    assert not (tmp_path / "tokens.json").exists()
    assert "lead" in heatmon("token", "list", "--data", str(hub_data), data=tmp_path).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("token", "add", "--role", "agent"), "--role agent needs --agent NAME"),
        (("token", "add", "--role", "supervisor", "--agent", "x"), "--agent is only for --role agent"),
        (("hub", "--keyfile", "k.pem"), "--keyfile needs --certfile"),
        (("hub", "--certfile", "/nonexistent.pem"), "cannot load TLS certificate"),
        (("hub", "--no-store", "--retain-days", "5"), "--retain-days needs the store"),
        (("hub", "--retain-days", "-1"), "argument --retain-days: must be a number of days, 0 or more"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path: Path, args: tuple[str, ...], message: str):
    """Wrong combinations of options say what is wrong, exit 2, no traceback."""
    result = heatmon(*args, data=tmp_path)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_bad_tokens_file_is_a_one_line_error(tmp_path: Path):
    """A broken tokens file names the file and the problem."""
    (tmp_path / "tokens.json").write_text("{broken")
    result = heatmon("token", "list", data=tmp_path)
    assert result.returncode == 2 and "is not JSON" in result.stderr and "Traceback" not in result.stderr
