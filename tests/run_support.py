"""Running the real `heatmon` command in a subprocess and reading its JSON events."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from dataclasses import dataclass
from typing import Any


@dataclass
class Result:
    code: int
    events: list[dict[str, Any]]
    stderr: str

    def of(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind and all(e.get(k) == v for k, v in match.items())]


def heatmon(*args: str, stdin: bytes | None = None, timeout: float = 300) -> Result:
    """Run `python -m monitor ARGS`; parse stdout as JSON lines."""
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", *args], input=stdin, capture_output=True, timeout=timeout
    )
    lines = proc.stdout.decode().splitlines()
    return Result(proc.returncode, [json.loads(line) for line in lines if line.strip()], proc.stderr.decode())


def free_port() -> int:
    """A local TCP port nothing listens on (bound, then released): for a hub to start on, or
    for a hub that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
