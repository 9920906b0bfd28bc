"""`heatmon calls`, `export`, `report` and `purge`: the call store from the command line."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.cli.common import add_subparser
from monitor.cli.console import inert
from monitor.errors import InputError
from monitor.paths import data_dir
from monitor.review.report import export_document, render_report
from monitor.review.summary import clock
from monitor.store import CallFilter, Store, db_path, parse_when, redacted_detail
from monitor.store.queries import SQLITE_MAX_INT

#: SQLite's largest integer: a --limit above it means "every call" all the same.


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    calls = add_subparser(
        sub,
        "calls",
        help="list the stored calls",
        description="""\
List the calls in the call store, newest first, with their peak heat and alert
kinds. The first column is the call's store reference (#N); `export` and
`report` take it or the call id (then the newest call with that id).

examples:
  heatmon calls
  heatmon calls --agent maria --since 7d --min-heat 60
  heatmon calls --alert escalation --search "supervisor" --json""",
    )
    _data_arg(calls)
    calls.add_argument("--agent", metavar="NAME", help="only this agent's calls")
    calls.add_argument(
        "--since", metavar="WHEN", help="started at or after: 2026-11-01, an ISO time, or 30m/12h/7d/2w ago"
    )
    calls.add_argument(
        "--until", metavar="WHEN", help="started before: a date or ISO time (same forms as --since)"
    )
    calls.add_argument("--min-heat", type=heat, metavar="N", help="peak heat at least N (0-100)")
    calls.add_argument("--alert", metavar="KIND", help="only calls with an alert of this kind")
    calls.add_argument("--search", metavar="TEXT", help="text in the transcript, caller name or call id")
    calls.add_argument("--caller", metavar="NUMBER", help="only the calls from this caller's number")
    calls.add_argument(
        "--limit", type=count, default=50, metavar="N", help="at most N calls, N >= 1 (default 50)"
    )
    calls.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    calls.set_defaults(func=run_calls)

    export = add_subparser(
        sub,
        "export",
        help="write one stored call as JSON",
        description="""\
Write one stored call as JSON: the call, its turns, heat changes, alerts,
acknowledgements, coach steps and supervisor messages (wire-contract events)
and its after-call review.

examples:
  heatmon export billing-dispute
  heatmon export '#12' -o call-12.json --redact""",
    )
    export.add_argument("call", metavar="CALL_ID", help="a call id (its newest call) or a store reference #N")
    _data_arg(export)
    export.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="file to write (default: standard output)"
    )
    export.add_argument("--redact", action="store_true", help="mask card numbers and long digit runs")
    export.set_defaults(func=run_export)

    report = add_subparser(
        sub,
        "report",
        help="write one stored call as a standalone HTML review",
        description="""\
Write the after-call review of one stored call as a single HTML file that
needs nothing else (no network, no scripts): heat timeline chart with alerts
and H.E.A.T. steps, the transcript with the caller's sentiment in colour, and
the summary (peak heat, time from hot to calm, steps taken and when, alerts).

examples:
  heatmon report heat-deescalation
  heatmon report '#12' -o review.html --redact""",
    )
    report.add_argument("call", metavar="CALL_ID", help="a call id (its newest call) or a store reference #N")
    _data_arg(report)
    report.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="HTML file to write (default: call-<id>.html)"
    )
    report.add_argument("--redact", action="store_true", help="mask card numbers and long digit runs")
    report.set_defaults(func=run_report)

    purge = add_subparser(
        sub,
        "purge",
        help="delete stored calls older than N days",
        description="""\
Delete every call that started more than N days ago, with all its turns, heat,
alerts and coaching (retention). N may be a fraction (0.5 = 12 hours);
N = 0 deletes every stored call. A running hub with --retain-days does this
by itself.

examples:
  heatmon purge --retain-days 90
  heatmon purge --retain-days 0 --data /tmp/heatmon-test""",
    )
    purge.add_argument(
        "--retain-days",
        type=days,
        required=True,
        metavar="N",
        help="keep the calls of the last N days (N >= 0; 0 deletes them all)",
    )
    _data_arg(purge)
    purge.set_defaults(func=run_purge)


def count(text: str) -> int:
    """argparse type: a whole number of 1 or more (`--limit`)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number, 1 or more, not {text!r}")
    return value


def heat(text: str) -> float:
    """argparse type: a heat value, 0 to 100 (`--min-heat`)."""
    value = _number(text)
    if value is None or not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be a heat from 0 to 100, not {text!r}")
    return value


def days(text: str) -> float:
    """argparse type: a number of days, 0 or more (`--retain-days` of `purge` and `hub`)."""
    value = _number(text)
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of days, 0 or more, not {text!r}")
    return value


def _number(text: str) -> float | None:
    """The finite number `text` spells, else None (nan and inf are no heat and no age)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _data_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", type=Path, metavar="DIR", help=f"heatmon data directory (default {data_dir()})"
    )


def _open(args: argparse.Namespace) -> Store:
    # Checked first: a store damaged in the middle would otherwise list the calls it can still
    # read as if they were all (SQLite reads every page: about a second per few hundred MB).
    return Store.open(db_path(args.data or data_dir()), create=False, check=True)


def run_calls(args: argparse.Namespace) -> int:
    now = time.time()
    where = CallFilter(
        agent=args.agent,
        since=parse_when(args.since, now) if args.since else None,
        until=parse_when(args.until, now) if args.until else None,
        min_heat=args.min_heat,
        alert_kind=args.alert,
        text=args.search,
        caller=args.caller,
        limit=min(args.limit, SQLITE_MAX_INT),
    )
    with _open(args) as store:
        rows = store.list_calls(where)
    if args.json:
        for row in rows:
            print(json.dumps(row.to_dict(), ensure_ascii=False))
        return 0
    if not rows:
        print("no stored calls match", file=sys.stderr)
        return 0
    head = f"{'ref':>6}  {'call':<22} {'agent':<10} {'caller':<18} {'started (UTC)':<17}"
    print(f"{head} {'length':>7} peak  alerts")
    for row in rows:
        started = (
            datetime.fromtimestamp(row.started_ts, UTC).strftime("%Y-%m-%d %H:%M") if row.started_ts else "?"
        )
        length = clock(row.duration) if row.ended else "live"
        peak = f"{row.peak_heat:.0f}" if row.peak_heat is not None else "-"
        caller = inert(row.caller_name or row.caller_number or "")
        print(
            f"{row.ref:>6}  {inert(row.id)[:22]:<22} {inert(row.agent or '?')[:10]:<10} "
            f"{caller[:18]:<18} {started:<17} {length:>7} {peak:>4}  "
            f"{inert(', '.join(row.alert_kinds))}"
        )
    return 0


def _detail(args: argparse.Namespace) -> dict[str, Any]:
    with _open(args) as store:
        detail = store.call_detail(args.call)
    return redacted_detail(detail) if args.redact else detail


def run_export(args: argparse.Namespace) -> int:
    text = json.dumps(export_document(_detail(args)), ensure_ascii=False, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        _write(args.output, text)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def run_report(args: argparse.Namespace) -> int:
    detail = _detail(args)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(detail["call"]["id"])) or "call"
    output: Path = args.output or Path(f"call-{name}.html")
    _write(output, render_report(detail))
    print(f"wrote {output}")
    return 0


def run_purge(args: argparse.Namespace) -> int:
    with _open(args) as store:
        removed = store.purge_older_than(args.retain_days, time.time())
    print(f"purged {removed} call{'s' if removed != 1 else ''} older than {args.retain_days:g} days")
    return 0


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot write {path}: {err.strerror or err}") from err
