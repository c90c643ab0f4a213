"""A mail's intake with who sent it: the verdict, the author and the envelope sender.

Each way mail comes in calls :func:`checked_intake` (SMTP direct and spooled, IMAP), so the
three check senders the same way. It blocks for the DNS lookups (at most about two seconds
a mail while DNS is down): call it in a worker thread.

In ``off`` mode ``From:`` is believed as it was before verification existed (tests and
development only): no author is looked for, so nothing is refused for its form.
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

from cpd.claims.intake import MAX_ATTACHMENTS, Intake
from cpd.mail_ingest.envelope import Envelope
from cpd.mail_ingest.parse import ParsedMail, to_intake
from cpd.mail_ingest.sender_auth import MailAuthConfig, Verification
from cpd.mail_ingest.sender_identity import author_of


def checked_intake(
    auth: MailAuthConfig,
    parsed: ParsedMail,
    raw: bytes,
    received_at: dt.datetime,
    envelope: Envelope | None,
    *,
    max_attachments: int = MAX_ATTACHMENTS,
    smtp: bool = True,
    verification: Verification | None = None,
) -> Intake:
    """The intake of one mail, verified as ``auth`` says (``smtp`` False: no SPF, as for
    IMAP, whose ``envelope`` only carries the Return-Path as ``mail_from``).

    ``verification``: the verdict already reached for ``raw`` with :func:`sender_trace` of
    this envelope (by the verifier process), so it is not verified again here.
    """
    if verification is None:
        verification = auth.verify(raw, **sender_trace(envelope, smtp=smtp))
    return to_intake(
        parsed,
        raw,
        received_at,
        max_attachments=max_attachments,
        verification=verification,
        author=None if auth.mode == "off" else author_of(raw),
        envelope_sender=envelope.mail_from if envelope is not None else None,
    )


class SenderTrace(TypedDict):
    """The SMTP session's part of a verification, as keyword arguments of ``verify``."""

    client_ip: str | None
    helo: str | None
    mail_from: str | None


def sender_trace(envelope: Envelope | None, *, smtp: bool = True) -> SenderTrace:
    """The SMTP session's part of a verification (``client_ip``, ``helo``, ``mail_from``):
    all None without an envelope or off SMTP (no SPF)."""
    known = envelope is not None and smtp
    return SenderTrace(
        client_ip=envelope.client_ip if known and envelope is not None else None,
        helo=envelope.helo if known and envelope is not None else None,
        mail_from=envelope.mail_from if known and envelope is not None else None,
    )
