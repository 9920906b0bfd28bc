"""The `heatmon ingest` service: one desk of live calls, the listeners asked for, clean stops.

A stop (SIGTERM from a service manager, SIGINT from Ctrl-C) refuses new calls, ends every
live call so its last words still become a turn and its `call_ended` goes out with
`ended_by: "shutdown"`, then closes the listeners.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import signal
from collections.abc import Callable

from monitor.errors import HeatmonError
from monitor.events import Event
from monitor.ingest.calls import CallDesk
from monitor.ingest.listeners import ADAPTERS, KINDS, Listener, ListenerKind
from monitor.ingest.live_call import SHUTDOWN

log = logging.getLogger("heatmon")


class ListenError(HeatmonError):
    """A listener could not bind its address (taken, not this machine's, no permission)."""


def load_adapters() -> dict[str, ListenerKind]:
    """Import every adapter module; each registers its listener kind."""
    for module in ADAPTERS:
        importlib.import_module(module)
    return KINDS


async def start_listeners(
    desk: CallDesk, wanted: list[tuple[ListenerKind, tuple[str, int]]], args: argparse.Namespace
) -> list[Listener]:
    """Start each listener; if one cannot (port taken), close those already started."""
    listeners: list[Listener] = []
    try:
        for kind, address in wanted:
            try:
                listener = await kind.start(desk, address, args)
            except OSError as err:
                raise ListenError(
                    f"cannot listen on {address[0]}:{address[1]} for {kind.name}: {err.strerror}"
                ) from err
            host, port = listener.address
            log.info("%s: listening on %s:%d", kind.name, host, port)
            listeners.append(listener)
    except BaseException:
        for listener in listeners:
            await listener.close()
        raise
    return listeners


async def serve(
    desk: CallDesk,
    wanted: list[tuple[ListenerKind, tuple[str, int]]],
    args: argparse.Namespace,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[list[Listener]], None] | None = None,
) -> None:
    """Run until `stop` is set or SIGTERM/SIGINT arrives; then end every call and listener."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
    listeners: list[Listener] = []
    try:
        listeners = await start_listeners(desk, wanted, args)
        if on_ready is not None:
            on_ready(listeners)
        await stop.wait()
        log.info("stopping: ending %d live calls", len(desk.calls))
    finally:
        await desk.close(SHUTDOWN)
        for listener in listeners:
            await listener.close()
        for signum in handled:
            loop.remove_signal_handler(signum)


Emit = Callable[[Event], None]
