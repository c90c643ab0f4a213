"""Mail that is not a claim: unsubscribe and "start" requests, and bounces of reminder mail.

Routed by :func:`route` before the mail intake makes a claim, in this order:

1. **A delivery status notification** (RFC 3464) or any mail to a ``bounces+<token>@``
   address: with a valid token, each recipient block with ``Action: failed`` counts a bounce
   of the member's address, hard for ``Status: 5.x.x``, soft for ``4.x.x``; two hard bounces
   mark the address as bouncing and no mail goes to it any more (``storage.bounces``). Never a
   claim, never an answer.
2. **Mail to an ``unsubscribe+<token>@`` address** (the ``List-Unsubscribe`` mailto of every
   reminder): mutes the token's member everywhere, or unmutes when the text says "start" or
   "/unmute". A forged token does nothing (and gets no answer).
3. **A command from a member** (a verified sender): a reply to a reminder whose first line
   says "stop" or "unsubscribe" mutes, "start" or "/unmute" unmutes; so does a mail that
   says nothing but one of those words.

Muting is the member's ``nudges_muted`` flag, the one ``/mute`` sets. A change is confirmed
once, by mail to the member's address; a request that changes nothing is not answered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cpd.claims import claim_notices, mail_tokens, recipients
from cpd.claims.intake import Intake, MailOutcome
from cpd.claims.notifications import queue
from cpd.storage import Engine, Session, bounces, models, reading, transaction
from cpd.storage import members as members_repo
from cpd.storage.queries import add_audit, add_processed

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService

MUTE_WORDS = frozenset({"stop", "unsubscribe", "mute", "/mute", "/stop"})
UNMUTE_WORDS = frozenset({"start", "unmute", "/unmute", "/start", "subscribe"})
MUTED_TEXT = (
    "You will get no more CPD progress reminders, by mail or in Telegram. "
    'Reply "start" (or send /unmute to the bot) to have them again. Reminders of the '
    "period's deadline still come unless you have a dispensation."
)
UNMUTED_TEXT = (
    'CPD progress reminders are on again, by mail or in Telegram. Reply "stop" to turn them off.'
)


def reminder_message_id(notification_id: int, random_hex: str, domain: str) -> str:
    """The Message-ID of a reminder mail (recognised when a member replies to it)."""
    return f"<cpd-reminder.{notification_id}.{random_hex[:16]}@{domain}>"


def _word(line: str) -> str:
    return line.strip().strip(".!,;:\"'").strip().lower()


def command(intake: Intake, whole: bool) -> bool | None:
    """True (mute), False (unmute) or None, from the first non-quoted line of the body (the
    subject when the body is empty); with ``whole`` the body must be that line alone."""
    lines = [line for line in intake.words.splitlines() if line.strip()] or [intake.subject]
    if whole and len(lines) > 1:
        return None
    word = _word(lines[0])
    if word in MUTE_WORDS:
        return True
    return False if word in UNMUTE_WORDS else None


def _tokens_in(intake: Intake, purpose: str) -> list[str]:
    found = [mail_tokens.token_in(address, purpose) for address in intake.recipients]
    return [token for token in found if token]


def route(service: ClaimsService, intake: Intake, keys: Sequence[str]) -> MailOutcome | None:
    """Handle a bounce or an unsubscribe/start mail (see the module docstring); None for any
    other mail, which the intake then handles as before."""
    reports = intake.delivery_reports
    bounce_tokens = _tokens_in(intake, mail_tokens.BOUNCES)
    if reports or bounce_tokens:
        return _bounce(service, intake, keys, bounce_tokens, reports)
    if intake.automatic:
        return None
    unsubscribe_tokens = _tokens_in(intake, mail_tokens.UNSUBSCRIBE)
    if unsubscribe_tokens:
        tokens = mail_tokens.load(service.engine)
        member_id = tokens.member_id(mail_tokens.UNSUBSCRIBE, unsubscribe_tokens[0])
        mute = command(intake, whole=False) is not False
        return _set_muted(service, intake, keys, member_id, mute, "unsubscribe_invalid")
    if not intake.may_amend:
        return None
    thread = intake.thread
    wanted = command(intake, whole=thread is None or not thread.reminder)
    if wanted is None:
        return None
    member = service.member_for(intake.sender)
    if member is None:
        return None
    return _set_muted(service, intake, keys, member.id, wanted, "not_a_member")


def _bounce(
    service: ClaimsService,
    intake: Intake,
    keys: Sequence[str],
    tokens_found: list[str],
    reports: Sequence[Mapping[str, str]],
) -> MailOutcome:
    tokens = mail_tokens.load(service.engine) if tokens_found else None
    member_id = tokens.member_id(mail_tokens.BOUNCES, tokens_found[0]) if tokens else None
    outcome = "bounce_ignored"
    with transaction(service.engine) as session:
        member = members_repo.get(session, member_id) if member_id is not None else None
        if member is not None and member.email:
            for report in reports:
                status = report.get("status", "")
                if report.get("action") != "failed" or status[:1] not in ("4", "5"):
                    continue
                row = bounces.record(
                    session, member, member.email, status, status.startswith("5"), service.clock()
                )
                outcome = "bounce"
                add_audit(
                    session,
                    "mail:bounce",
                    "member.mail_bounced",
                    member_id=member.id,
                    details={"status": status, "hard": row.hard_bounces, "bouncing": row.bouncing},
                )
        for key in keys:
            add_processed(session, key, intake.channel, outcome)
    return MailOutcome(outcome, None)


def _set_muted(
    service: ClaimsService,
    intake: Intake,
    keys: Sequence[str],
    member_id: int | None,
    muted: bool,
    refused: str,
) -> MailOutcome:
    with transaction(service.engine) as session:
        member = members_repo.get(session, member_id) if member_id is not None else None
        outcome = refused
        if member is not None:
            outcome = "muted" if muted else "unmuted"
            if set_muted(session, member, muted, intake.sender.key()):
                _confirm(session, member, intake, MUTED_TEXT if muted else UNMUTED_TEXT)
        for key in keys:
            add_processed(session, key, intake.channel, outcome)
    return MailOutcome(outcome, None)


def set_muted(session: Session, member: models.Member, muted: bool, actor: str) -> bool:
    """Set the member's mute flag (in the caller's transaction); False when it already was."""
    if member.nudges_muted == muted:
        return False
    member.nudges_muted = muted
    add_audit(
        session,
        actor,
        "member.nudges_muted" if muted else "member.nudges_unmuted",
        member_id=member.id,
    )
    return True


def _confirm(session: Session, member: models.Member, intake: Intake, text: str) -> None:
    if not member.email:
        return
    queue(
        session,
        f"mute-confirm:{intake.source_key}"[:255],
        "email",
        recipients.member(member),
        "mute_confirmation",
        {
            "text": text,
            "subject": "Your CPD reminders",
            **claim_notices.answering(intake, re_subject=False),
        },
    )


def unsubscribe_by_token(service: ClaimsService, token: str) -> bool:
    """Mute the member an unsubscribe token names (the one-click URL); False for a token that
    names nobody. Repeating it changes nothing and confirms nothing again."""
    member_id = mail_tokens.load(service.engine).member_id(mail_tokens.UNSUBSCRIBE, token)
    if member_id is None:
        return False
    with transaction(service.engine) as session:
        member = members_repo.get(session, member_id)
        if member is None:
            return False
        if set_muted(session, member, True, "web:unsubscribe") and member.email:
            queue(
                session,
                f"mute-confirm:web:{member.id}:{service.clock().isoformat()}",
                "email",
                recipients.member(member),
                "mute_confirmation",
                {"text": MUTED_TEXT, "subject": "Your CPD reminders"},
            )
    return True


def bouncing_members(engine: Engine) -> list[tuple[models.Member, models.MailBounce]]:
    """Members whose current address bounces (for ``cpd members bouncing``)."""
    return bounces.bouncing_members(engine)


def bounce_state(engine: Engine, member: models.Member) -> models.MailBounce | None:
    """What bounces said about the member's current address, or None."""
    with reading(engine) as session:
        return bounces.state(session, member)
