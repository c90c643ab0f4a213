"""Offline spaCy pipeline: from a member's words to an activity (kind, hours, dates, provider...).

Pure: text and a date in, values out. Imports nothing from other ``cpd`` packages and does no
IO beyond loading its own model and corpus.

>>> from cpd.nlp import load_extractor
>>> load_extractor().extract("IIMS webinar yesterday 2-4pm", datetime.date(2026, 3, 4)).hours
2.0
"""

from cpd.nlp.extract import LOW_CONFIDENCE, Activity, Extractor, load_extractor
from cpd.nlp.kinds import KINDS

__all__ = ["KINDS", "LOW_CONFIDENCE", "Activity", "Extractor", "load_extractor", "train"]


def train(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Lazy alias of :func:`cpd.nlp.training.train` (see there)."""
    from cpd.nlp.training import train as _train

    return _train(*args, **kwargs)
