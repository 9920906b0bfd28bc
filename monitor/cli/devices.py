"""`heatmon devices`: the audio input devices live capture can use."""

from __future__ import annotations

import argparse
import json

from monitor.cli.common import add_subparser
from monitor.speech.capture import list_devices


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_subparser(
        sub,
        "devices",
        help="list audio input devices for live capture",
        description="""\
List the audio input devices heatmon can capture from. Pass a device's number
or name to `heatmon run --device` (one stereo device: caller + agent) or to
--caller-device / --agent-device (one device per party).

examples:
  heatmon devices
  heatmon run --device "USB Headset" --console
  heatmon run --caller-device 3 --agent-device 5 --console""",
    )
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    devices = list_devices()
    if args.json:
        for d in devices:
            print(json.dumps(d))
        return 0
    if not devices:
        print("no audio input devices found")
        return 0
    print(f"{'#':>3}  {'channels':>8}  {'rate':>6}  {'host API':<12} name")
    for d in devices:
        print(f"{d['index']:>3}  {d['channels']:>8}  {d['default_rate']:>6}  {d['hostapi']:<12} {d['name']}")
    return 0
