"""Python 3.10 support for what asyncio gained in 3.11."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

if sys.version_info >= (3, 11):
    timeout = asyncio.timeout
else:

    @contextlib.asynccontextmanager
    async def timeout(delay: float | None) -> AsyncIterator[None]:
        """`asyncio.timeout` for 3.10: cancel the block after `delay` s, raising TimeoutError."""
        task = asyncio.current_task()
        assert task is not None, "timeout() is used inside a task"
        fired = False

        def expire() -> None:
            nonlocal fired
            fired = True
            task.cancel()

        handle = None if delay is None else asyncio.get_running_loop().call_later(max(delay, 0.0), expire)
        try:
            yield
        except asyncio.CancelledError as err:
            if fired:
                raise TimeoutError from err
            raise
        finally:
            if handle is not None:
                handle.cancel()
