"""The NLP step's result: one :class:`Activity` (the `cpd classify` fields), without spaCy, so
that the claims workflow can name it without loading the pipeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Activity:
    """One extracted activity; ``None`` wherever the text does not say."""

    kind: str
    hours: float | None
    start_date: dt.date | None
    end_date: dt.date | None
    title: str | None
    provider: str | None
    has_test: bool
    co_authors: int | None
    confidence: float
    flags: tuple[str, ...] = ()
    from_evidence: tuple[str, ...] = ()
    """The fields taken from the evidence text rather than the message (empty without one)."""

    def to_json(self) -> dict[str, Any]:
        """The `cpd classify` fields (CONTRACTS.md), dates as ISO strings, plus ``flags`` (and
        ``from_evidence`` when the evidence text gave any)."""
        fields: dict[str, Any] = {
            "kind": self.kind,
            "hours": self.hours,
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "title": self.title,
            "provider": self.provider,
            "has_test": self.has_test,
            "co_authors": self.co_authors,
            "confidence": round(self.confidence, 4),
            "flags": list(self.flags),
        }
        if self.from_evidence:
            fields["from_evidence"] = list(self.from_evidence)
        return fields


NO_TEXT = Activity(
    kind="other",
    hours=None,
    start_date=None,
    end_date=None,
    title=None,
    provider=None,
    has_test=False,
    co_authors=None,
    confidence=0.0,
)
"""What a message without words says."""
