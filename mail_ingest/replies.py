"""Composing answers to a member's mail: the "Re:" subject and the threading headers.

The claims service queues an answer with what it answers (payload ``answers``: the Message-ID
and References of the mail it came in, and, for a "Re:" subject, that mail's subject without
its prefixes); the mail sender turns it into headers here, at delivery time. Rows queued
before ``answers`` existed carry ``subject``, ``in_reply_to`` and ``references`` as headers
already, and are sent as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_SUBJECT_CHARS = 150
"""The answered subject is cut to this before "Re: " is put before it."""
DEFAULT_SUBJECT = "CPD"


@dataclass(frozen=True, slots=True)
class ReplyHeaders:
    """The subject and threading headers of one outbound mail (None: no such header)."""

    subject: str
    in_reply_to: str | None
    references: str | None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def reply_headers(payload: Mapping[str, Any]) -> ReplyHeaders:
    """The headers an outbox payload asks for: threaded under ``answers`` (with "Re: " and
    the answered subject when it names one, else the payload's own ``subject`` as the
    fallback), or the payload's legacy header fields."""
    answers = payload.get("answers")
    subject = _text(payload.get("subject"))
    if not isinstance(answers, Mapping):
        return ReplyHeaders(
            subject or DEFAULT_SUBJECT,
            _text(payload.get("in_reply_to")) or None,
            _text(payload.get("references")) or None,
        )
    if "subject" in answers:  # an answer: "Re: " the member's subject (or the fallback)
        subject = "Re: " + (_text(answers.get("subject")) or subject)[:MAX_SUBJECT_CHARS]
    return ReplyHeaders(
        subject or DEFAULT_SUBJECT,
        _text(answers.get("message_id")) or None,
        _text(answers.get("references")) or None,
    )
