"""Mail intakes for claims-level tests, built as ``mail_ingest.parse.to_intake`` builds them
(intent, thread and body from the mail channel's own readers)."""

from __future__ import annotations

import datetime as dt

from cpd.claims.intake import Intake, Sender
from cpd.mail_ingest.thread_refs import body_of, intent_of, plain_subject, thread_of


def mail_intake(
    text: str,
    sender: str,
    message_id: str,
    received_at: dt.datetime,
    *,
    subject: str = "CPD claim",
    in_reply_to: str | None = None,
    references: str | None = None,
    automatic: bool = False,
    recipients: tuple[str, ...] = (),
    verification: str | None = None,
) -> Intake:
    """A mail intake (``text`` as the channel gives it: subject line first when it has one)."""
    thread = thread_of(message_id, in_reply_to, references)
    return Intake(
        "email",
        f"email:{message_id}",
        Sender(email=sender),
        text,
        received_at,
        intent=intent_of(subject, thread),
        reply_to=thread,
        subject=plain_subject(subject),
        body=body_of(text, subject),
        automatic=automatic,
        recipients=recipients,
        verification=verification,
    )
