"""Who may do what on the web: sign-in links, the signed-in user, and role checks.

The web channel asks here, never decides by itself: a member sees and changes only their own
claims, only a secretary decides or looks at another member. Sign-in links are single use,
expire after 15 minutes, and only their sha256 is stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cpd.claims import decisions
from cpd.claims.intake import ClaimError, Sender
from cpd.claims.members import issue_token, token_digest
from cpd.storage import Engine, models, reading, transaction
from cpd.storage import members as members_repo
from cpd.storage.queries import add_audit
from cpd.storage.web import add_web_token, ping, use_web_token, web_token

LINK_VALID = dt.timedelta(minutes=15)


class LinkRefused(ClaimError):
    """A sign-in link that is unknown, used already, or expired (the message says which)."""


class NotFound(ClaimError):
    """No such claim or member, as far as this user may know."""


@dataclass(frozen=True, slots=True)
class WebUser:
    """Who is signed in: read from the database on every request, so a role change applies."""

    member_id: int
    membership_no: str
    name: str
    role: str

    @property
    def is_secretary(self) -> bool:
        """Whether this user has the secretary role."""
        return decisions.has_secretary_role(self.role)

    @property
    def sender(self) -> Sender:
        """The identity the claims service knows this user by."""
        return Sender(membership_no=self.membership_no)


def _user(member: models.Member) -> WebUser:
    return WebUser(members_repo.id_of(member), member.membership_no, member.name, member.role)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def create_link(
    engine: Engine,
    membership_no: str,
    now: dt.datetime | None = None,
    valid_for: dt.timedelta = LINK_VALID,
    actor: str = "cli",
) -> tuple[str, dt.datetime]:
    """A new single-use sign-in token for the member or secretary, and when it expires
    (MemberNotFound when there is no such member)."""
    expires = (now or dt.datetime.now(dt.UTC)) + valid_for
    token = issue_token(
        engine, membership_no, expires, add_web_token, "web.link_created", actor, 24
    )
    return token, expires


def redeem_link(engine: Engine, token: str, now: dt.datetime | None = None) -> WebUser:
    """Use a sign-in token once: the user it signs in (LinkRefused saying why not)."""
    now = now or dt.datetime.now(dt.UTC)
    digest = token_digest(token)
    with transaction(engine) as session:
        member_id = use_web_token(session, digest, now)
        if member_id is not None:
            member = members_repo.get(session, member_id)
            assert member is not None
            add_audit(session, f"web:{member.membership_no}", "web.signed_in", member_id=member_id)
            return _user(member)
    with reading(engine) as session:
        row = web_token(session, digest)
        if row is None:
            raise LinkRefused("This sign-in link is not valid.")
        if row.used_at is not None:
            raise LinkRefused("This sign-in link has been used already: ask for a new one.")
        if _aware(row.expires_at) <= now:
            raise LinkRefused("This sign-in link has expired: ask for a new one.")
    raise LinkRefused("This sign-in link is not valid.")


def user_by_id(engine: Engine, member_id: int) -> WebUser | None:
    """The signed-in user as the database knows them now (None when they are gone)."""
    with reading(engine) as session:
        member = members_repo.get(session, member_id)
        return None if member is None else _user(member)


def require_secretary(user: WebUser) -> None:
    """NotAllowed unless the user is a secretary."""
    if not user.is_secretary:
        raise decisions.not_a_secretary("do this")


def may_see_member(user: WebUser, membership_no: str) -> bool:
    """A member sees only themselves; a secretary sees everyone."""
    return user.is_secretary or user.membership_no == membership_no


def database_answers(engine: Engine) -> bool:
    """Whether the database answers a trivial query now."""
    try:
        ping(engine)
    except Exception:
        return False
    return True


def audit_json(entry: models.AuditEntry) -> dict[str, Any]:
    """One audit row for a claim's history."""
    return {
        "at": _aware(entry.at).isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "details": entry.details,
    }
