"""`heatmon run`: monitor calls from WAV files, stdin PCM or live devices."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import sys
import threading
from pathlib import Path

from monitor.analysis.chain import CallAnalysis
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
from monitor.errors import InputError
from monitor.speech.blocks import CHANNEL_NAMES, AudioSource, ChannelRoles, check_rate
from monitor.speech.capture import DeviceSource
from monitor.speech.overlay import STOCK_ENDPOINTING, Endpointing, endpointing_overlay
from monitor.speech.pool import run_calls
from monitor.speech.recognizer import SpeechModel
from monitor.speech.recordings import PcmSource, WavSource
from monitor.speech.resolve import resolve_model
from monitor.speech.session import CallOptions, CallSpec

#: Seconds a stop (SIGTERM, Ctrl-C) may take to end the calls before the process leaves anyway.
STOP_GRACE = 10.0

DESCRIPTION = """\
Transcribe calls with Vosk, score the caller's turns and keep each call's
heat; print the events as JSON lines."""

EXAMPLES = """\
examples:
  # stereo WAV: left = caller, right = agent
  heatmon run call.wav
  # the caller is on the right channel
  heatmon run --caller-channel right call.wav
  # a WAV per party
  heatmon run --caller in.wav --agent out.wav
  # three calls at once, one model
  heatmon run a.wav b.wav c.wav
  # raw PCM on stdin, here decoded by sox
  sox call.mp3 -t raw -r 8000 -e signed -b 16 -c 2 - |
    heatmon run - --rate 8000 --channels 2
  # live call, two devices
  heatmon run --caller-device 3 --agent-device 5 --console
  # live call, one stereo device
  heatmon run --device "USB Headset" --console

Mono audio is taken to be the caller alone (the agent's steps can't be seen
then). Output: one JSON event per line (see the README's wire contract), or
--console."""


def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_subparser(
        sub,
        "run",
        help="monitor calls from WAV files, stdin or live devices",
        description=DESCRIPTION + "\n\n" + EXAMPLES,
    )
    p.add_argument(
        "files", nargs="*", metavar="FILE", help="WAV file per call (mono or stereo); '-' = raw PCM on stdin"
    )
    src = p.add_argument_group("audio")
    src.add_argument("--caller", type=Path, metavar="WAV", help="the caller's side of one call, mono WAV")
    src.add_argument("--agent", type=Path, metavar="WAV", help="the agent's side of the same call, mono WAV")
    src.add_argument(
        "--caller-channel",
        choices=sorted(CHANNEL_NAMES),
        default="left",
        help="stereo channel of the caller (default: left)",
    )
    src.add_argument(
        "--realtime",
        action="store_true",
        help="pace files in real time (default: as fast as decoding allows)",
    )
    src.add_argument(
        "--format", default="s16le", choices=["s16le"], help="raw PCM format on stdin (default: s16le)"
    )
    src.add_argument(
        "--rate",
        type=int,
        default=None,
        help="sample rate of raw PCM on stdin (required there) or of live capture (default 16000); "
        "WAV files carry their own",
    )
    src.add_argument(
        "--channels", type=int, default=1, choices=[1, 2], help="channels of raw PCM on stdin (default: 1)"
    )
    src.add_argument(
        "--device", metavar="DEV", help="one stereo input device (caller + agent), by number or name"
    )
    src.add_argument("--caller-device", metavar="DEV", help="input device of the caller")
    src.add_argument("--agent-device", metavar="DEV", help="input device of the agent")
    asr = p.add_argument_group("speech recognition")
    asr.add_argument(
        "--model", metavar="DIR|NAME", help="Vosk model directory or pulled model name (see `heatmon models`)"
    )
    asr.add_argument(
        "--endpointing",
        default="fast",
        metavar="fast|stock|R2,R3,R4",
        help="when a turn ends: fast = after short trailing silence (default, rules 0.1,0.5,1.0 s); "
        "stock = the model's own rules; or three trailing-silence seconds for Kaldi's rules 2, 3, 4",
    )
    asr.add_argument(
        "--quiet-end",
        type=float,
        default=CallOptions().quiet_end,
        metavar="SECONDS",
        help="also end a turn after this much quiet (by audio level) following speech "
        "(default %(default)s; 0 = leave it to the recogniser's endpointing)",
    )
    asr.add_argument(
        "--skip-silence",
        action=argparse.BooleanOptionalAction,
        default=CallOptions().skip_silence,
        help="keep a party's long silences (0.6 s without sound, between utterances) from the "
        "recogniser: about 11%% less CPU on a two-party call (default: on)",
    )
    out = p.add_argument_group("output")
    out.add_argument("--call", metavar="ID", help="call id (default: the file name's stem)")
    out.add_argument("--agent-name", default="agent", metavar="NAME", help="the agent taking the call(s)")
    out.add_argument("--partials", action="store_true", help="also emit partial transcripts (rate-limited)")
    out.add_argument("--console", action="store_true", help="a readable live view instead of JSON lines")
    add_data_options(p)
    add_hub_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Options first: a mistyped option is reported as such, not as a missing model.
    endpointing = _endpointing(args.endpointing)
    if args.quiet_end < 0:
        raise InputError("--quiet-end must be 0 (off) or a number of seconds")
    if args.rate is not None:
        check_rate(args.rate, "--rate")
    if args.rate is not None and (args.caller or any(f != "-" for f in args.files)):
        raise InputError("--rate is for raw PCM on stdin and live devices; a WAV file carries its own")
    roles = ChannelRoles(caller=CHANNEL_NAMES[args.caller_channel])
    playbook, lexicon = load_data(args)  # a team's own data, checked before any audio is opened
    sources = _sources(args, roles)
    try:
        model_dir = resolve_model(args.model)
        model = SpeechModel(endpointing_overlay(model_dir, endpointing))
        specs = [
            CallSpec(call, source, CallAnalysis(call, playbook=playbook, lexicon=lexicon))
            for call, source in sources
        ]
        emit: Emit = ConsoleView(sys.stdout, show_call=len(specs) > 1) if args.console else print_event
        options = CallOptions(
            agent=args.agent_name,
            partials=args.partials or args.console or bool(args.hub),
            quiet_end=args.quiet_end or None,
            skip_silence=args.skip_silence,
        )
        asyncio.run(_monitor(args, specs, model, emit, options))
        cut = [str(why) for _, source in sources if (why := getattr(source, "truncated", None))]
        if cut:
            raise InputError("; ".join(cut))  # after the events of what was heard
    except KeyboardInterrupt:
        return 130  # every call has emitted call_ended on its way out
    except Stopped as stop:
        return 128 + stop.signum  # the same, for Ctrl-C or a service manager's stop
    finally:
        for _, source in sources:
            source.close()
    return 0


class Stopped(Exception):
    """SIGTERM or SIGINT arrived: the calls were ended with their call_ended."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _leave_now(signum: int) -> None:
    """The last resort of a stop: a decoder busy inside Kaldi cannot be cancelled, and the
    interpreter would wait for it at exit, so leave without it."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(Exception):
        sys.stderr.write(f"heatmon: the calls did not end within {STOP_GRACE:g} s of the stop; leaving\n")
        sys.stderr.flush()
    os._exit(128 + signum)


async def _monitor(
    args: argparse.Namespace, specs: list[CallSpec], model: SpeechModel, emit: Emit, options: CallOptions
) -> None:
    # Ctrl-C and a service manager's SIGTERM end every call with its call_ended instead of
    # dying with the calls open. A stop always ends the process: a second signal, or the
    # first one's grace running out, leaves at once.
    main = asyncio.current_task()
    assert main is not None
    stopped: list[int] = []

    def on_signal(signum: int) -> None:
        if stopped:
            _leave_now(signum)
        stopped.append(signum)
        grace = threading.Timer(STOP_GRACE, _leave_now, (signum,))
        grace.daemon = True  # a stop that ends in time must not wait for it
        grace.start()
        main.cancel()

    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows' loop
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, on_signal, signum)
    try:
        async with event_output(args, emit) as output:
            await run_calls(specs, model, output, options=options)
    except asyncio.CancelledError:
        if stopped:
            raise Stopped(stopped[0]) from None
        raise


def _endpointing(choice: str) -> Endpointing:
    if choice == "fast":
        return Endpointing()
    if choice == "stock":
        return STOCK_ENDPOINTING
    try:
        rule2, rule3, rule4 = (float(x) for x in choice.split(","))
        return Endpointing(rule2, rule3, rule4)
    except ValueError as err:
        raise InputError(
            f"--endpointing takes fast, stock or three seconds like 0.1,0.5,1.0, not {choice!r}"
        ) from err


def _sources(args: argparse.Namespace, roles: ChannelRoles) -> list[tuple[str, AudioSource]]:
    """One audio source per call, from whichever inputs were given."""
    devices = {
        k: v
        for k, v in (("call", args.device), ("caller", args.caller_device), ("agent", args.agent_device))
        if v
    }
    given = sum(bool(x) for x in (args.files, args.caller or args.agent, devices))
    if given == 0:
        raise InputError(
            "nothing to monitor: give WAV files, '-' for stdin, --caller/--agent, or devices (see --help)"
        )
    if given > 1:
        raise InputError("give files, --caller/--agent, or devices, not a mix of them")
    if devices:
        if "call" in devices and len(devices) > 1:
            raise InputError(
                "--device (one stereo device) and --caller-device/--agent-device exclude each other"
            )
        live: AudioSource = DeviceSource(devices, rate=args.rate or 16000, roles=roles)
        return [(str(args.call or "live"), live)]
    if args.caller or args.agent:
        if not args.caller:
            raise InputError("--agent needs --caller too (the caller is the one whose heat we track)")
        files = {"caller": args.caller, **({"agent": args.agent} if args.agent else {})}
        both: AudioSource = WavSource(files, roles, realtime=args.realtime)
        return [(str(args.call or _call_name(args.caller)), both)]
    if args.call and len(args.files) > 1:
        raise InputError("--call names one call; with several files each call is named after its file")
    sources: list[tuple[str, AudioSource]] = []
    try:
        for name in _unique_names(args.files, args.call):
            path = name[1]
            if path == "-":
                if args.rate is None:
                    raise InputError("raw PCM on stdin needs --rate (and --channels if stereo)")
                source: AudioSource = PcmSource(
                    sys.stdin.buffer, args.rate, args.channels, roles, realtime=args.realtime
                )
            else:
                source = WavSource({"call": Path(path)}, roles, realtime=args.realtime)
            sources.append((name[0], source))
    except InputError:
        for _, opened in sources:
            opened.close()
        raise
    return sources


def _call_name(caller_file: Path) -> str:
    """The call id for a WAV per party: the caller file's name without its "_caller" ending."""
    return re.sub(r"[-_. ]?caller$", "", caller_file.stem, flags=re.IGNORECASE) or caller_file.stem


def _unique_names(files: list[str], explicit: str | None) -> list[tuple[str, str]]:
    """(call id, file) pairs; ids from file stems, made unique with a counter."""
    if files.count("-") > 1:
        raise InputError("stdin ('-') can carry only one call")
    seen: dict[str, int] = {}
    out = []
    for f in files:
        base = explicit or ("stdin" if f == "-" else Path(f).stem)
        seen[base] = seen.get(base, 0) + 1
        out.append((base if seen[base] == 1 else f"{base}-{seen[base]}", f))
    return out
