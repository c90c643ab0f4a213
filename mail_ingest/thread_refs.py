"""What a mail's threading headers and subject say, for the intake: which of the product's
mails it answers, whether it answers a reminder, and whether it is a claim, a dispensation
request or a reply (:class:`~cpd.claims.intake.Intent`).

The claims service decides by these values; it never reads a header or a subject itself.
"""

from __future__ import annotations

import re

from cpd.claims.intake import Intent, MailThread
from cpd.claims.threads import LOCAL_PATTERN

MAX_REFERENCES = 20
"""References read from a reply, newest first."""
DISPENSATION_WORD = "dispensation"
_REFERENCE = re.compile(rf"<?\s*({LOCAL_PATTERN})@[^<>\s]+\s*>?")
_PREFIX = re.compile(r"^\s*(re|aw|fwd?)\s*:\s*", re.IGNORECASE)
_REMINDER_ID = re.compile(r"<?cpd-reminder\.\d{1,12}\.[0-9a-f]{16}@[^<>\s]+>?")


def answered(message_id: str | None, in_reply_to: str | None, references: str | None) -> list[str]:
    """The product's Message-ID local parts a mail refers to: ``In-Reply-To`` first, then
    ``References`` from the newest; the mail's own Message-ID never counts."""
    own = message_id or ""
    candidates = [in_reply_to or ""]
    candidates += reversed((references or "").split()[-MAX_REFERENCES:])
    found: list[str] = []
    for value in candidates:
        if not value or value == own:
            continue
        match = _REFERENCE.fullmatch(value.strip())
        if match is not None and match.group(1) not in found:
            found.append(match.group(1))
    return found


def answers_reminder(
    message_id: str | None, in_reply_to: str | None, references: str | None
) -> bool:
    """Whether a mail answers one of the product's reminder mails."""
    ids = [in_reply_to or ""] + (references or "").split()
    own = message_id or ""
    return any(i and i != own and _REMINDER_ID.fullmatch(i.strip()) for i in ids)


def thread_of(message_id: str | None, in_reply_to: str | None, thread: str | None) -> MailThread:
    """The intake's :class:`MailThread` for a mail's ``Message-ID`` and ``In-Reply-To``, and
    ``thread``: the References an answer continues (its References, else In-Reply-To, and
    its own Message-ID)."""
    return MailThread(
        message_id=message_id,
        references=thread,
        answers=tuple(answered(message_id, in_reply_to, thread)),
        reminder=answers_reminder(message_id, in_reply_to, thread),
    )


def is_dispensation_subject(subject: str) -> bool:
    """Whether a mail's subject asks for a dispensation ("Dispensation", "Re: dispensation")."""
    words = subject.strip().lower().removeprefix("re:").removeprefix("fwd:").strip()
    return words.startswith(DISPENSATION_WORD)


def intent_of(subject: str, thread: MailThread) -> Intent:
    """A reply when the mail answers one of the product's mails about a claim, else a
    dispensation request when its subject says so, else a claim."""
    if thread.answers:
        return Intent.REPLY
    if is_dispensation_subject(subject):
        return Intent.DISPENSATION
    return Intent.CLAIM


def body_of(text: str, subject: str) -> str:
    """A mail intake's words without the subject line put first."""
    if subject and text.startswith(subject):
        return text[len(subject) :].strip()
    return text.strip()


def plain_subject(subject: str) -> str:
    """The subject without its reply or forward prefixes ("Re: Fwd: Boat show" -> "Boat
    show"): what the intake carries, and what an answer puts "Re: " before."""
    previous = None
    while previous != subject:
        previous, subject = subject, _PREFIX.sub("", subject, count=1)
    return subject
