"""The wait-until helpers return what the condition gave and fail naming what was awaited."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from tests.support.waiting import wait_until, wait_until_async


def test_returns_the_first_truthy_value() -> None:
    counter = itertools.count()
    assert wait_until(lambda: next(counter) >= 3 and "done", timeout=5, interval=0.001) == "done"


def test_times_out_naming_what_and_the_detail() -> None:
    with pytest.raises(AssertionError, match="the moon(.|\n)*log tail"):
        wait_until(lambda: False, timeout=0.05, what="the moon", detail=lambda: "log tail")


def test_async_version_lets_the_loop_run() -> None:
    async def scenario() -> int:
        box: list[int] = []
        asyncio.get_running_loop().call_later(0.05, box.append, 7)
        return await wait_until_async(lambda: box and box[0], timeout=5)

    assert asyncio.run(scenario()) == 7
    with pytest.raises(AssertionError, match="nothing"):
        asyncio.run(wait_until_async(lambda: None, timeout=0.05, what="nothing"))
