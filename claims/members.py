"""Member administration: importing the register from CSV and issuing Telegram link tokens."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from cpd.rules import InputError, SchemeError, load_scheme
from cpd.storage import Engine, Member, Session, bounces, transaction
from cpd.storage import members as members_repo
from cpd.storage.members import add as members_add
from cpd.storage.queries import (
    add_audit,
    add_invite,
    member_by_number,
    members_by_email,
    members_by_number,
    touch,
)

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
    line: int = 0  # where it was in the CSV (for error messages)


@dataclass
class ImportReport:
    """What an import did, by membership number."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


MAX_LISTED_ERRORS = 10
MAX_LENGTHS = {"membership_no": 64, "name": 200, "email": 320, "grade": 64}  # the columns' sizes


def _refuse(source: str, errors: list[str]) -> InputError:
    listed = "; ".join(errors[:MAX_LISTED_ERRORS])
    extra = len(errors) - MAX_LISTED_ERRORS
    more = f"; and {extra} more" if extra > 0 else ""
    return InputError(f"{source}: nothing imported: {listed}{more}")


def parse_members_csv(text: str, default_scheme: str, source: str = "CSV") -> list[MemberRow]:
    """Validate the whole file first; InputError (one line) lists every bad row by line
    number and column, so that an import is all or nothing."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in CSV_COLUMNS if c not in header and c not in ("scheme", "grade", "role")]
    if missing:
        raise InputError(
            f"{source}: missing column(s) {', '.join(missing)}; expected {','.join(CSV_COLUMNS)}"
        )
    rows: list[MemberRow] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    emails: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        try:
            rows.append(_parse_row(raw, line, default_scheme, seen, emails))
        except InputError as exc:
            errors.append(str(exc))
    if errors:
        raise _refuse(source, errors)
    return rows


def _parse_row(
    raw: dict[str | None, str | None],
    line: int,
    default_scheme: str,
    seen: dict[str, int],
    emails: dict[str, int],
) -> MemberRow:
    values = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
    where = f"line {line}"
    for column, limit in MAX_LENGTHS.items():
        if len(values.get(column, "")) > limit:
            raise InputError(f"{where}: {column}: longer than {limit} characters")
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
    grade = values.get("grade", "").lower() or None
    return MemberRow(number, name, email, scheme, grade, joined, role, line)


def _email_conflicts(session: Session, rows: list[MemberRow]) -> list[str]:
    """Rows whose email belongs to another member who keeps it after this import."""
    owners = members_by_email(session, [r.email for r in rows if r.email])
    new_email = {r.membership_no: r.email for r in rows}
    errors = []
    for row in rows:
        owner = owners.get(row.email or "")
        if owner is None or owner.membership_no == row.membership_no:
            continue
        if owner.membership_no in new_email and new_email[owner.membership_no] != row.email:
            continue  # the file moves the address away from its owner
        errors.append(
            f"line {row.line}: email {row.email!r} belongs to member {owner.membership_no}"
        )
    return errors


def import_members(
    engine: Engine, rows: list[MemberRow], actor: str = "cli", source: str = "CSV"
) -> ImportReport:
    """Create or update members by membership number, all in one transaction (idempotent).

    An email that belongs to another member (compared case-insensitively) refuses the whole
    import with every such row named: nothing is imported."""
    report = ImportReport()
    with transaction(engine) as session:
        conflicts = _email_conflicts(session, rows)
        if conflicts:
            raise _refuse(source, conflicts)
        existing = members_by_number(session, [r.membership_no for r in rows])
        for row in rows:
            member = existing.get(row.membership_no)
            values: dict[str, object] = {
                "name": row.name,
                "email": row.email,
                "scheme": row.scheme,
                "grade": row.grade,
                "joined": row.joined,
                "role": row.role,
            }
            if member is None:
                member = Member(
                    membership_no=row.membership_no,
                    name=row.name,
                    email=row.email,
                    scheme=row.scheme,
                    grade=row.grade,
                    joined=row.joined,
                    role=row.role,
                )
                members_add(session, member)
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
            if "email" in changed:
                bounces.clear(
                    session, members_repo.id_of(member)
                )  # a new address: its own bounce state
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


def issue_token(
    engine: Engine,
    membership_no: str,
    expires: dt.datetime,
    store: Callable[[Session, int, str, dt.datetime], object],
    action: str,
    actor: str,
    nbytes: int,
) -> str:
    """A new single-use token for the member: ``store(session, member_id, sha256, expires)``
    keeps only its digest, an audit row ``action`` records it (MemberNotFound when there is no
    such member). One place for the Telegram invite and the web sign-in link."""
    token = secrets.token_urlsafe(nbytes)
    with transaction(engine) as session:
        member = member_by_number(session, membership_no)
        if member is None or member.id is None:
            raise MemberNotFound(f"no member with membership number {membership_no!r}")
        store(session, member.id, token_digest(token), expires)
        add_audit(
            session, actor, action, member_id=member.id, details={"expires_at": expires.isoformat()}
        )
    return token


def create_invite(
    engine: Engine, membership_no: str, valid_for: dt.timedelta, actor: str = "cli"
) -> tuple[str, dt.datetime]:
    """A new single-use link token for the member, and when it expires."""
    expires = dt.datetime.now(dt.UTC) + valid_for
    return issue_token(
        engine, membership_no, expires, add_invite, "member.invited", actor, 18
    ), expires
