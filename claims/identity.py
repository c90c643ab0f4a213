"""Linking and identity: who a sender is, linking a Telegram user to a member, their own
settings (nudges muted)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from cpd.claims import texts
from cpd.claims.intake import NotAllowed, NotLinked, Sender
from cpd.claims.members import token_digest
from cpd.storage import Session, models, transaction
from cpd.storage import members as members_repo
from cpd.storage.queries import add_audit

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService


def member_of(session: Session, sender: Sender) -> models.Member | None:
    """The member who sent a message (by Telegram user, address or number), or None."""
    if sender.telegram_user_id is not None:
        return members_repo.by_telegram(session, sender.telegram_user_id)
    if sender.email:
        return members_repo.by_email(session, sender.email)
    if sender.membership_no:
        return members_repo.by_number(session, sender.membership_no)
    return None


def require_member(session: Session, sender: Sender) -> models.Member:
    """The sender as a member; NotLinked (with what to do) when they are not one."""
    member = member_of(session, sender)
    if member is None:
        raise NotLinked(texts.NOT_LINKED)
    return member


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def link_telegram(svc: ClaimsService, token: str, telegram_user_id: int) -> models.Member:
    """Link a Telegram user to the member a ``cpd members invite`` token was made for."""
    now = svc.clock()
    with transaction(svc.engine) as session:
        invite = members_repo.invite(session, token_digest(token.strip()))
        if invite is None:
            raise NotAllowed(
                "That link code is not valid. Ask the membership secretary for a new one."
            )
        if invite.used_at is not None:
            raise NotAllowed(
                "That link code has already been used. Ask the membership secretary for a new one."
            )
        if _aware(invite.expires_at) < now:
            raise NotAllowed(
                "That link code has expired. Ask the membership secretary for a new one."
            )
        member = members_repo.get(session, invite.member_id)
        assert member is not None
        previous = members_repo.by_telegram(session, telegram_user_id)
        if previous is not None and previous.id != member.id:
            previous.telegram_user_id = None
            session.flush()
        member.telegram_user_id = telegram_user_id
        invite.used_at = now
        add_audit(
            session,
            f"telegram:{telegram_user_id}",
            "member.linked",
            member_id=member.id,
            details={"telegram_user_id": telegram_user_id},
        )
        return member


def set_nudges_muted(svc: ClaimsService, sender: Sender, muted: bool) -> None:
    """Mute or unmute the weekly nudges for the member."""
    with transaction(svc.engine) as session:
        member = require_member(session, sender)
        member.nudges_muted = muted
        add_audit(
            session,
            sender.key(),
            "member.nudges_muted" if muted else "member.nudges_unmuted",
            member_id=member.id,
        )
