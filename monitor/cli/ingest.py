"""`heatmon ingest`: a service that takes calls from the phone system and monitors them."""

from __future__ import annotations

import argparse
import asyncio
import os

from monitor.cli.common import add_hub_options, add_subparser, event_output, print_event
from monitor.errors import InputError
from monitor.ingest.calls import BEHIND_LIMIT, CallDesk
from monitor.ingest.listeners import ListenerKind, parse_address, parse_networks
from monitor.ingest.service import load_adapters, serve
from monitor.speech.overlay import Endpointing, endpointing_overlay
from monitor.speech.pool import cores
from monitor.speech.recognizer import SpeechModel
from monitor.speech.resolve import resolve_model
from monitor.speech.session import CallOptions

CALLS_PER_CORE = 4

DESCRIPTION = """\
Take calls from the phone system and monitor them live: each call's caller and
agent are transcribed with the shared model, scored and coached like
`heatmon run`, and their events printed as JSON lines or published to a hub.
Listeners bind to this machine only unless given a host; peers of AudioSocket
and SIPREC must be in --allow (default: this machine only)."""

EXAMPLES = """\
examples:
  # Twilio Media Streams on port 8080 (behind your TLS proxy), to a hub;
  # the auth token is taken from $TWILIO_AUTH_TOKEN
  heatmon ingest --twilio 0.0.0.0:8080 --hub ws://127.0.0.1:8765
  # SIPREC from the SBC at 10.0.0.5
  heatmon ingest --siprec 0.0.0.0:5060 --allow 10.0.0.5 \\
    --hub ws://127.0.0.1:8765

A stop (SIGTERM, Ctrl-C) ends every live call with its call_ended."""


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_subparser(
        sub,
        "ingest",
        help="take live calls from the phone system",
        description=DESCRIPTION + "\n\n" + EXAMPLES,
    )
    kinds = load_adapters()
    listen = p.add_argument_group("listeners (any combination; HOST defaults to 127.0.0.1)")
    for kind in kinds.values():
        listen.add_argument(kind.option, metavar="HOST:PORT", help=f"{kind.help} (port {kind.default_port})")
    safety = p.add_argument_group("safety")
    safety.add_argument(
        "--allow",
        action="append",
        metavar="CIDR",
        help="peer addresses AudioSocket and SIPREC accept, repeatable (default: 127.0.0.0/8 and ::1)",
    )
    safety.add_argument(
        "--max-calls",
        type=int,
        default=CALLS_PER_CORE * cores(),
        metavar="N",
        help="concurrent calls at most; more are refused (default: %(default)s, 4 per core)",
    )
    safety.add_argument(
        "--max-behind",
        type=float,
        default=BEHIND_LIMIT,
        metavar="SECONDS",
        help="refuse new calls while decoding is this far behind the live calls, whatever "
        "--max-calls says (default: %(default)s; 0: never)",
    )
    for kind in kinds.values():
        if kind.add_options is not None:
            kind.add_options(p)
    asr = p.add_argument_group("speech recognition")
    asr.add_argument(
        "--model", metavar="DIR|NAME", help="Vosk model directory or pulled model name (see `heatmon models`)"
    )
    out = p.add_argument_group("output")
    out.add_argument("--partials", action="store_true", help="also print partial transcripts")
    add_hub_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kinds = load_adapters()
    wanted: list[tuple[ListenerKind, tuple[str, int]]] = [
        (kind, parse_address(value, kind.default_port))
        for kind in kinds.values()
        if (value := getattr(args, kind.name, None))
    ]
    if not wanted:
        options = ", ".join(k.option for k in kinds.values())
        raise InputError(f"nothing to listen on: give at least one of {options}")
    if args.max_calls < 1:
        raise InputError(f"--max-calls must be 1 or more, not {args.max_calls}")
    if not 0 <= args.max_behind < 3600:  # NaN fails too
        raise InputError(f"--max-behind takes seconds from 0 (never) to 3600, not {args.max_behind}")
    args.allow_networks = parse_networks(args.allow)
    for kind, _ in wanted:
        if kind.check is not None:
            kind.check(args)
    model = SpeechModel(endpointing_overlay(resolve_model(args.model), Endpointing()))
    asyncio.run(_serve(args, model, wanted))
    return 0


async def _serve(
    args: argparse.Namespace, model: SpeechModel, wanted: list[tuple[ListenerKind, tuple[str, int]]]
) -> None:
    async with event_output(args, print_event) as emit:
        options = CallOptions(partials=args.partials or bool(args.hub))
        desk = CallDesk(model, emit, max_calls=args.max_calls, options=options, behind_limit=args.max_behind)
        await serve(desk, wanted, args)


def env_or(value: str | None, variable: str | None) -> str | None:
    """An option's value, else the environment variable it names."""
    if value:
        return value
    return os.environ.get(variable) if variable else None
