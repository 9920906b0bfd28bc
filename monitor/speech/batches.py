"""A call's audio, from its source to the event loop in batches.

The audio source is read by a daemon thread (a blocked `stdin` read must never keep the
process from exiting) that hands its blocks to the event loop through a bounded queue.

Batches adapt to the load: a call decodes every block that has arrived since its last
decode, up to `MAX_BATCH_SECONDS`. Live, that is one 0.1 s block, so nothing waits.
When decoding falls behind (files decoded flat out, or an overloaded machine), each
worker job is longer: a recogniser's working set (its share of the decoding graph's
cache) stays in the CPU caches for the whole batch rather than being swapped out every
0.1 s for another call's. With more decoding threads than cores, or a job per block,
4 calls at once cost 10-25% more CPU than the same calls one after another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator

from monitor.speech.blocks import BLOCK_SECONDS, AudioBlock, AudioSource

log = logging.getLogger("heatmon")

MAX_BATCH_SECONDS = 2.0  # of audio per decode job when decoding has fallen behind
_MAX_BATCH_BLOCKS = round(MAX_BATCH_SECONDS / BLOCK_SECONDS)


class _End:
    """Marks the end of a source's blocks in the reader queue."""


async def audio_batches(source: AudioSource, call: str) -> AsyncIterator[list[AudioBlock]]:
    """The source's blocks, read by a daemon thread, in batches of whatever has arrived.

    The queue holds one batch at most, so a source that reads faster than we decode is
    held back (back-pressure) and a live source's own queue does the dropping.
    """
    loop = asyncio.get_running_loop()
    blocks: asyncio.Queue[AudioBlock | _End | BaseException] = asyncio.Queue(maxsize=_MAX_BATCH_BLOCKS)

    def hand_over(item: AudioBlock | _End | BaseException) -> None:
        put = blocks.put(item)
        try:
            asyncio.run_coroutine_threadsafe(put, loop).result()
        except RuntimeError:
            put.close()  # the loop is gone (the call was cancelled): never scheduled, close it
            raise

    def read() -> None:
        item: AudioBlock | _End | BaseException
        try:
            for item in source.blocks():
                hand_over(item)
            item = _End()
        except BaseException as err:  # handed to the event loop, raised there
            item = err
        # RuntimeError: the loop is gone, the call was cancelled and nobody is listening
        with contextlib.suppress(RuntimeError):
            hand_over(item)

    threading.Thread(target=read, name=f"audio-{call}", daemon=True).start()
    reported_drops = 0
    while True:
        batch, end = await _next_batch(blocks)
        dropped = getattr(source, "dropped", 0)
        if dropped > reported_drops:
            log.warning("%s: audio is arriving faster than it is decoded; %d blocks dropped", call, dropped)
            reported_drops = dropped
        if batch:
            yield batch
        if isinstance(end, BaseException):
            raise end
        if end is not None:
            return


async def _next_batch(
    blocks: asyncio.Queue[AudioBlock | _End | BaseException],
) -> tuple[list[AudioBlock], _End | BaseException | None]:
    """Wait for the next block, then take every block already queued behind it (up to a
    batch); also what ended the source, if that came with them."""
    batch: list[AudioBlock] = []
    item = await blocks.get()
    while not isinstance(item, (_End, BaseException)):
        batch.append(item)
        if len(batch) == _MAX_BATCH_BLOCKS or blocks.empty():
            return batch, None
        item = blocks.get_nowait()
    return batch, item
