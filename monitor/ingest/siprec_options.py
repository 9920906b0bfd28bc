"""The `--siprec-*` options of `heatmon ingest`: their declaration and their check."""

from __future__ import annotations

import argparse

from monitor.errors import InputError


def port_range(text: str) -> range:
    low, sep, high = text.partition("-")
    try:
        first, last = int(low), int(high if sep else low)
    except ValueError:
        raise InputError(f"--siprec-rtp-ports takes LOW-HIGH, like 40000-40999, not {text!r}") from None
    if not 1024 <= first <= last <= 65535:
        raise InputError(f"--siprec-rtp-ports {text!r} must lie within 1024-65535, low before high")
    return range(first, last + 1)


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("siprec")
    group.add_argument(
        "--siprec-rtp-ports",
        metavar="LOW-HIGH",
        help="UDP ports for the recorded RTP (default: any free port)",
    )
    group.add_argument(
        "--siprec-address",
        metavar="ADDR",
        help="address to give the recording client for RTP (default: the bound one)",
    )
    group.add_argument(
        "--siprec-caller-aor",
        metavar="TEXT",
        help="the participant whose AOR contains TEXT is the caller (default: the first listed)",
    )


def check(args: argparse.Namespace) -> None:
    ports = getattr(args, "siprec_rtp_ports", None)
    if ports:
        port_range(ports)
