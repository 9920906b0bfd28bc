"""Running the real `heatmon` command in a subprocess, and the tests' other process helpers."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import queue
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

HEATMON = [sys.executable, "-m", "monitor"]

T = TypeVar("T")


@dataclass
class Result:
    """A finished `heatmon` run: exit code, stdout, stderr, and stdout read as JSON events."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def code(self) -> int:
        return self.returncode

    @functools.cached_property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def of(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind and all(e.get(k) == v for k, v in match.items())]


def error_lines(err: str) -> list[str]:
    """The lines of stderr that report an error (argparse's `heatmon X: error:` or ours): what a
    test checks, so that a log line beside them (a busy machine's, a debug mode's) cannot break it."""
    return [line for line in err.splitlines() if ": error: " in line]


def heatmon(
    *args: str, stdin: bytes | str | None = None, data: Path | None = None, timeout: float = 300
) -> Result:
    """Run `python -m monitor ARGS` (with `HEATMON_DATA=data` when given) to its end."""
    env = {**os.environ, "HEATMON_DATA": str(data)} if data is not None else None
    raw = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run([*HEATMON, *args], input=raw, capture_output=True, timeout=timeout, env=env)
    return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def run(coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
    """Run a test's coroutine to its end; a hang fails it (generously: machines get busy)."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def free_port() -> int:
    """A local TCP port nothing listens on (bound, then released): for a hub to start on, or
    for a hub that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_media_ports(span: int = 8) -> int:
    """An even base port with `span` UDP ports free from it, for a sipp phone's RTP (audio and
    video, per call). Chosen at random below the kernel's ephemeral range (32768 on), where
    the outgoing connections of everything else on a busy machine cannot take them, and below
    the tests' Asterisk RTP range (20000 on)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(12_000, 20_000 - span, 2)
        sockets = []
        try:
            for port in range(base, base + span):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(s)
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
        return base
    raise RuntimeError("no free UDP ports for RTP between 12000 and 20000")


LISTENING = re.compile(r"hub listening on ws://127\.0\.0\.1:(\d+)/ws")


class HubProcess:
    """`heatmon hub --data DIR` as a child process; its port read from what it prints, and
    everything it printed until then kept in `printed`."""

    def __init__(self, data: Path, port: int = 0, *extra: str) -> None:
        self.data = data
        self.printed: list[str] = []
        self.log = data.parent / f"{data.name}-hub.log"
        log = self.log.open("a")
        self.proc = subprocess.Popen(
            [*HEATMON, "hub", "--data", str(data), "--port", str(port), "--quiet", *extra],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        log.close()
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(lines,), daemon=True).start()
        deadline = time.monotonic() + 15
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.proc.kill()
                raise AssertionError(f"the hub did not start: {self.log.read_text()}") from None
            self.printed.append(line)
            found = LISTENING.search(line)
            if found:
                self.port = int(found.group(1))
                return

    def _pump(self, lines: queue.Queue[str]) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # drained to the end, so the hub never blocks on its stdout
            lines.put(line)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def kill_9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
