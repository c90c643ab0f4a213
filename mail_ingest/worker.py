"""Running a blocking loop (IMAP session, spool drain) in a thread of its own from asyncio."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable


async def run_in_thread(blocking: Callable[[], None], stop: Callable[[], None], name: str) -> None:
    """Run ``blocking`` in a dedicated thread until it returns or this task is cancelled.

    Cancelling asks it to ``stop`` and waits for the thread to finish the item in hand, so
    nothing is left half done; then the cancellation goes on.
    """
    loop = asyncio.get_running_loop()
    executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=name)
    future = loop.run_in_executor(executor, blocking)
    try:
        await asyncio.shield(future)
    except asyncio.CancelledError:
        stop()
        await asyncio.wait({future})
        raise
    finally:
        executor.shutdown(wait=False)
