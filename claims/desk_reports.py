"""The desk's reports: every member's standing for one scheme and period (a page and a CSV
download), and the audit log (newest first, by member and action, fifty a page).

Standings are evaluated in memory by the rules engine over ``standing.all_standings``'s two
ordered cursors; the audit log page is two queries (the page and its count) plus one for the
names of the members it mentions.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cpd import rules
from cpd.claims.records import STANDING_COLUMNS
from cpd.claims.standing import all_standings
from cpd.claims.texts import fmt, long_date
from cpd.claims.web_access import WebUser, require_secretary
from cpd.storage import reading
from cpd.storage.desk import (
    audit_actions,
    audit_page,
    member_names,
    member_schemes,
    register_members,
)
from cpd.storage.queries import member_by_number

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService

PAGE_SIZE = 50
YEARS_BACK = 6
CSV_COLUMNS = ("membership_no", "name", *STANDING_COLUMNS[1:])


def scheme_ids() -> list[str]:
    """The schemes the product runs (the picker's choices)."""
    return list(rules.scheme_ids())


def default_scheme(service: ClaimsService) -> str:
    """The scheme most members are on (the picker's first choice)."""
    with reading(service.engine) as session:
        found = [s for s in member_schemes(session) if s in rules.scheme_ids()]
    return found[0] if found else scheme_ids()[0]


@dataclass(frozen=True, slots=True)
class PeriodChoice:
    """A period the picker offers: its key (a year) and how it is named."""

    key: int
    label: str


def period_choices(scheme_id: str, today: dt.date) -> list[PeriodChoice]:
    """The scheme's periods of the last few years, newest first."""
    scheme = rules.load_scheme(scheme_id)
    rule = scheme.period
    found = []
    for year in range(today.year, today.year - YEARS_BACK, -1):
        if rule.kind == "calendar_year":
            label = str(year)
        elif rule.kind == "cycle":
            start = dt.date(year, getattr(rule, "start_month", 1), getattr(rule, "start_day", 1))
            if start > today:
                continue
            label = f"cycle from {long_date(start)}"
        else:
            label = f"window to {long_date(min(today, dt.date(year, 12, 31)))}"
        found.append(PeriodChoice(year, label))
    return found


def period_as_of(scheme_id: str, key: int, today: dt.date) -> dt.date:
    """The day a period with this key is evaluated on: its last day, or today if sooner."""
    rule = rules.load_scheme(scheme_id).period
    if rule.kind == "cycle":
        years = int(getattr(rule, "years", 1))
        start = dt.date(key, getattr(rule, "start_month", 1), getattr(rule, "start_day", 1))
        end = dt.date(key + years, start.month, start.day) - dt.timedelta(days=1)
    else:
        end = dt.date(key, 12, 31)
    return min(today, end)


def standings(
    service: ClaimsService, user: WebUser, scheme_id: str, key: int
) -> list[dict[str, Any]]:
    """Every member of the scheme whose period ``key`` it is, as the engine evaluates them on
    the period's last day (or today): one dict per member with the CSV's columns."""
    require_secretary(user)
    as_of = period_as_of(scheme_id, key, service.today())
    with reading(service.engine) as session:
        names = {m.id: m.name for m in register_members(session)}
    rows = []
    for s in all_standings(service.engine, as_of):
        ev = s.evaluation
        if s.scheme != scheme_id or ev.period_key != key:
            continue
        rows.append(
            {
                "membership_no": s.membership_no,
                "name": names.get(s.member_id, ""),
                "scheme": s.scheme,
                "period_start": ev.period_start.isoformat(),
                "period_end": ev.period_end.isoformat(),
                "target": fmt(ev.target),
                "carried_in": fmt(ev.carried_in),
                "earned": fmt(ev.earned),
                "total": fmt(ev.total),
                "remaining": fmt(ev.remaining),
                "met": ev.met,
                "compulsory": ev.compulsory,
                "dispensation": ev.dispensation,
                "diploma_ready": ev.diploma.ready if ev.diploma is not None else "",
            }
        )
    rows.sort(key=lambda r: str(r["membership_no"]))
    return rows


def standings_csv(rows: list[dict[str, Any]]) -> str:
    """The standings as CSV (one header row, then one row per member)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    text = str(value)
    # a spreadsheet must not run a member's name as a formula
    return "'" + text if text[:1] in ("=", "+", "-", "@") and text != "-" else text


@dataclass(frozen=True, slots=True)
class AuditPage:
    """A page of the audit log, how many rows match, the page number and count, and the
    actions the filter offers."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    actions: list[str]
    member_found: bool = True


def audit_log(
    service: ClaimsService,
    user: WebUser,
    membership_no: str | None = None,
    action: str | None = None,
    page: int = 1,
) -> AuditPage:
    """The audit log, newest first, optionally of one member and one action (NotAllowed for
    a member)."""
    require_secretary(user)
    page = max(1, page)
    with reading(service.engine) as session:
        actions = audit_actions(session)
        member_id = None
        if membership_no:
            member = member_by_number(session, membership_no)
            if member is None:
                return AuditPage([], 0, 1, 1, actions, member_found=False)
            member_id = member.id
        entries, total = audit_page(session, member_id, action, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        names = member_names(session, [e.member_id for e in entries if e.member_id])
    rows = []
    for entry in entries:
        at = entry.at if entry.at.tzinfo is not None else entry.at.replace(tzinfo=dt.UTC)
        who = names.get(entry.member_id or 0)
        rows.append(
            {
                "at": at.astimezone(service.zone).strftime("%Y-%m-%d %H:%M"),
                "actor": entry.actor,
                "action": entry.action,
                "membership_no": who[0] if who else None,
                "member_name": who[1] if who else None,
                "claim_id": entry.claim_id,
                "details": json.dumps(entry.details, ensure_ascii=False, sort_keys=True)[:500],
            }
        )
    return AuditPage(rows, total, page, max(1, math.ceil(total / PAGE_SIZE)), actions)
