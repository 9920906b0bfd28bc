"""Helpers shared by the subcommand modules."""

from __future__ import annotations

import argparse
import sys

from monitor.events import Event


def add_subparser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str, description: str
) -> argparse.ArgumentParser:  # noqa: A002
    """A subcommand parser whose --help shows the description as written."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return parser


def print_event(event: Event) -> None:
    """Write one event as a JSON line to stdout, flushed so pipes see it at once."""
    sys.stdout.write(event.to_json() + "\n")
    sys.stdout.flush()
