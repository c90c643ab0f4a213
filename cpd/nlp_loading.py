"""The NLP pipeline for ``cpd run``: loaded in a thread of its own while the channels start,
and waited for before the first text is read."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import threading
from typing import Any

from cpd.claims.service import ClaimsService


class BackgroundExtractor:
    """The NLP extractor, loading in a thread of its own from the moment ``cpd run`` builds the
    service: the SMTP listener and the Telegram fetcher only store what comes in, so they start
    while spaCy loads (about 2 s of a restart); the first text to be read waits for it."""

    def __init__(self) -> None:
        self._loaded: concurrent.futures.Future[Any] = concurrent.futures.Future()
        threading.Thread(target=self._load, name="cpd-nlp-load", daemon=True).start()

    def _load(self) -> None:
        try:
            from cpd.nlp import load_extractor

            self._loaded.set_result(load_extractor())
        except BaseException as exc:  # handed to whoever reads a text first
            self._loaded.set_exception(exc)

    def extract(self, text: str, today: dt.date, evidence_text: str = "") -> Any:
        """The activity in ``text`` (and what ``evidence_text`` adds; waits for the pipeline
        on the first call)."""
        if evidence_text:
            return self._loaded.result().extract(text, today, evidence_text=evidence_text)
        return self._loaded.result().extract(text, today)

    def wait_loaded(self) -> None:
        """Block until the pipeline is loaded (re-raising what made the load fail)."""
        self._loaded.result()


async def nlp_loaded(service: ClaimsService, stopping: asyncio.Event) -> bool:
    """Wait until the service's NLP pipeline is loaded (True), or until stopping (False).

    The bot handles an update only after this: every attempt at an update counts toward
    giving it up, and a crash loop during the load must not use those attempts up.
    """
    wait = getattr(service.extractor, "wait_loaded", None)
    if wait is None:
        return True
    loaded = asyncio.ensure_future(asyncio.to_thread(wait))
    stop = asyncio.ensure_future(stopping.wait())
    await asyncio.wait({loaded, stop}, return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    if not loaded.done():
        return False
    loaded.result()
    return True
