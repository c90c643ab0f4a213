"""Waiting on a condition, never on a hope: poll until ``check`` is true or fail with what was
awaited (and, optionally, what the process under test logged)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def _poll(
    check: Callable[[], T],
    deadline: float,
    timeout: float,
    what: str,
    detail: Callable[[], str] | None,
) -> T | None:
    """``check()`` if truthy; None to go on polling; AssertionError once past ``deadline``."""
    value = check()
    if value:
        return value
    if time.monotonic() > deadline:
        extra = f"\n{detail()}" if detail is not None else ""
        raise AssertionError(f"timed out after {timeout} s waiting for {what or check}{extra}")
    return None


def wait_until(
    check: Callable[[], T],
    timeout: float = 20.0,
    *,
    what: str = "",
    interval: float = 0.05,
    detail: Callable[[], str] | None = None,
) -> T:
    """Poll ``check`` until it returns something truthy (returned); AssertionError after
    ``timeout`` seconds naming ``what``, with ``detail()`` (a log tail, say) appended."""
    deadline = time.monotonic() + timeout
    while (value := _poll(check, deadline, timeout, what, detail)) is None:
        time.sleep(interval)
    return value


async def wait_until_async(
    check: Callable[[], T], timeout: float = 20.0, *, what: str = "", interval: float = 0.02
) -> T:
    """``wait_until`` on a running event loop (the loop keeps running while it waits)."""
    deadline = time.monotonic() + timeout
    while (value := _poll(check, deadline, timeout, what, None)) is None:
        await asyncio.sleep(interval)
    return value
