"""The members repository: who a sender is, invites, the member list (in the caller's session)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from cpd.storage.models import InviteToken, Member


def id_of(member: Member) -> int:
    """A stored member's id (a row read from or flushed to the database has one)."""
    if member.id is None:
        raise ValueError("the member is not stored yet")
    return member.id


def get(session: Session, member_id: int) -> Member | None:
    """The member with this id."""
    return session.get(Member, member_id)


def by_telegram(session: Session, telegram_user_id: int) -> Member | None:
    """The member linked to this Telegram user."""
    query = select(Member).where(col(Member.telegram_user_id) == telegram_user_id)
    return session.exec(query).first()


def by_email(session: Session, email: str) -> Member | None:
    """The (first) member registered with this address (stored lower-cased)."""
    return session.exec(select(Member).where(col(Member.email) == email.lower())).first()


def by_number(session: Session, membership_no: str) -> Member | None:
    """The member with this membership number."""
    return session.exec(select(Member).where(col(Member.membership_no) == membership_no)).first()


def all_members(session: Session) -> list[Member]:
    """Every member, in id order."""
    return list(session.exec(select(Member).order_by(col(Member.id))))


def names(session: Session) -> dict[int, str]:
    """Every member's name by id."""
    return {
        member_id: name
        for member_id, name in session.exec(select(col(Member.id), col(Member.name)))
        if member_id is not None
    }


def add(session: Session, member: Member) -> Member:
    """Add a new member and give it its id (in the caller's transaction)."""
    session.add(member)
    session.flush()
    return member


def invite(session: Session, token_sha256: str) -> InviteToken | None:
    """The invite whose token has this hash."""
    return session.exec(
        select(InviteToken).where(col(InviteToken.token_sha256) == token_sha256)
    ).first()


def contacts(session: Session, member_ids: list[int]) -> dict[int, tuple[int | None, str | None]]:
    """Each member's Telegram user id and mail address, for many members in one query."""
    if not member_ids:
        return {}
    rows = session.execute(
        select(col(Member.id), col(Member.telegram_user_id), col(Member.email)).where(
            col(Member.id).in_(sorted(set(member_ids)))
        )
    ).all()
    return {member_id: (telegram, email) for member_id, telegram, email in rows}
