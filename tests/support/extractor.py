"""A small deterministic stand-in for the NLP extractor, for claims-service unit tests.

It implements the same interface as ``cpd.nlp.Extractor.extract`` with a few keyword rules, so
that service tests do not depend on the trained model's accuracy (the real pipeline is used in
the end-to-end tests and measured by ``benchmarks/nlp_accuracy.py``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

KEYWORDS = (
    ("boat show", "exhibition"),
    ("webinar", "training"),
    ("course", "training"),
    ("training day", "training"),
    ("conference", "conference"),
    ("read", "reading"),
    ("lecture", "teaching"),
    ("article", "article"),
)


@dataclass(frozen=True)
class StubActivity:
    """The fields of ``cpd.nlp.Activity`` that the service reads."""

    kind: str
    hours: float | None
    start_date: dt.date | None
    end_date: dt.date | None
    title: str | None
    provider: str | None
    has_test: bool
    confidence: float
    co_authors: int | None = None
    flags: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "hours": self.hours,
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "title": self.title,
            "provider": self.provider,
            "has_test": self.has_test,
            "co_authors": self.co_authors,
            "confidence": self.confidence,
            "flags": list(self.flags),
        }


class StubExtractor:
    """Keyword kinds, "N hours"/"N hrs", "today"/"yesterday", IIMS/IMI/IIM/IBMS provider."""

    def extract(self, text: str, today: dt.date) -> StubActivity:
        lowered = text.lower()
        kind, confidence = "other", 0.3
        for word, found in KEYWORDS:
            if word in lowered:
                kind, confidence = found, 0.9
                break
        match = re.search(r"(-?\d+(?:\.\d+)?)\s*(?:hours|hrs|h)\b", lowered)
        hours = float(match.group(1)) if match else None
        day = (
            today - dt.timedelta(days=1)
            if "yesterday" in lowered
            else (today if "today" in lowered else None)
        )
        provider = "institute" if re.search(r"\b(iims|imi|iim|ibms)\b", lowered) else None
        return StubActivity(
            kind, hours, day, day, text[:40], provider, "passed" in lowered, confidence
        )
