"""`heatmon demo`: a hub and a floor of simulated calls in one command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from monitor.analysis.lexicon import Lexicon
from monitor.analysis.playbook import Playbook
from monitor.cli.common import add_data_options, add_subparser, load_data
from monitor.cli.hub import listening, page_url
from monitor.demo.simulation import (
    DemoCall,
    DemoFloor,
    DemoOptions,
    Player,
    TranscriptPlayer,
    demo_agents,
    floor_agents,
    load_demo_calls,
)
from monitor.errors import InputError, ModelError
from monitor.hub.auth import Tokens
from monitor.hub.config import HubConfig
from monitor.hub.publisher import Publisher
from monitor.paths import data_dir
from monitor.review.history import register_history
from monitor.store import StoreReader, StoreSink, db_path
from monitor.transcripts.replay import Replay

log = logging.getLogger("heatmon")

DESCRIPTION = """\
Start a hub and a floor of simulated calls, and print the supervisor board's
URL and every agent's view URL, the agent with the hottest call first (the
token travels in the URL fragment).
The calls are the bundled demo calls (billing dispute, outage, a caller who
wants a supervisor, an abusive caller, calm calls, a H.E.A.T. de-escalation,
an escalation), started a few seconds apart and replaced as they end, so the
board stays alive. Runs until Ctrl-C or --duration.

Where an English Vosk model is found (`heatmon models pull en-us`), the calls
are spoken by espeak-ng on two channels and transcribed live by Vosk (audio
mode, real time); otherwise their transcripts are replayed through the same
analysis (transcript mode). Each tile says which. Every call is kept for
review (the board's "Call history", or `heatmon calls --data <dir>`) in a call
store of the demo's own, <data>/demo by default, so simulated calls never mix
with real ones; the demo's tokens are kept there too.

examples:
  heatmon demo
  heatmon demo --calls 12 --speed 2
  # for scripts and CI
  heatmon demo --duration 60 --port 0 --data /tmp/heatmon-demo
  heatmon demo --audio on --model en-us"""


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_subparser(
        sub, "demo", help="a hub and a floor of simulated calls, to try heatmon", description=DESCRIPTION
    )
    p.add_argument("--calls", type=int, default=8, metavar="N", help="calls live at once (default 8)")
    p.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="stop by itself after this long (default: until Ctrl-C)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=8765, help="port to listen on (default 8765; 0 = any free port)"
    )
    p.add_argument(
        "--speed", type=float, default=1.0, metavar="X", help="transcript mode: X times real time (default 1)"
    )
    p.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help=f"where the demo keeps its call store and tokens (default {demo_data_dir()})",
    )
    p.add_argument(
        "--tokens", type=Path, metavar="FILE", help="the demo's tokens file (default <data>/demo-tokens.json)"
    )
    p.add_argument(
        "--audio",
        choices=("auto", "on", "off"),
        default="auto",
        help="auto = audio through Vosk if an English model is found, else transcripts (default); "
        "on = audio or fail; off = transcripts",
    )
    p.add_argument(
        "--model", metavar="DIR|NAME", help="audio mode: the English Vosk model (see `heatmon models`)"
    )
    p.add_argument(
        "--redact",
        action="store_true",
        help="mask spoken card numbers and long digit runs, on the live board and in the store",
    )
    add_data_options(p)
    p.set_defaults(func=run_demo)


@dataclass(frozen=True, slots=True)
class Mode:
    """How the demo plays its calls, and why (printed at start)."""

    audio: bool
    note: str
    model_dir: Path | None = None


def choose_mode(audio: str, model: str | None) -> Mode:
    """Audio mode if asked for or if an English model is there; transcripts otherwise."""
    if audio == "off":
        return Mode(False, "transcript mode (--audio off)")
    from monitor.demo.audio import english_model, model_label

    try:
        found = english_model(model)
    except ModelError as err:
        if audio == "on":
            raise ModelError(f"--audio on: {err}") from err
        if model is not None:  # a model asked for by name must be usable, never silently dropped
            raise
        log.debug("no audio mode: %s", err)  # the mode line printed next says it in short
        return Mode(
            False, "transcript mode (audio mode needs an English Vosk model: `heatmon models pull en-us`)"
        )
    return Mode(True, f"audio mode (espeak-ng speech through Vosk {model_label(found)})", found)


def demo_tokens(path: Path, agents: Sequence[str]) -> tuple[Tokens, bool]:
    """The demo's tokens: a publisher, a supervisor and one agent token per demo agent, the file
    created or completed as needed; True if it was changed."""
    tokens, changed = (Tokens.load(path), False) if path.exists() else (Tokens(), True)
    for role, name in [("publisher", "demo"), ("supervisor", "supervisor1")] + [("agent", a) for a in agents]:
        if not any(g.role == role and (role != "agent" or g.name == name) for g in tokens.grants):
            tokens, _ = tokens.add(role, name)
            changed = True
    if changed:
        tokens.save(path)
    return tokens, changed


def demo_data_dir() -> Path:
    """The demo's own data directory: its call store and tokens, apart from real calls."""
    return data_dir() / "demo"


def run_demo(args: argparse.Namespace) -> int:
    if args.calls < 1:
        raise InputError("--calls must be at least 1")
    if args.speed <= 0:
        raise InputError("--speed must be a positive number")
    if args.duration is not None and args.duration <= 0:
        raise InputError("--duration must be a positive number of seconds")
    calls = load_demo_calls()
    mode = choose_mode(args.audio, args.model)
    args.chain_data = load_data(args)  # a team's playbook and lexicon, checked before anything starts
    if mode.audio and args.speed != 1.0:
        raise InputError("--speed is for transcript mode; audio plays in real time (or use --audio off)")
    data = args.data or demo_data_dir()
    path = args.tokens or data / "demo-tokens.json"
    tokens, changed = demo_tokens(path, demo_agents(calls))
    print(f"heatmon demo: {args.calls} calls at a time from {len(calls)} demo calls, {mode.note}", flush=True)
    print(f"tokens: {path}" + (" (created or completed)" if changed else ""), flush=True)
    # The websockets library's own INFO lines would bury the URLs people need to see.
    logging.getLogger("websockets").setLevel(logging.WARNING)
    return asyncio.run(_demo(args, calls, mode, tokens, data))


def agents_hottest_first(
    calls: list[DemoCall], playbook: Playbook | None = None, lexicon: Lexicon | None = None, *, lanes: int = 0
) -> list[str]:
    """Every agent of the demo calls, the one with the hottest call (its peak heat through the
    real chain) first: the agent view worth opening first is the one where coaching happens.
    Then the spare agents who take calls over on a floor of `lanes` calls at once (their calls'
    heat is not known in advance), so that every agent on the board has a link."""
    peaks: dict[str, float] = {}
    for call in calls:
        summary = Replay(call.turns, call.name, playbook=playbook, lexicon=lexicon).summary()
        peak = float(summary.get("peak_heat") or 0.0)
        peaks[call.agent] = max(peaks.get(call.agent, 0.0), peak)
    spares = [agent for agent in floor_agents(calls, lanes) if agent not in peaks]
    return sorted(peaks, key=lambda agent: -peaks[agent]) + spares


async def _demo(
    args: argparse.Namespace, calls: list[DemoCall], mode: Mode, tokens: Tokens, data: Path
) -> int:
    sink = StoreSink(db_path(data), redact=args.redact)
    print(f"call store: {db_path(data)}", flush=True)
    try:
        async with _hub(args, tokens, sink, data) as base, _player(args, mode, data) as player:
            print(f"  supervisor board: {page_url(base, tokens.first('supervisor'))}", flush=True)
            for agent in agents_hottest_first(calls, *args.chain_data, lanes=args.calls):
                print(f"  agent view ({agent}): {page_url(base, tokens.first('agent', agent))}", flush=True)
            async with Publisher(base, tokens.first("publisher").token) as publisher:
                floor = DemoFloor(calls, player, publisher.publish, DemoOptions(calls=args.calls))
                stop = _stop_event(args.duration)
                print("demo running" + ("" if args.duration else "; Ctrl-C stops it"), flush=True)
                await floor.run(stop)
                if not await publisher.flush(timeout=10):
                    log.warning(
                        "%d demo events were not stored: the hub did not acknowledge them", publisher.unacked
                    )
            played = len(floor.started)
            print(
                f"demo stopped: {played} call{'' if played == 1 else 's'} played, each ended and stored",
                flush=True,
            )
            print(f"  review them: heatmon calls --data {data}", flush=True)
    finally:
        await sink.aclose()
    return 0


@contextlib.asynccontextmanager
async def _hub(args: argparse.Namespace, tokens: Tokens, sink: StoreSink, data: Path) -> AsyncIterator[str]:
    """The hub with the call history of the demo's store, running for the block; yields its
    http base URL."""
    config = HubConfig(redact=args.redact)
    async with listening(tokens, host=args.host, port=args.port, sink=sink, config=config) as hub:
        register_history(hub.api, StoreReader(db_path(data)), redact=args.redact)
        print(f"hub listening on {hub.url}", flush=True)
        yield hub.http_url


@contextlib.asynccontextmanager
async def _player(args: argparse.Namespace, mode: Mode, data: Path) -> AsyncIterator[Player]:
    """The transcript player, or the audio player with its loaded model and decoding threads."""
    playbook, lexicon = args.chain_data
    if not mode.audio or mode.model_dir is None:
        yield TranscriptPlayer(speed=args.speed, playbook=playbook, lexicon=lexicon)
        return
    from monitor.demo.audio import AudioPlayer
    from monitor.speech.overlay import Endpointing, endpointing_overlay
    from monitor.speech.pool import cores
    from monitor.speech.recognizer import SpeechModel

    model = await asyncio.to_thread(SpeechModel, endpointing_overlay(mode.model_dir, Endpointing()))
    # One decoding thread per core, as for `heatmon run`: more only time-slice recognisers.
    with ThreadPoolExecutor(max_workers=cores(), thread_name_prefix="vosk") as executor:
        yield AudioPlayer(
            model, mode.model_dir, data / "demo_audio", executor, playbook=playbook, lexicon=lexicon
        )


def _stop_event(duration: float | None) -> asyncio.Event:
    """Set on Ctrl-C or SIGTERM, or when `duration` seconds have passed."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if duration is not None:
        loop.call_later(duration, stop.set)
    return stop
