"""The OCR settings and the worker's start in ``cpd run``: off by setting, off (one warning)
without ``tesseract``, bounds from the settings, a bad value one line naming the setting; the
worker thread reads what waits and stops when told. No Tesseract run here."""

from __future__ import annotations

import logging
import threading
import time
from typing import cast

import pytest

from cpd.claims.ocr import OcrLimits
from cpd.claims.service import ClaimsService
from cpd.ocr_wiring import OcrWorker, ocr_limits, start_ocr
from cpd.settings import SettingsError, load_settings

pytestmark = pytest.mark.usefixtures("clean_cpd_env")  # tests/support/environment.py


class CountingService:
    """Stands in for the claims service: counts the worker's calls, one file waiting once."""

    def __init__(self) -> None:
        self.calls = 0
        self.called = threading.Event()

    def read_evidence(self, limits: OcrLimits, stop: threading.Event | None = None) -> int:
        self.calls += 1
        self.called.set()
        return 1 if self.calls == 1 else 0


def as_service(stand_in: CountingService) -> ClaimsService:
    """The stand-in where the worker expects the service (it calls only read_evidence)."""
    return cast(ClaimsService, stand_in)


def test_bounds_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPD_OCR_PAGE_SECONDS", "7.5")
    monkeypatch.setenv("CPD_OCR_MAX_MEGAPIXELS", "12")
    limits = ocr_limits(load_settings())
    assert (limits.page_seconds, limits.max_pixels) == (7.5, 12_000_000)


@pytest.mark.parametrize(
    ("name", "value"), [("CPD_OCR_PAGE_SECONDS", "0"), ("CPD_OCR_MAX_MEGAPIXELS", "-1")]
)
def test_a_bad_ocr_value_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=f"^{name}: "):
        load_settings()


def test_off_by_setting_or_without_tesseract(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    service = CountingService()
    monkeypatch.setenv("CPD_OCR", "false")
    assert start_ocr(load_settings(), service) is None  # type: ignore[arg-type]
    monkeypatch.setenv("CPD_OCR", "true")
    monkeypatch.setenv("PATH", "/nonexistent")
    with caplog.at_level(logging.WARNING, logger="cpd.ocr"):
        assert start_ocr(load_settings(), service) is None  # type: ignore[arg-type]
    assert "tesseract is not installed" in caplog.text and service.calls == 0


def test_the_worker_reads_until_stopped() -> None:
    service = CountingService()
    worker = OcrWorker(as_service(service), OcrLimits(), interval=0.05)
    worker.start()
    deadline = time.monotonic() + 10
    while service.calls < 3 and time.monotonic() < deadline:
        service.called.wait(0.1)
    assert service.calls >= 3  # at once again after a file, then every interval
    worker.stop(timeout=5)
    assert not worker._thread.is_alive()
