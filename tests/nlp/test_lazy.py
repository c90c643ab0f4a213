"""The extractor ``cpd run`` uses: loaded on first need, once, in a thread of its own."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any, cast

import pytest

from cpd.nlp.extract import Extractor
from cpd.nlp.lazy import LazyExtractor

TODAY = dt.date(2026, 3, 4)


class _Loaded:
    """Stands in for a loaded ``Extractor``: answers with the text it was given."""

    def extract(self, text: str, today: dt.date, evidence_text: str = "") -> Any:
        return (text, today)


class _Loader:
    """Counts loads; each waits for ``release`` (so a test can look while one is under way)."""

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.threads: list[str] = []
        self.release = threading.Event()
        self.fail = fail

    def __call__(self) -> Extractor:
        self.calls += 1
        self.threads.append(threading.current_thread().name)
        self.release.wait(10)
        if self.fail:
            raise OSError("model directory unreadable")
        return cast(Extractor, _Loaded())


def test_nothing_is_loaded_until_a_text_needs_it_then_once_for_all_callers() -> None:
    loader = _Loader()
    lazy = LazyExtractor(loader)
    assert not lazy.started and loader.calls == 0
    results: list[Any] = []
    readers = [
        threading.Thread(target=lambda n=n: results.append(lazy.extract(f"text {n}", TODAY)))
        for n in range(4)
    ]
    for reader in readers:
        reader.start()
    lazy.start()  # a caller that only asks for the load joins the one under way
    loader.release.set()
    for reader in readers:
        reader.join(10)
    assert sorted(results) == [(f"text {n}", TODAY) for n in range(4)]
    assert loader.calls == 1 and loader.threads == ["cpd-nlp-load"]
    lazy.wait_loaded()
    assert loader.calls == 1


def test_wait_loaded_begins_the_load_and_a_failed_load_reaches_every_reader() -> None:
    loader = _Loader(fail=True)
    loader.release.set()
    lazy = LazyExtractor(loader)
    with pytest.raises(OSError, match="unreadable"):
        lazy.wait_loaded()
    with pytest.raises(OSError, match="unreadable"):
        lazy.extract("boat show today 4 hours", TODAY)
    assert loader.calls == 1


def test_the_shipped_pipeline_loads_on_first_need() -> None:
    lazy = LazyExtractor()
    assert not lazy.started
    assert lazy.extract("IIMS webinar yesterday 2-4pm", TODAY).hours == 2.0
