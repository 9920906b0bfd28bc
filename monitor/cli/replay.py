"""`heatmon replay`: transcripts through the whole chain, events out as JSON lines."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from monitor.analysis.lexicon import Lexicon
from monitor.analysis.playbook import Playbook
from monitor.cli.common import (
    Emit,
    add_data_options,
    add_hub_options,
    add_subparser,
    event_output,
    load_data,
    print_event,
)
from monitor.cli.console import ConsoleView
from monitor.errors import InputError, unwrap
from monitor.events import utc_timestamp
from monitor.transcripts.reader import Transcript, read_transcript
from monitor.transcripts.replay import Replay


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_subparser(
        sub,
        "replay",
        help="replay call transcripts through heat, alerts and coaching",
        description="""\
Drive the whole chain (caller scoring, heat, alerts, H.E.A.T. coach) from
transcripts in the wire contract's format, one JSON turn per line:

  {"speaker": "caller", "text": "still waiting", "start": 12.3, "end": 15.1}

and print the events as JSON lines: call_started, every turn (caller turns
with their sentiment), heat / alert / coach events, call_ended with a summary.
Several files are several calls, each named by its turns' "call" field, else
by its file name; paced replay plays them at the same time. A bad line is an
error naming its line number (or, with --skip-bad, a warning and the line is
left out).

examples:
  heatmon replay --console models/demo_calls/heat-deescalation.jsonl
  heatmon replay --fast models/demo_calls/heat-deescalation.jsonl
  heatmon replay --speed 4 --agent priya call1.jsonl call2.jsonl
  heatmon replay --fast --playbook my-playbook.json call.jsonl |
    jq 'select(.type=="coach")'
  # onto the floor board
  heatmon replay --speed 2 --hub ws://127.0.0.1:8765 models/demo_calls/*.jsonl""",
    )
    parser.add_argument(
        "transcripts", nargs="+", type=Path, metavar="TRANSCRIPT.jsonl", help="transcript files"
    )
    parser.add_argument("--agent", default="agent", help='agent name in call_started (default "agent")')
    parser.add_argument(
        "--fast", action="store_true", help="no pacing: print everything at once, call by call"
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="pacing factor, e.g. 4 = four times real time"
    )
    parser.add_argument("--skip-bad", action="store_true", help="skip malformed lines with a warning")
    parser.add_argument("--console", action="store_true", help="a readable live view instead of JSON lines")
    add_data_options(parser)
    add_hub_options(parser)
    parser.set_defaults(func=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    if args.speed <= 0:
        raise InputError("--speed must be positive")
    playbook, lexicon = load_data(args)
    transcripts = [read_transcript(path, skip_bad=args.skip_bad) for path in args.transcripts]
    names = [t.call for t in transcripts]
    if len(set(names)) != len(names):
        raise InputError(f"two transcripts have the same call name: {', '.join(names)}")
    for transcript in transcripts:
        for warning in transcript.warnings:
            print(f"heatmon: warning: {warning}", file=sys.stderr)
    started_at = utc_timestamp()
    asyncio.run(_replay(args, transcripts, started_at, playbook, lexicon))
    return 0


async def _replay(
    args: argparse.Namespace,
    transcripts: list[Transcript],
    started_at: str,
    playbook: Playbook | None,
    lexicon: Lexicon | None,
) -> None:
    view: Emit = ConsoleView(sys.stdout, show_call=len(transcripts) > 1) if args.console else print_event
    replays = [
        Replay(t.turns, t.call, agent=args.agent, started_at=started_at, playbook=playbook, lexicon=lexicon)
        for t in transcripts
    ]
    async with event_output(args, view) as emit:
        if args.fast:
            for replay in replays:
                for event in replay.events():
                    emit(event)
            return
        # A task group: one failing call ends the others, each with its call_ended.
        try:
            async with asyncio.TaskGroup() as group:
                for replay in replays:
                    group.create_task(replay.play(emit, speed=args.speed))
        except BaseExceptionGroup as failed:
            raise unwrap(failed) from None
