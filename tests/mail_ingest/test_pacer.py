"""The outbound mail pacer (``CPD_MAIL_RATE``) on a fake clock, and its setting."""

from __future__ import annotations

import asyncio

import pytest

from cpd.mail_ingest.pacer import Pacer, parse_rate
from cpd.settings import Settings


@pytest.mark.parametrize(
    ("value", "rate"),
    [("10", 10.0), (" 2.5 ", 2.5), ("0", None), ("unlimited", None), ("", None), (50, 50.0)],
)
def test_rates_are_read_with_zero_and_unlimited_meaning_no_limit(
    value: str | int, rate: float | None
) -> None:
    assert parse_rate(value) == rate


@pytest.mark.parametrize("value", ["-1", "fast", "nan"])
def test_a_bad_rate_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(value)


def test_the_setting_defaults_to_ten_a_second_and_refuses_nonsense(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().mail_rate_per_second == 10.0
    assert Settings(mail_rate="unlimited").mail_rate_per_second is None
    with pytest.raises(ValueError, match="mails a second"):
        Settings(mail_rate="lots")


def test_the_pacer_spaces_mails_after_its_first_and_does_not_wait_without_a_limit() -> None:
    now = [0.0]
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    async def go(pacer: Pacer, count: int) -> None:
        for _ in range(count):
            await pacer.wait()

    original = asyncio.sleep
    asyncio.sleep = fake_sleep  # type: ignore[assignment]
    try:
        asyncio.run(go(Pacer(4.0, clock=lambda: now[0]), 9))
        assert now[0] == pytest.approx(2.0)  # the first at once, then one every 0.25 s
        waits.clear()
        asyncio.run(go(Pacer(None, clock=lambda: now[0]), 1000))
        assert waits == []
    finally:
        asyncio.sleep = original  # type: ignore[assignment]
