"""Helpers shared by the subcommand modules."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from monitor.analysis.lexicon import Lexicon
from monitor.analysis.playbook import Playbook
from monitor.errors import HeatmonError
from monitor.events import Event, Partial

log = logging.getLogger("heatmon")

Emit = Callable[[Event], None]


def add_subparser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str, description: str
) -> argparse.ArgumentParser:
    """A subcommand parser whose --help shows the description as written."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return parser


def print_event(event: Event) -> None:
    """Write one event as a JSON line to stdout, flushed so pipes see it at once."""
    sys.stdout.write(event.to_json() + "\n")
    sys.stdout.flush()


def add_hub_options(parser: argparse.ArgumentParser) -> None:
    """--hub and its token: also stream the events to a running `heatmon hub`."""
    group = parser.add_argument_group("hub")
    group.add_argument(
        "--hub", metavar="URL", help="also publish the events to a hub, e.g. ws://127.0.0.1:8765"
    )
    group.add_argument(
        "--hub-token",
        metavar="TOKEN",
        help="publisher token (default: $HEATMON_HUB_TOKEN, else the hub's tokens file on this machine)",
    )
    group.add_argument(
        "--tokens", type=Path, metavar="FILE", help="the hub's tokens file to take the token from"
    )


@contextlib.asynccontextmanager
async def event_output(args: argparse.Namespace, emit: Emit) -> AsyncIterator[Emit]:
    """`emit`, or, with --hub, `emit` plus publishing to the hub; waits for the hub's
    acknowledgements at the end so nothing published is lost on exit.

    A hub that refuses the publisher's token stops the run at once (every call still ends with
    its `call_ended`): monitoring on, with nothing reaching the board, would look like working.
    Partials go to the hub (the agent's live transcript) but to the output only if asked for.
    """
    import asyncio  # here, so that commands without an event loop (score) never import it

    if not getattr(args, "hub", None):
        yield emit
        return
    from monitor.hub.auth import publisher_token
    from monitor.hub.publisher import Publisher

    token = publisher_token(args.hub_token, args.tokens)
    async with Publisher(args.hub, token) as publisher:
        show_partials = getattr(args, "partials", False) or getattr(args, "console", False)

        def both(event: Event) -> None:
            if show_partials or not isinstance(event, Partial):
                emit(event)
            publisher.publish(event)

        monitoring = asyncio.current_task()
        assert monitoring is not None

        async def stop_when_refused() -> None:
            await publisher.refused.wait()
            monitoring.cancel()

        watch = asyncio.create_task(stop_when_refused(), name="hub-refusal")
        try:
            yield both
        except asyncio.CancelledError:
            if not publisher.refused.is_set():
                raise  # Ctrl-C, not the hub
            if hasattr(monitoring, "uncancel"):  # Python 3.11+: the cancel was ours, and is handled
                monitoring.uncancel()
        finally:
            watch.cancel()
            flushed = await publisher.flush(timeout=10)
            if publisher.rejected:
                raise HubRefused(
                    f"the hub at {args.hub} refused this publisher: {publisher.rejected}; give it the "
                    "hub's publisher token (--hub-token, $HEATMON_HUB_TOKEN, or the hub's tokens file "
                    "with --tokens FILE)"
                )
            if not flushed:
                raise HubUndelivered(
                    f"{publisher.unacked} events were not acknowledged by the hub at {args.hub} "
                    "(they are in the output, but not on the hub or in its store)"
                )


class HubRefused(HeatmonError):
    """The hub closed the publisher's connection for good (bad token, wrong role)."""


class HubUndelivered(HeatmonError):
    """The calls were monitored, but the hub did not take all their events (down, unreachable)."""

    exit_code = 1


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """--playbook and --lexicon: a team's own data files instead of the bundled ones."""
    parser.add_argument(
        "--playbook", type=Path, metavar="FILE", help="coaching playbook JSON (default: bundled)"
    )
    parser.add_argument("--lexicon", type=Path, metavar="FILE", help="domain lexicon JSON (default: bundled)")


def load_data(args: argparse.Namespace) -> tuple[Playbook | None, Lexicon | None]:
    playbook = Playbook.from_file(args.playbook) if getattr(args, "playbook", None) else None
    lexicon = Lexicon.from_file(args.lexicon) if getattr(args, "lexicon", None) else None
    return playbook, lexicon
