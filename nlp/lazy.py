"""The shipped extractor, loaded on first need: ``cpd run`` builds its service with one, so a
process that never reads a text (the web desk alone, a mail channel that takes no claim yet, a
bot that only hears button presses) never pays for spaCy (about a second of CPU here).

What stores input (the SMTP listener, the Telegram fetcher) needs no NLP, so nothing waits
for the pipeline before storing: the first text to be read loads it (or waits for the load
already under way), and :meth:`LazyExtractor.wait_loaded` lets a caller make sure of it before
it starts work that counts attempts (the bot: a crash loop during the load must not use up an
update's attempts). The load runs once, in a thread of its own, so a caller that gives up
waiting (a stop) is not held by it.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cpd.nlp.activity import Activity
    from cpd.nlp.extract import Extractor


def _load_shipped() -> Extractor:
    from cpd.nlp.extract import load_extractor

    return load_extractor()


class LazyExtractor:
    """An extractor whose pipeline is loaded in a background thread when first needed."""

    def __init__(self, load: Callable[[], Extractor] = _load_shipped) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._loaded: concurrent.futures.Future[Extractor] | None = None

    @property
    def started(self) -> bool:
        """Whether the load has begun (it begins on first need, or with :meth:`start`)."""
        return self._loaded is not None

    def start(self) -> concurrent.futures.Future[Extractor]:
        """Begin loading (once) in a thread of its own; the future of the loaded extractor."""
        with self._lock:
            if self._loaded is None:
                self._loaded = concurrent.futures.Future()
                threading.Thread(target=self._run, name="cpd-nlp-load", daemon=True).start()
            return self._loaded

    def _run(self) -> None:
        assert self._loaded is not None
        try:
            self._loaded.set_result(self._load())
        except BaseException as exc:  # handed to whoever reads a text first
            self._loaded.set_exception(exc)

    def extract(self, text: str, today: dt.date, evidence_text: str = "") -> Activity:
        """The activity in ``text`` and what ``evidence_text`` (a certificate's OCR text) adds
        (the first call waits for the pipeline)."""
        return self.start().result().extract(text, today, evidence_text=evidence_text)

    def wait_loaded(self) -> None:
        """Load the pipeline if not yet begun and block until it is loaded (re-raising what
        made the load fail)."""
        self.start().result()
