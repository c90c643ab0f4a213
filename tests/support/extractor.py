"""A small deterministic stand-in for the NLP extractor, for claims-service unit tests.

It answers ``extract`` with the real ``cpd.nlp.Activity`` from a few keyword rules, so that
service tests do not depend on the trained model's accuracy (the real pipeline is used in the
end-to-end tests and measured by ``benchmarks/nlp_accuracy.py``).
"""

from __future__ import annotations

import datetime as dt
import re

from cpd.nlp import Activity

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


class StubExtractor:
    """Keyword kinds, "N hours"/"N hrs", "today"/"yesterday", IIMS/IMI/IIM/IBMS provider."""

    def extract(self, text: str, today: dt.date, evidence_text: str = "") -> Activity:
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
        return Activity(
            kind, hours, day, day, text[:40], provider, "passed" in lowered, None, confidence
        )
