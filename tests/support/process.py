"""Running the real `heatmon` command in a subprocess, and the tests' other process helpers."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import socket
import subprocess
import sys
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
