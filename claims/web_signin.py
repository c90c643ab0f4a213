"""Sign-in links asked for by mail address (the start page's form) or in chat (``/web``).

A mailed link goes to the member's *registered* address through the outbox (the mail sender
delivers it), so only that mailbox ever sees it. The page answers alike whether or not the
address is registered; what tells them apart is only in the outbox and the audit log. Asks are
counted in the database per address and per client (so every instance shares the counts),
keyed by a sha256, never the address itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from cpd.claims import recipients
from cpd.claims.intake import NotLinked, Sender
from cpd.claims.members import token_digest
from cpd.claims.notifications import queue
from cpd.claims.web_access import LINK_VALID, create_link
from cpd.storage import Engine, reading, transaction
from cpd.storage import members as members_repo
from cpd.storage.bounces import secret
from cpd.storage.queries import add_audit
from cpd.storage.web import add_web_token
from cpd.storage.web_ops import adopt_secret, count_attempts

WINDOW = dt.timedelta(hours=1)
MAX_ADDRESS_CHARS = 320
SUBJECT = "Your sign-in link"


@dataclass(frozen=True, slots=True)
class SigninLimits:
    """How many links may be asked for in an hour, per address and per client address."""

    per_address: int = 3
    per_client: int = 20


class Asked(StrEnum):
    """What became of an ask (never shown to the asker beyond ``limited``)."""

    SENT = "sent"
    UNKNOWN = "unknown"
    LIMITED = "limited"


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def normal_address(address: str) -> str:
    """The address as members are stored: trimmed, lower-cased, at most 320 characters."""
    return address.strip().lower()[:MAX_ADDRESS_CHARS]


def mail_text(url: str, name: str, expires: dt.datetime) -> str:
    """The mail that carries a sign-in link."""
    return (
        f"Hello {name},\n\n"
        "Someone (we hope you) asked for a sign-in link to the CPD desk. Open it within "
        f"15 minutes (until {expires:%H:%M} UTC); it works once:\n\n{url}\n\n"
        "If you did not ask for it, ignore this mail: nothing happens without the link.\n"
    )


def mail_link(
    engine: Engine,
    address: str,
    client: str,
    signin_url: str,
    now: dt.datetime,
    limits: SigninLimits = SigninLimits(),
) -> Asked:
    """Count the ask; within the limits, queue a single-use link (valid 15 minutes) to the
    member registered with ``address``, by mail to that address. ``signin_url`` is the base
    of links (``.../signin/``; the token is appended). One transaction."""
    address = normal_address(address)
    by_address, by_client = _key("address", address), _key("client", client)
    with transaction(engine) as session:
        counts = count_attempts(session, [by_address, by_client], now, WINDOW)
        if counts[by_address] > limits.per_address or counts[by_client] > limits.per_client:
            return Asked.LIMITED
        member = members_repo.by_email(session, address) if "@" in address else None
        if member is None or not member.email:
            return Asked.UNKNOWN
        member_id = members_repo.id_of(member)
        token = secrets.token_urlsafe(24)
        expires = now + LINK_VALID
        digest = token_digest(token)
        add_web_token(session, member_id, digest, expires)
        add_audit(
            session,
            "web:signin-form",
            "web.link_mailed",
            member_id=member_id,
            details={"expires_at": expires.isoformat()},
        )
        queue(
            session,
            f"web-signin:{digest[:32]}",
            "email",
            recipients.member(member),
            "notice",
            {
                "text": mail_text(signin_url + token, member.name, expires),
                "subject": SUBJECT,
                "auto_replied": False,
            },
        )
    return Asked.SENT


def link_for(engine: Engine, sender: Sender, now: dt.datetime) -> tuple[str, dt.datetime]:
    """A single-use sign-in token for the member behind ``sender`` (the bot's ``/web``), and
    when it expires; NotLinked for a chat that is no member's."""
    with reading(engine) as session:
        member = None
        if sender.telegram_user_id is not None:
            member = members_repo.by_telegram(session, sender.telegram_user_id)
        if member is None:
            raise NotLinked("This chat is not linked to a member.")
        number = member.membership_no
    return create_link(engine, number, now=now, actor="telegram")


SESSION_KEY = "web-session"


def session_key(engine: Engine, legacy: str | None = None) -> str:
    """The key web session cookies are signed with, kept in the database (``app_secret``) so
    that every instance on it accepts the others' cookies: made on first use, or ``legacy``
    (the key an older version kept in a file) adopted when none is stored yet."""
    if legacy:
        return adopt_secret(engine, SESSION_KEY, legacy)
    return secret(engine, SESSION_KEY)
