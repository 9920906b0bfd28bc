"""Several calls at once: one shared model, one pool of decoding threads (no more than
the cores), one task group, so that one failing call stops the others."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from monitor.errors import unwrap
from monitor.speech.recognizer import SpeechModel
from monitor.speech.session import CallOptions, CallSession, CallSpec, Emit


async def run_calls(
    specs: Sequence[CallSpec],
    model: SpeechModel,
    emit: Emit,
    *,
    options: CallOptions = CallOptions(),  # noqa: B008 (frozen: one shared default is safe)
    threads: int | None = None,
) -> None:
    """Monitor several calls at once, sharing the model; stop them all if one fails.

    `threads` caps the decoding threads (default: one per core). With one, a call's two
    parties are decoded one after the other.
    """
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    # No more decoding threads than cores: more only time-slice recognisers on a core, and
    # each swap evicts the other's working set from the CPU caches.
    parties = sum(len(spec.source.rates) for spec in specs)
    workers = max(1, min(parties, threads or cores()))
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vosk")
    try:
        sessions = [CallSession(spec, model, emit, options=options, executor=executor) for spec in specs]
        try:
            async with asyncio.TaskGroup() as group:  # one failing call ends the others
                for session in sessions:
                    group.create_task(session.run(), name=f"call-{session.call}")
        except BaseExceptionGroup as failed:
            raise unwrap(failed) from None
    finally:
        # Never wait for the workers here: this is the event loop, and a cancelled call may
        # leave a worker inside Kaldi for a while; waiting would also keep signals unanswered.
        executor.shutdown(wait=False, cancel_futures=True)


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
