"""The `heatmon` command: subcommands only. Each lives in a module of this package that
has `add(subparsers)`; its handler parses nothing more, calls the library, prints, and
returns an exit code. Errors meant for the user become one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import os
import sys
from collections.abc import Sequence

from monitor import __version__
from monitor.errors import HeatmonError, InputError

DESCRIPTION = """\
Offline, real-time heat monitor for customer calls: Vosk transcription, caller
sentiment, call heat and H.E.A.T. coaching."""

#: Shown under `heatmon --help`; each line is a valid command line (a test parses them).
EXAMPLES = """\
examples:
  heatmon demo                     try it out: a floor of simulated calls
  heatmon models pull en-us        get the English speech model (40 MB, once)
  heatmon run call.wav --console   watch a recorded call (stereo: caller left)
  heatmon hub                      serve the dashboards for live calls

`heatmon COMMAND --help` tells more about each command."""

#: Subcommand modules, in the order `heatmon --help` lists them.
COMMANDS: tuple[str, ...] = ("demo", "run", "ingest", "devices", "models", "hub", "store", "replay", "score")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered, or with `only` that one.

    Each subcommand's module is imported when it is registered, and some bring the hub, the
    speech pipeline or the store with them: `heatmon score` registers only itself, so it does
    not pay for code it never runs.
    """
    parser = argparse.ArgumentParser(
        prog="heatmon",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"heatmon {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if only is None or name == only:
            importlib.import_module(f"monitor.cli.{name}").add(sub)
    return parser


def command_named(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` runs (its first word that is not an option), if it is one."""
    first = next((word for word in argv if not word.startswith("-")), None)
    return first if first in COMMANDS else None


def command_parser(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser of the deepest subcommand named in `argv` (`heatmon models pull` -> pull's)."""
    for word in argv:
        subcommands = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if subcommands is None:
            break
        if word in subcommands.choices:
            parser = subcommands.choices[word]
    return parser


def _refuse_non_finite(args: argparse.Namespace) -> None:
    """Every number option is finite: `float()` takes "nan", "inf" and "1e400", none of which
    is a speed, a time or a heat. One check here for every subcommand's options."""
    for dest, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            raise InputError(f"--{dest.replace('_', '-')} must be a finite number, not {value!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(command_named(words))
    args, unknown = parser.parse_known_args(words)
    if unknown:
        # argparse would answer with `heatmon`'s usage; the subcommand's own is the useful one.
        command_parser(parser, words).error(f"unrecognized arguments: {' '.join(unknown)}")
    # stdout carries the events; progress and warnings go to stderr
    logging.basicConfig(level=logging.INFO, format="heatmon: %(message)s", stream=sys.stderr)
    # asyncio's debug mode (PYTHONASYNCIODEBUG) logs slow callbacks as warnings: noise for a
    # user, and a busy machine makes them appear at random. HEATMON_ASYNCIO_LOG=1 shows them.
    if not os.environ.get("HEATMON_ASYNCIO_LOG"):
        logging.getLogger("asyncio").setLevel(logging.ERROR)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        _refuse_non_finite(args)
        if getattr(args, "hub", None):  # checked before any model or file is opened
            from monitor.hub.urls import hub_ws_url

            hub_ws_url(args.hub)
        return int(args.func(args) or 0)
    except HeatmonError as err:
        print(f"heatmon: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        # The commands end their calls cleanly on Ctrl-C themselves; this is the last resort.
        return 130
    except BrokenPipeError:
        # `heatmon run ... | head`: the reader left; that is not an error of ours.
        sys.stderr.close()
        return 0
