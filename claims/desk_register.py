"""The register: every member with their scheme, grade, standing for the current period,
linked channels and last claim, with the filters "behind" (below the pro-rata line the
progress nudges use) and "no claim this period"; and one member's record.

The whole register is read in four queries however many members there are (the members, and
``standing.all_standings``'s two ordered cursors plus the dispensations) and evaluated in
memory by the rules engine.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cpd import rules
from cpd.claims import views
from cpd.claims.members import MemberNotFound
from cpd.claims.reminders import behind_pace, deadline, expected
from cpd.claims.standing import all_standings, standing
from cpd.claims.texts import fmt
from cpd.claims.web_access import NotFound, WebUser, require_secretary
from cpd.storage import models, reading
from cpd.storage.desk import register_members

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService

PAGE_SIZE = 50
FILTERS = ("behind", "no_claim")


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """One member in the register."""

    membership_no: str
    name: str
    scheme: str
    grade: str | None
    role: str
    total: str
    target: str
    unit: str
    expected: str
    behind: bool
    met: bool
    compulsory: bool
    dispensation: bool
    channels: tuple[str, ...]
    last_claim: dt.date | None
    claims_in_period: int


@dataclass(frozen=True, slots=True)
class RegisterPage:
    """A page of the register, how many members match, and the page number and count."""

    rows: list[RegisterRow]
    total: int
    page: int
    pages: int
    schemes: tuple[str, ...]


def channels_of(member: models.Member) -> tuple[str, ...]:
    """The channels a member is reachable on."""
    found = []
    if member.telegram_user_id is not None:
        found.append("telegram")
    if member.email:
        found.append("email")
    return tuple(found)


def _row(member: models.Member, s: Any, today: dt.date) -> RegisterRow:
    scheme = rules.load_scheme(s.scheme)
    ev: rules.Evaluation = s.evaluation
    owes = ev.compulsory and not ev.dispensation and ev.target > 0
    return RegisterRow(
        member.membership_no,
        member.name,
        scheme.id,
        member.grade,
        member.role,
        fmt(ev.total),
        fmt(ev.target),
        scheme.unit,
        fmt(expected(scheme, ev, today)),
        owes and not ev.met and behind_pace(scheme, ev, today),
        ev.met,
        ev.compulsory,
        ev.dispensation,
        channels_of(member),
        s.last_claim,
        s.claims_in_period,
    )


def register(
    service: ClaimsService,
    user: WebUser,
    scheme: str | None = None,
    only: str | None = None,
    search: str | None = None,
    page: int = 1,
) -> RegisterPage:
    """The register page the filters ask for (NotAllowed for a member)."""
    require_secretary(user)
    today = service.today()
    with reading(service.engine) as session:
        members = {m.id: m for m in register_members(session)}
    needle = (search or "").strip().lower()
    rows: list[RegisterRow] = []
    for s in all_standings(service.engine, today):
        member = members.get(s.member_id)
        if member is None or (scheme and s.scheme != scheme):
            continue
        if needle and needle not in member.name.lower() and needle != member.membership_no.lower():
            continue
        row = _row(member, s, today)
        if only == "behind" and not row.behind:
            continue
        if only == "no_claim" and row.claims_in_period:
            continue
        rows.append(row)
    rows.sort(key=lambda r: r.membership_no)
    page = max(1, page)
    start = (page - 1) * PAGE_SIZE
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    return RegisterPage(
        rows[start : start + PAGE_SIZE], len(rows), page, pages, tuple(rules.scheme_ids())
    )


def _standing_json(scheme: rules.Scheme, ev: rules.Evaluation, today: dt.date) -> dict[str, Any]:
    return {
        "period_start": ev.period_start,
        "period_end": ev.period_end,
        "deadline": deadline(scheme, ev),
        "target": fmt(ev.target),
        "carried_in": fmt(ev.carried_in),
        "earned": fmt(ev.earned),
        "total": fmt(ev.total),
        "remaining": fmt(ev.remaining),
        "met": ev.met,
        "dispensation": ev.dispensation,
        "compulsory": ev.compulsory,
        "expected": fmt(expected(scheme, ev, today)) if ev.period_start <= today else "-",
    }


def member_record(service: ClaimsService, user: WebUser, membership_no: str) -> dict[str, Any]:
    """A member's record: who they are, their standing this period and the one before, and
    their claims newest first with what each earned (NotAllowed for a member)."""
    require_secretary(user)
    today = service.today()
    try:
        found = standing(service.engine, membership_no, today)
    except MemberNotFound:
        raise NotFound(f"There is no member {membership_no}.") from None
    member, scheme, ev = found.member, found.scheme, found.evaluation
    earlier_day = ev.period_start - dt.timedelta(days=1)
    earlier = standing(service.engine, membership_no, earlier_day).evaluation
    with reading(service.engine) as session:
        shown = views.views(service, session, list(reversed(found.claims)))
    results = {c.id: c for c in ev.claims}
    claims: list[dict[str, Any]] = []
    for view in shown:
        result = results.get(str(view.id))
        claims.append(
            {
                "view": view,
                "counted": result.counted if result else False,
                "earned": fmt(result.points) if result and result.counted else "-",
                "note": result.note if result else "",
            }
        )
    return {
        "membership_no": member.membership_no,
        "name": member.name,
        "email": member.email,
        "scheme": scheme.id,
        "scheme_name": scheme.short_name,
        "unit": scheme.unit,
        "grade": member.grade,
        "role": member.role,
        "joined": member.joined,
        "channels": channels_of(member),
        "standing": _standing_json(scheme, ev, today),
        "previous": _standing_json(scheme, earlier, earlier_day),
        "claims": [c for c, v in zip(claims, shown, strict=True) if v.status != "draft"],
    }
