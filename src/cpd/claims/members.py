"""Member administration: importing the register from CSV and issuing Telegram link tokens."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import secrets
from dataclasses import dataclass, field

from sqlalchemy import Engine

from cpd.rules import InputError, SchemeError, load_scheme
from cpd.storage import Member, transaction
from cpd.storage.queries import add_audit, add_invite, member_by_number, members_by_number, touch

CSV_COLUMNS = ("membership_no", "name", "email", "scheme", "grade", "joined", "role")
ROLES = ("member", "secretary")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class MemberNotFound(LookupError):
    """No member has that membership number."""


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One validated row of the members CSV."""

    membership_no: str
    name: str
    email: str | None
    scheme: str
    grade: str | None
    joined: dt.date
    role: str


@dataclass
class ImportReport:
    """What an import did, by membership number."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def parse_members_csv(text: str, default_scheme: str, source: str = "CSV") -> list[MemberRow]:
    """Validate the whole file first; InputError names the line and the column of a bad value."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in CSV_COLUMNS if c not in header and c not in ("scheme", "grade", "role")]
    if missing:
        raise InputError(
            f"{source}: missing column(s) {', '.join(missing)}; expected {','.join(CSV_COLUMNS)}"
        )
    rows: list[MemberRow] = []
    seen: dict[str, int] = {}
    emails: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        values = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        where = f"{source} line {line}"
        number = values.get("membership_no", "")
        if not number:
            raise InputError(f"{where}: membership_no: empty")
        if number in seen:
            raise InputError(f"{where}: membership_no {number!r} repeats line {seen[number]}")
        seen[number] = line
        name = values.get("name", "")
        if not name:
            raise InputError(f"{where}: name: empty")
        email = values.get("email", "").lower() or None
        if email is not None:
            if not _EMAIL.match(email):
                raise InputError(f"{where}: email: {email!r} is not an email address")
            if email in emails:
                raise InputError(f"{where}: email {email!r} repeats line {emails[email]}")
            emails[email] = line
        scheme = values.get("scheme", "").lower() or default_scheme
        try:
            load_scheme(scheme)
        except SchemeError as exc:
            raise InputError(f"{where}: scheme: {exc}") from None
        try:
            joined = dt.date.fromisoformat(values.get("joined", ""))
        except ValueError:
            raise InputError(
                f"{where}: joined: {values.get('joined', '')!r} is not a date (YYYY-MM-DD)"
            ) from None
        role = values.get("role", "").lower() or "member"
        if role not in ROLES:
            raise InputError(f"{where}: role: {role!r} must be member or secretary")
        rows.append(
            MemberRow(
                number, name, email, scheme, values.get("grade", "").lower() or None, joined, role
            )
        )
    return rows


def import_members(engine: Engine, rows: list[MemberRow], actor: str = "cli") -> ImportReport:
    """Create or update members by membership number, all in one transaction (idempotent)."""
    report = ImportReport()
    with transaction(engine) as session:
        existing = members_by_number(session, [r.membership_no for r in rows])
        for row in rows:
            member = existing.get(row.membership_no)
            values = {
                "name": row.name,
                "email": row.email,
                "scheme": row.scheme,
                "grade": row.grade,
                "joined": row.joined,
                "role": row.role,
            }
            if member is None:
                member = Member(membership_no=row.membership_no, **values)
                session.add(member)
                session.flush()
                report.created.append(row.membership_no)
                add_audit(
                    session,
                    actor,
                    "member.created",
                    member_id=member.id,
                    details={"membership_no": row.membership_no},
                )
                continue
            changed = {k: v for k, v in values.items() if getattr(member, k) != v}
            if not changed:
                report.unchanged.append(row.membership_no)
                continue
            for key, value in changed.items():
                setattr(member, key, value)
            touch(member)
            report.updated.append(row.membership_no)
            add_audit(
                session,
                actor,
                "member.updated",
                member_id=member.id,
                details={k: str(v) for k, v in changed.items()},
            )
    return report


def token_digest(token: str) -> str:
    """The stored form of a link token (the token itself is never stored)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_invite(
    engine: Engine, membership_no: str, valid_for: dt.timedelta, actor: str = "cli"
) -> tuple[str, dt.datetime]:
    """A new single-use link token for the member, and when it expires."""
    token = secrets.token_urlsafe(18)
    expires = dt.datetime.now(dt.UTC) + valid_for
    with transaction(engine) as session:
        member = member_by_number(session, membership_no)
        if member is None:
            raise MemberNotFound(f"no member with membership number {membership_no!r}")
        add_invite(session, member.id, token_digest(token), expires)  # type: ignore[arg-type]
        add_audit(
            session,
            actor,
            "member.invited",
            member_id=member.id,
            details={"expires_at": expires.isoformat()},
        )
    return token, expires
