"""From a member's message and its date to an :class:`Activity` (the `cpd classify` fields).

Input is cleaned (:mod:`cpd.nlp.normalise`), cut to a bounded length, run through the saved
spaCy pipeline (:mod:`cpd.nlp.pipeline`) and assembled here. Problems with the input never
raise: they come back as ``flags`` (``no_text``, ``truncated``, ``not_english``,
``negative_hours``, ``implausible_hours``, ``future_date``, ``test_failed``, ``hours_range``,
``low_confidence``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from cpd.nlp import attributes
from cpd.nlp import pipeline as _pipeline  # noqa: F401  (registers components and architecture)
from cpd.nlp.activity import Activity
from cpd.nlp.certificates import CertificateCues, read_certificate
from cpd.nlp.confidence import LOW_CONFIDENCE
from cpd.nlp.hints import combine
from cpd.nlp.kinds import AUTHORED_KINDS, KINDS
from cpd.nlp.normalise import MAX_CHARS, clean, has_letters, looks_english, truncate

DEFAULT_MODEL_DIR = Path(__file__).parent / "model"
FALLBACK_KIND = "other"


class Extractor:
    """Turns texts into activities with one loaded pipeline (use :func:`load_extractor`)."""

    def __init__(self, nlp: Language) -> None:
        self.nlp = nlp

    def extract(self, text: str, today: dt.date, evidence_text: str = "") -> Activity:
        """The activity described by ``text``, dates resolved against ``today``.

        ``evidence_text`` is what the evidence says (a certificate's OCR text, a PDF's text
        layer): it fills only what the member's words lack (kind, hours, dates, provider,
        title), reading certificate wording as cues of its own (:mod:`cpd.nlp.certificates`);
        the fields it filled are named in ``from_evidence``.
        """
        if not has_letters(evidence_text or ""):
            return self.extract_many([(text, today)])[0]
        message, evidence = self.extract_many([(text, today), (evidence_text, today)])
        return with_evidence(message, evidence, read_certificate(evidence_text, today))

    def extract_many(
        self, items: Iterable[tuple[str, dt.date]], batch_size: int = 256
    ) -> list[Activity]:
        """Activities for many ``(text, today)`` pairs, in order, in batches via ``nlp.pipe``."""
        prepared: list[tuple[Doc, list[str], bool]] = []
        for text, today in items:
            doc, flags, usable = self._prepare(text, today)
            prepared.append((doc, flags, usable))
        # Only texts with letters go through the pipeline (an empty doc has no n-grams).
        docs = iter(
            self.nlp.pipe((d for d, _, usable in prepared if usable), batch_size=batch_size)
        )
        return [
            self._assemble(next(docs) if usable else doc, flags, usable)
            for doc, flags, usable in prepared
        ]

    def _prepare(self, text: str, today: dt.date) -> tuple[Doc, list[str], bool]:
        flags: list[str] = []
        raw = text if isinstance(text, str) else ""
        raw, cut = truncate(raw, MAX_CHARS * 4)
        cleaned, cut2 = truncate(clean(raw), MAX_CHARS)
        if cut or cut2:
            flags.append("truncated")
        usable = has_letters(cleaned)
        if not usable:
            flags.append("no_text")
        elif not looks_english(cleaned):
            flags.append("not_english")
        doc = self.nlp.make_doc(cleaned if usable else "")
        if isinstance(today, dt.datetime):
            today = today.date()
        doc._.cpd_today = today
        doc._.cpd_text = cleaned if usable else ""
        return doc, flags, usable

    def _assemble(self, doc: Doc, flags: list[str], usable: bool) -> Activity:
        if not usable:
            return Activity(
                FALLBACK_KIND,
                None,
                None,
                None,
                None,
                None,
                False,
                None,
                0.0,
                tuple(flags + ["low_confidence"]),
            )
        text = doc._.cpd_text or doc.text
        probs = [doc.cats.get(k, 0.0) for k in KINDS]
        best, confidence = combine(probs, doc._.cpd_cues or [0.0] * len(KINDS))
        kind = KINDS[best]
        if "not_english" in flags:
            confidence = min(confidence, LOW_CONFIDENCE / 2)

        hours_result = doc._.cpd_hours
        dates_result = doc._.cpd_dates
        hours = hours_result.hours
        flags.extend(hours_result.flags)
        start = end = None
        spans = list(hours_result.spans)
        if dates_result is not None:
            start, end = dates_result.start, dates_result.end
            flags.extend(dates_result.flags)
            spans.extend(dates_result.spans)
        if hours_result.per_day is not None and start is not None and end is not None:
            hours = round(hours_result.per_day * ((end - start).days + 1), 2)
        if hours is not None and start is not None and end is not None:
            days = (end - start).days + 1
            if hours > 24 * days and "implausible_hours" not in flags:
                flags.append("implausible_hours")

        test, test_flags = attributes.has_test(text, kind)
        flags.extend(test_flags)
        co = attributes.co_authors(text, kind) if kind in AUTHORED_KINDS else None
        title = attributes.title(text, spans)
        if confidence < LOW_CONFIDENCE:
            flags.append("low_confidence")
        return Activity(
            kind=kind,
            hours=hours,
            start_date=start,
            end_date=end,
            title=title,
            provider=doc._.cpd_provider,
            has_test=test,
            co_authors=co,
            confidence=float(confidence),
            flags=tuple(dict.fromkeys(flags)),
        )


def _says(activity: Activity) -> bool:
    """Whether the member's words name the activity (a kind the model is sure of)."""
    return activity.kind != FALLBACK_KIND and activity.confidence >= LOW_CONFIDENCE


def with_evidence(message: Activity, evidence: Activity, cert: CertificateCues) -> Activity:
    """The message's activity with what it lacks filled from the evidence: certificate wording
    first, then the pipeline's reading of the evidence text."""
    filled: list[str] = []

    def pick(field: str, own: Any, *others: Any) -> Any:
        if own is not None:
            return own
        for other in others:
            if other is not None:
                filled.append(field)
                return other
        return None

    kind, confidence = message.kind, message.confidence
    if not _says(message):
        if cert.kind is not None:
            kind, confidence = cert.kind, max(evidence.confidence, LOW_CONFIDENCE + 0.2)
            filled.append("kind")
        elif _says(evidence):
            kind, confidence = evidence.kind, evidence.confidence
            filled.append("kind")
    hours = pick("hours", message.hours, cert.hours, evidence.hours)
    start, end = message.start_date, message.end_date
    if start is None:
        source: CertificateCues | Activity = cert if cert.start_date is not None else evidence
        start, end = source.start_date, source.end_date
        if start is not None:
            filled.append("start_date")
    title = message.title
    if "kind" in filled or title is None:
        title = pick("title", None, cert.title, evidence.title) or message.title
    flags = [f for f in message.flags if f not in ("no_text", "low_confidence")]
    if confidence < LOW_CONFIDENCE:
        flags.append("low_confidence")
    if cert.is_certificate:
        flags.append("certificate")
    return Activity(
        kind=kind,
        hours=hours,
        start_date=start,
        end_date=end,
        title=title,
        provider=pick("provider", message.provider, cert.provider, evidence.provider),
        has_test=message.has_test or evidence.has_test,
        co_authors=message.co_authors,
        confidence=float(confidence),
        flags=tuple(dict.fromkeys(flags)),
        from_evidence=tuple(dict.fromkeys(filled)),
    )


_cache: dict[Path, Extractor] = {}
_lock = threading.Lock()


def load_extractor(model_dir: Path | None = None) -> Extractor:
    """The extractor for ``model_dir`` (default: the shipped model), loaded once per process."""
    path = Path(model_dir or DEFAULT_MODEL_DIR).resolve()
    with _lock:
        if path not in _cache:
            if not (path / "config.cfg").exists():
                raise FileNotFoundError(
                    f"no trained pipeline at {path}: run `cpd nlp train` to build one"
                )
            _cache[path] = Extractor(spacy.load(path))
        return _cache[path]
