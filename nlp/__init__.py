"""Offline spaCy pipeline: from a member's words to an activity (kind, hours, dates, provider...).

Pure: text and a date in, values out. Imports nothing from other ``cpd`` packages and does no
IO beyond loading its own model and corpus.

    >>> from cpd.nlp import load_extractor
    >>> a = load_extractor().extract("IIMS webinar yesterday 2-4pm", datetime.date(2026, 3, 4))
    >>> a.to_json()["hours"], a.to_json()["start_date"]
    (2.0, '2026-03-03')

Modules: ``normalise`` (clean-up), ``numbers``, ``durations`` (hours; with
``duration_phrases`` and ``time_ranges``), ``dates``, ``attributes`` (test, co-authors, title;
``provider`` has its own module), ``gazetteers``, ``hints`` (kind cues), ``pipeline`` (spaCy
components and classifier), ``extract`` (Activity, Extractor), ``lazy`` (the extractor loaded on
first need, for ``cpd run``), ``training`` (train and score).
"""

from typing import TYPE_CHECKING, Any

from cpd.nlp.confidence import LOW_CONFIDENCE
from cpd.nlp.kinds import KINDS

if TYPE_CHECKING:
    from cpd.nlp.activity import Activity
    from cpd.nlp.extract import Extractor, load_extractor
    from cpd.nlp.training import train

__all__ = ["KINDS", "LOW_CONFIDENCE", "Activity", "Extractor", "load_extractor", "train"]

_LAZY = {
    "Activity": "cpd.nlp.activity",
    "Extractor": "cpd.nlp.extract",
    "load_extractor": "cpd.nlp.extract",
    "train": "cpd.nlp.training",
}


def __getattr__(name: str) -> Any:
    """spaCy (about 1.5 s to import) loads on first use of what needs it, not with the package."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cpd.nlp' has no attribute {name!r}")
