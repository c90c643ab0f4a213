"""What a mail's sender verdict allows (issue 10; CONTRACTS.md "Who sent a mail").

The mail channel says who sent a mail (:class:`~cpd.claims.intake.Intake` ``verification``);
this module decides what that allows, inside the transaction of ``receive_mail``:

- **automatic mail** (``Auto-Submitted`` other than ``no``, ``X-Autoreply``,
  ``X-Autorespond``, ``Precedence: bulk|junk|list``, ``List-Id``, a report, a null or
  MAILER-DAEMON envelope or Return-Path) is stored as processed, never answered, never a claim;
- a **confirmation**: a mail whose text holds ``Confirm: <secret>`` of a held claim confirms
  it, whoever sent it (the secret went only to the registered address); a wrong, used or
  expired secret does nothing. Either way such a mail is never a claim;
- **fail**, or no single author: nothing is filed; when the claimed address is a member's,
  an audit row ``mail.impersonation`` and at most one notice a day to that member;
- **none**: the claim is held ``unverified`` (:func:`hold`) until the member confirms it with
  a Telegram button or the mailed secret, else it is withdrawn after :data:`HOLD_DAYS` days;
- strangers are answered only after a pass, only at the envelope sender, once a day each and
  under a daily cap for all of them; a member's claims by mail are capped per hour.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cpd.claims import (
    claim_notices,
    drafts,
    identity,
    recipients,
    texts,
    verdict_texts,
    views,
)
from cpd.claims.intake import ClaimError, ClaimView, Intake, MailOutcome, Sender
from cpd.claims.notifications import queue
from cpd.storage import Session, claims_repo, models, transaction
from cpd.storage import members as members_repo
from cpd.storage.mail_checks import (
    add_hold,
    expired_holds,
    hold_by_secret,
    hold_of_claim,
    mail_claims_since,
    outbox_count_like,
)
from cpd.storage.queries import add_audit, add_processed

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService

log = logging.getLogger(__name__)

HOLD_DAYS = 7
SECRET_LINE = re.compile(r"^[>\s]*Confirm:\s*([A-Za-z0-9_-]{32,64})\s*$", re.MULTILINE)
MAX_ADDRESS = 254
"""The longest address a stranger is answered at (RFC 5321's path limit)."""
AUTOMATIC_LOCALS = frozenset({"mailer-daemon", "mailerdaemon"})


@dataclass(frozen=True, slots=True)
class MailLimits:
    """Caps against loops and backscatter (``CPD_STRANGER_REPLIES_PER_DAY``,
    ``CPD_MAIL_CLAIMS_PER_HOUR``)."""

    stranger_replies_per_day: int = 50
    claims_per_hour: int = 20


def digest(secret: str) -> str:
    """The sha256 of a confirmation secret (only this is stored)."""
    return hashlib.sha256(secret.encode("ascii", "replace")).hexdigest()


def is_automatic(intake: Intake) -> bool:
    """Whether a mail is automatic (RFC 3834): never answered, never a claim."""
    if intake.automatic:
        return True
    if intake.envelope_sender is None:
        return False
    address = intake.envelope_sender.strip().strip("<>")
    return not address or address.partition("@")[0].lower() in AUTOMATIC_LOCALS


def confirmation_secret(text: str) -> str | None:
    """The secret of a ``Confirm: <secret>`` line (quoted or not), if the text has one."""
    found = SECRET_LINE.search(text)
    return found.group(1) if found else None


def processed(
    session: Session, intake: Intake, keys: Sequence[str], outcome: str, claim_id: int | None = None
) -> MailOutcome:
    """Record the mail as handled with ``outcome`` (no claim)."""
    for key in keys:
        add_processed(session, key, intake.channel, outcome, claim_id)
    return MailOutcome(outcome, None)


def screen(
    svc: ClaimsService, session: Session, intake: Intake, keys: Sequence[str]
) -> MailOutcome | None:
    """What becomes of a mail before anyone's claim is looked at; None: go on as a claim."""
    if is_automatic(intake):
        log.info(
            "automatic mail from %s (envelope %r): stored, not answered, no claim",
            intake.sender.email,
            intake.envelope_sender,
        )
        return processed(session, intake, keys, "automatic")
    secret = intake.confirm_secret or confirmation_secret(intake.text)
    if secret is not None:
        return _confirm_by_secret(svc, session, secret, intake, keys)
    if intake.refusal is not None or intake.verification == "fail":
        return _impersonation(svc, session, intake, keys)
    return None


def _impersonation(
    svc: ClaimsService, session: Session, intake: Intake, keys: Sequence[str]
) -> MailOutcome:
    claimed = (intake.sender.email or "").lower()
    member = identity.member_of(session, intake.sender) if claimed else None
    outcome = "refused" if intake.refusal is not None else "impersonation"
    log.warning(
        "mail claiming to be from %s (envelope %r) %s: nothing filed (%s)",
        claimed or "?",
        intake.envelope_sender,
        "has no single author" if intake.refusal else "failed verification",
        intake.refusal or "; ".join(intake.verification_reasons),
    )
    if member is not None:
        add_audit(
            session,
            f"email:{claimed}"[:120],
            "mail.impersonation",
            member_id=member.id,
            details={
                "reasons": list(intake.verification_reasons),
                "refusal": intake.refusal,
                "domain": intake.verification_domain,
                "envelope_sender": intake.envelope_sender,
                "source_key": intake.source_key,
            },
        )
        _tell(
            session,
            member,
            f"impersonation:{member.id}:{svc.today().isoformat()}",
            "impersonation_notice",
            verdict_texts.IMPERSONATION_NOTICE,
            "A mail in your name was not recorded",
        )
    return processed(session, intake, keys, outcome)


def _tell(
    session: Session, member: models.Member, key: str, template: str, text: str, subject: str
) -> None:
    """One notice to the member: to the registered address, else in Telegram."""
    if member.email:
        payload = {"text": text, "subject": subject}
        queue(session, key, "email", recipients.member(member), template, payload)
    elif member.telegram_user_id is not None:
        queue(session, key, "telegram", recipients.member(member), "message", {"text": text})


# -- held claims -----------------------------------------------------------------------------


def hold(
    svc: ClaimsService,
    session: Session,
    member: models.Member,
    claim: models.Claim,
    intake: Intake,
    keys: Sequence[str],
) -> MailOutcome:
    """Hold a drafted claim ``unverified`` and ask the member to confirm it."""
    claim.status = "unverified"
    drafts.refresh_proposal(svc, session, member, claim)
    expires = svc.clock() + dt.timedelta(days=HOLD_DAYS)
    view = views.view(svc, session, claim)
    assert claim.id is not None
    if member.telegram_user_id is not None:
        add_hold(session, claim.id, None, expires)
        queue(
            session,
            f"claim:{claim.id}:confirm:telegram",
            "telegram",
            recipients.member(member),
            "confirm_claim",
            {"claim_id": claim.id, "text": verdict_texts.confirm_by_telegram(view, HOLD_DAYS)},
        )
        asked = "telegram"
    elif member.email:
        secret = secrets.token_urlsafe(32)
        add_hold(session, claim.id, digest(secret), expires)
        queue(
            session,
            f"claim:{claim.id}:confirm:email",
            "email",
            recipients.member(member),
            "confirm_claim",
            {
                "text": verdict_texts.confirm_by_mail(view, secret, HOLD_DAYS),
                "subject": f"Please confirm your CPD claim #{claim.id}",
            },
        )
        asked = "email"
    else:
        add_hold(session, claim.id, None, expires)
        asked = "nobody"
    add_audit(
        session,
        intake.sender.key(),
        "claim.held",
        member_id=member.id,
        claim_id=claim.id,
        details={
            "reasons": list(intake.verification_reasons),
            "domain": intake.verification_domain,
            "envelope_sender": intake.envelope_sender,
            "asked": asked,
            "expires_at": expires.isoformat(),
        },
    )
    for key in keys:
        add_processed(session, key, intake.channel, "unverified", claim.id)
    return MailOutcome("unverified", view)


def _release(
    svc: ClaimsService, session: Session, claim: models.Claim, actor: str, how: str
) -> ClaimView:
    """A confirmed hold goes on as a normal submission (receipt, secretary card)."""
    member = members_repo.get(session, claim.member_id)
    assert member is not None
    add_audit(
        session,
        actor,
        "claim.confirmed",
        member_id=member.id,
        claim_id=claim.id,
        details={"by": how},
    )
    return drafts.submit_in(
        svc, session, member, claim, Sender(email=member.email), lambda v: texts.mail_receipt(v)
    )


def _confirm_by_secret(
    svc: ClaimsService, session: Session, secret: str, intake: Intake, keys: Sequence[str]
) -> MailOutcome:
    now = svc.clock()
    held = hold_by_secret(session, digest(secret))
    claim = claims_repo.get(session, held.claim_id) if held is not None else None
    if (
        held is None
        or claim is None
        or held.used_at is not None
        or _aware(held.expires_at) <= now
        or claim.status != "unverified"
    ):
        log.info("a confirmation with an unknown, used or expired secret: nothing done")
        return processed(session, intake, keys, "confirm_refused")
    held.used_at = now
    view = _release(svc, session, claim, intake.sender.key(), "email")
    for key in keys:
        add_processed(session, key, intake.channel, "confirmed", claim.id)
    return MailOutcome("confirmed", view)


def confirm_by_button(svc: ClaimsService, claim_id: int, sender: Sender) -> ClaimView:
    """The member confirms their held claim (the Telegram button ``u:<claim_id>:ok``)."""
    now = svc.clock()
    with transaction(svc.engine) as session:
        member = identity.require_member(session, sender)
        claim = drafts.own_claim(session, claim_id, member)
        if claim.status != "unverified":
            raise ClaimError(f"Claim #{claim.id} is {claim.status}: nothing to confirm.")
        held = hold_of_claim(session, claim_id)
        if held is not None:
            if _aware(held.expires_at) <= now:
                raise ClaimError(f"Claim #{claim.id} was not confirmed in time.")
            held.used_at = now
        return _release(svc, session, claim, sender.key(), "telegram")


def expire_holds(svc: ClaimsService) -> int:
    """Withdraw held claims whose confirmation time ran out (the nightly job); how many."""
    now = svc.clock()
    with transaction(svc.engine) as session:
        claims = expired_holds(session, now)
        for claim in claims:
            claim.status = "withdrawn"
            claim.decided_at = now
            claim.decision_reason = f"expired: not confirmed within {HOLD_DAYS} days"
            add_audit(
                session,
                "system",
                "claim.expired",
                member_id=claim.member_id,
                claim_id=claim.id,
                details={"reason": "unverified hold not confirmed"},
            )
        if claims:
            log.info("%d unconfirmed claim(s) by mail withdrawn", len(claims))
        return len(claims)


# -- strangers and caps ------------------------------------------------------------------------


def reply_to_stranger(svc: ClaimsService, session: Session, intake: Intake) -> None:
    """One reply a day to a stranger whose own domain verified, at the envelope sender,
    under the daily cap for all strangers."""
    if is_automatic(intake) or intake.verification not in (None, "pass"):
        return
    envelope = intake.envelope_sender
    address = (envelope if envelope is not None else intake.sender.email or "").strip()
    address = address.strip("<>").lower()
    if not address or "@" not in address or len(address) > MAX_ADDRESS:
        return
    day = svc.today().isoformat()
    key = f"stranger:{address}:{day}"
    if outbox_count_like(session, f"stranger:%:{day}") >= svc.mail_limits.stranger_replies_per_day:
        log.warning("stranger replies capped for %s: %s is not answered", day, address)
        return
    queue(
        session,
        key[:255],
        "email",
        recipients.stranger(address),
        "unknown_sender",
        {
            "text": texts.UNKNOWN_SENDER,
            "subject": "your CPD claim",
            **claim_notices.answering(intake),
            "auto_replied": True,
        },
    )


def over_hourly_cap(
    svc: ClaimsService,
    session: Session,
    member: models.Member,
    intake: Intake,
    keys: Sequence[str],
) -> MailOutcome | None:
    """Beyond the member's claims by mail per hour: stored as processed, told once an hour."""
    now = models.utcnow()  # claims' created_at is the real time
    cap = svc.mail_limits.claims_per_hour
    since = now - dt.timedelta(hours=1)
    if mail_claims_since(session, members_repo.id_of(member), since) < cap:
        return None
    log.warning("member %s is over %d mail claims an hour: not a claim", member.membership_no, cap)
    _tell(
        session,
        member,
        f"mail-cap:{member.id}:{now:%Y-%m-%dT%H}",
        "reply",
        verdict_texts.OVER_CAP.format(cap=cap),
        "Too many CPD claims by mail",
    )
    return processed(session, intake, keys, "over_cap")


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
