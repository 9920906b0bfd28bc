"""Helpers for the ingest tests: the Korean call as telephone audio, and checks on its events."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from support.ko_speech import model_dir, write_wav

Spans = list[tuple[str, float, float]]


def speakers_of_words(turn: dict[str, Any], spans: Spans, slack: float = 0.3) -> set[str]:
    """Who really spoke at the middle of each of this turn's words."""
    found = set()
    for word in turn["words"]:
        middle = (word["start"] + word["end"]) / 2
        found |= {who for who, s, e in spans if s - slack <= middle <= e + slack}
    return found


def check_turns(events: list[dict[str, Any]], spans: Spans, slack: float = 0.3) -> list[dict[str, Any]]:
    """The call's turns: both parties heard, each turn on its own party's speech."""
    turns = [e for e in events if e["type"] == "turn"]
    assert {t["speaker"] for t in turns} == {"caller", "agent"}, turns
    for turn in turns:
        assert turn["text"].strip()
        assert speakers_of_words(turn, spans, slack) == {turn["speaker"]}, (turn, spans)
    return turns


def frames_of(call: np.ndarray, party: str, start: float, seconds: float, rate: int = 8000) -> bytes:
    """One party's int16 PCM from a two-column call."""
    column = 0 if party == "caller" else 1
    first = int(start * rate)
    return np.ascontiguousarray(call[first : first + int(seconds * rate), column]).tobytes()


# -- a real `heatmon ingest` (and hub) as subprocesses ------------------------------------

HEATMON = [sys.executable, "-m", "monitor"]
_LISTENING = re.compile(r"heatmon: (\w+): listening on (\S+):(\d+)")


class QuietRecognizer:
    """A recogniser that hears nothing."""

    def SetWords(self, on: bool) -> None: ...

    def AcceptWaveform(self, pcm: bytes) -> bool:
        return False

    def PartialResult(self) -> str:
        return json.dumps({"partial": ""})

    def FinalResult(self) -> str:
        return json.dumps({"text": ""})


class QuietModel:
    """Stands in for the speech model where only the calls' ways in and out are tested (the
    desk, the listeners), never for speech."""

    def recognizer(self, rate: int) -> QuietRecognizer:
        return QuietRecognizer()

    def lend(self, rate: int) -> tuple[QuietRecognizer, float]:
        return QuietRecognizer(), 0.0

    def give_back(self, rec: QuietRecognizer, rate: int, decoded: float) -> None:
        pass


class Service:
    """A `heatmon ingest` subprocess: its listeners' ports, its events and its log, read as
    they come (threads), stopped with SIGTERM."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, ready: float = 60.0) -> None:
        full_env = {**os.environ, "HEATMON_MODEL": str(model_dir()), **(env or {})}
        # The guard that refuses calls while decoding is behind depends on how busy the machine
        # is; it has a test of its own, and here a busy CI machine must not refuse a test's call.
        guard = [] if "--max-behind" in args else ["--max-behind", "0"]
        self.proc = subprocess.Popen(
            [*HEATMON, "ingest", *guard, *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env,
        )  # fmt: skip
        self.events: list[dict[str, Any]] = []
        self.log: list[str] = []
        self.ports: dict[str, int] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._read_events, daemon=True).start()
        threading.Thread(target=self._read_log, daemon=True).start()
        wanted = {a[2:] for a in args if a in ("--twilio", "--siprec", "--audiosocket")}
        self.wait_for(lambda: wanted <= set(self.ports) or self.proc.poll() is not None, ready)
        if not wanted <= set(self.ports):
            self.stop()
            raise AssertionError(f"heatmon ingest did not start: {self.stderr}")

    def _read_events(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip():
                with self._lock:
                    self.events.append(json.loads(line))

    def _read_log(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._lock:
                self.log.append(line)
            found = _LISTENING.search(line)
            if found:
                self.ports[found.group(1)] = int(found.group(3))

    @property
    def stderr(self) -> str:
        with self._lock:
            return "".join(self.log)

    def of(self, call: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events if e.get("call") == call]

    def calls(self) -> set[str]:
        with self._lock:
            return {e["call"] for e in self.events if e["type"] == "call_started"}

    def ended(self, call: str) -> bool:
        return any(e["type"] == "call_ended" for e in self.of(call))

    @staticmethod
    def wait_for(condition: Any, timeout: float = 180.0) -> bool:
        """Poll `condition` until it holds or `timeout` passes; return whether it held."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return bool(condition())

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then wait for the exit (killed if it hangs); the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        time.sleep(0.1)  # the reader threads take the last lines
        return int(self.proc.returncode)

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class HubProcess:
    """A real `heatmon hub` on a free port with its own data directory and tokens."""

    def __init__(self, data: Path, port: int) -> None:
        from support.hub import TOKENS

        data.mkdir(parents=True, exist_ok=True)
        self.tokens_file = data / "tokens.json"
        TOKENS.save(self.tokens_file)
        self.tokens = TOKENS
        self.data = data
        self.url = f"ws://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [*HEATMON, "hub", "--port", str(port), "--data", str(data), "--quiet"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

        def up() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                return self.proc.poll() is not None

        Service.wait_for(up, 30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def write_party_wavs(directory: Path, call: np.ndarray, rate: int = 8000) -> tuple[Path, Path]:
    """The caller's and the agent's side of a call as mono WAVs (what streamdouble streams)."""
    return (
        write_wav(directory / "caller.wav", np.ascontiguousarray(call[:, 0]), rate),
        write_wav(directory / "agent.wav", np.ascontiguousarray(call[:, 1]), rate),
    )


def streamdouble(
    url: str, caller: Path, agent: Path, *params: str, extra: tuple[str, ...] = ()
) -> subprocess.Popen[str]:
    """A Media Streams fork of both tracks from streamdouble (the real peer), started."""
    args = ["--fork", "--track", "both", "--agent-audio", str(agent), "--allow-no-audio", "--quiet"]
    for param in params:
        args += ["--param", param]
    program = str(Path(sys.executable).parent / "streamdouble")
    return subprocess.Popen(
        [program, "call", url, "--audio", str(caller), *args, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


# -- SIPREC peers: sipp (SIP and the caller's RTP) and GStreamer (the agent's RTP) ------------

SIPREC_DIR = Path(__file__).parents[1] / "ingest" / "siprec"


def free_udp_port() -> int:
    """A local UDP port nothing is bound to (bound, then released), and the one after it free too."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a:
            a.bind(("127.0.0.1", 0))
            port = int(a.getsockname()[1])
            if port > 65000:
                continue
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                    b.bind(("127.0.0.1", port + 2))
            except OSError:
                continue
            return port
    raise AssertionError("no free UDP port pair")


class SiprecCall:
    """One recorded call placed by sipp: the scenario filled in, sipp started, GStreamer's
    agent stream started by the scenario; `finish()` waits for sipp and stops GStreamer."""

    def __init__(
        self,
        directory: Path,
        port: int,
        call: np.ndarray,
        *,
        hangup: float,
        caller: str = "+15551230001",
        caller_name: str = "Kim",
        agent: str = "alice",
        caller_label: str = "1",
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        caller_wav, agent_wav = write_party_wavs(directory, call)
        caller_raw = directory / "caller.ulaw"
        subprocess.run(["sox", str(caller_wav), "-t", "ul", "-r", "8000", str(caller_raw)], check=True)
        agent_label = "2" if caller_label == "1" else "1"
        # the label of the first m= line (sipp's stream) names who is on it
        first_audio, second_audio = (caller_raw, agent_wav) if caller_label == "1" else (None, None)
        if first_audio is None:  # the metadata says the first stream is the agent's
            agent_raw = directory / "agent.ulaw"
            subprocess.run(["sox", str(agent_wav), "-t", "ul", "-r", "8000", str(agent_raw)], check=True)
            first_audio, second_audio = agent_raw, caller_wav
        text = (SIPREC_DIR / "call.xml").read_text()
        for key, value in {
            "@CALLER@": caller, "@CALLER_NAME@": caller_name, "@AGENT@": agent,
            "@CALLER_LABEL@": caller_label, "@AGENT_LABEL@": agent_label,
            "@CALLER_AUDIO@": str(first_audio), "@AGENT_COMMAND@": str(SIPREC_DIR / "agent_rtp.sh"),
            "@HANGUP_MS@": str(int(hangup * 1000)),
        }.items():  # fmt: skip
            text = text.replace(key, value)
        scenario = directory / "call.xml"
        scenario.write_text(text)
        self.pidfile = directory / "gst.pid"
        local = free_udp_port()
        env = {**os.environ, "AGENT_WAV": str(second_audio), "AGENT_PIDFILE": str(self.pidfile)}
        self.proc = subprocess.Popen(
            ["sipp", "-sf", str(scenario), "-m", "1", "-i", "127.0.0.1",
             "-p", str(local), "-mp", str(local + 2), "-nostdin", "-timeout", "90s", "-timeout_error",
             f"127.0.0.1:{port}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=directory, env=env,
        )  # fmt: skip

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        finally:
            self.stop_gstreamer()
        return int(self.proc.returncode), out[-3000:]

    def stop_gstreamer(self) -> None:
        if self.pidfile.exists():
            text = self.pidfile.read_text().strip()
            if text.isdigit():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(text), signal.SIGTERM)
