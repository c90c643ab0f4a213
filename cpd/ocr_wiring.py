"""The OCR worker of ``cpd run``: one daemon thread that reads waiting evidence files.

Off every intake's path: the channels store the file and the claim and answer; this thread
finds the files not read yet (every ``interval`` seconds, at once after a batch) and asks the
claims service to read them (:meth:`ClaimsService.read_evidence`). A kill loses nothing: a file
is marked read in the same transaction that stores its text, so an interrupted one is read
again after a restart. Without ``tesseract`` on the PATH the worker does not start (one warning;
the files wait until it is installed).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading

from cpd.claims.ocr import OcrLimits
from cpd.claims.service import ClaimsService
from cpd.settings import Settings

log = logging.getLogger("cpd.ocr")

INTERVAL_SECONDS = 2.0


def ocr_limits(settings: Settings) -> OcrLimits:
    """The reader's bounds from the settings."""
    return OcrLimits(
        max_pixels=int(settings.ocr_max_megapixels * 1_000_000),
        page_seconds=settings.ocr_page_seconds,
    )


class OcrWorker:
    """Reads waiting evidence in a thread of its own until :meth:`stop`."""

    def __init__(
        self, service: ClaimsService, limits: OcrLimits, interval: float = INTERVAL_SECONDS
    ) -> None:
        self.service = service
        self.limits = limits
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpd-ocr", daemon=True)

    def start(self) -> None:
        """Start reading."""
        self._thread.start()

    def wake(self) -> None:
        """Look for waiting files now."""
        self._wake.set()

    def stop(self, timeout: float = 0.5) -> None:
        """Stop after the file in hand (a page in Tesseract is left to its own timeout: the
        thread is a daemon and its file is read again after a restart)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            read = 0
            try:
                read = self.service.read_evidence(self.limits, self._stop)
            except Exception as exc:  # the database is away: try again later
                log.warning("OCR worker: %s", " ".join(str(exc).split())[:300])
            if read == 0:
                self._wake.wait(self.interval)
                self._wake.clear()


def start_ocr(settings: Settings, service: ClaimsService) -> OcrWorker | None:
    """The running OCR worker, or None when OCR is off or ``tesseract`` is missing."""
    if not settings.ocr:
        log.info("OCR: off (CPD_OCR=false)")
        return None
    limits = ocr_limits(settings)
    if shutil.which(limits.tesseract_cmd) is None:
        log.warning(
            "OCR: off, %s is not installed (Debian: tesseract-ocr tesseract-ocr-eng); "
            "evidence files wait unread until it is",
            limits.tesseract_cmd,
        )
        return None
    # One OpenMP thread per Tesseract run: on a small machine its threads only contend with
    # the rest of `cpd run` (measured here: 2.6 s a page with one thread, 3.0 s with all).
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    worker = OcrWorker(service, limits)
    worker.start()
    log.info(
        "OCR: reading photos and scanned PDFs (%g s a page, up to %g megapixels)",
        limits.page_seconds,
        settings.ocr_max_megapixels,
    )
    return worker
