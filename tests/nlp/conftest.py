"""Shared fixtures for the NLP tests: the shipped pipeline, loaded once per session."""

from __future__ import annotations

import datetime as dt

import pytest

from cpd.nlp import Extractor, load_extractor

# A Thursday, so "on Monday" and "last Friday" land in different weeks.
TODAY = dt.date(2026, 3, 12)


@pytest.fixture(scope="session")
def extractor() -> Extractor:
    """The default model, loaded once for every test that needs it."""
    return load_extractor()


@pytest.fixture()
def today() -> dt.date:
    return TODAY
