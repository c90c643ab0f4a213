"""Period ends and audits: what happens by itself when a body's year or cycle closes.

``close_periods`` runs daily (any time after midnight in the body's time zone) and is
idempotent: for every member whose period ended yesterday it queues one message saying where
they finished (IIMS: what carries forward and what is lost), and for IMI cycle ends it draws the
random audit sample. Carry forward itself needs no job: the rules engine derives it from the
accepted claims. ``audit_sample`` draws a sample by hand; the seed is logged so that the same
sample can be drawn again, and nobody is selected twice for the same cycle.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlmodel import Session

from cpd import rules
from cpd.claims.notifications import tell
from cpd.claims.standing import MemberStanding, all_standings
from cpd.claims.texts import amount, long_date
from cpd.rules.values import number
from cpd.storage import models, transaction
from cpd.storage.outbox import enqueue
from cpd.storage.queries import add_audit


@dataclass
class PeriodEndReport:
    """What a run of ``close_periods`` did."""

    closing_day: dt.date
    told: list[str] = field(default_factory=list)
    audits: list[AuditSample] = field(default_factory=list)


@dataclass(frozen=True)
class AuditSample:
    """A drawn audit sample and how to draw it again."""

    scheme: str
    cycle: int
    seed: int
    fraction: float
    eligible: int
    selected: list[str]


def finish_text(scheme: rules.Scheme, ev: rules.Evaluation) -> str:
    """The message a member gets when their period has closed."""
    held = amount(ev.total, scheme.unit)
    period = (
        f"{ev.period_start.year}"
        if ev.period_start.month == 1 and ev.period_end.month == 12
        else f"{long_date(ev.period_start)} to {long_date(ev.period_end)}"
    )
    if ev.dispensation:
        head = f"Your CPD period {period} has closed with {held}; you had a dispensation."
    elif not ev.compulsory:
        head = f"Your CPD period {period} has closed with {held}."
    elif ev.met:
        head = f"Your CPD period {period} has closed: {held} of {number(ev.target)}, target met."
    else:
        head = (
            f"Your CPD period {period} has closed with {held} of {number(ev.target)}: "
            f"{amount(ev.remaining, scheme.unit)} short of the target."
        )
    if scheme.carry_forward is None:
        return head
    surplus = max(0.0, ev.total - ev.target if not ev.dispensation else ev.total - scheme.target)
    lost = max(0.0, surplus - ev.carry_out)
    if ev.carry_out:
        tail = f" {amount(ev.carry_out, scheme.unit)} carry forward into the new period"
        tail += f"; {amount(lost, scheme.unit)} could not be carried." if lost else "."
    else:
        tail = " Nothing carries forward into the new period."
    return head + tail


def close_periods(
    engine: Engine, now: dt.datetime, zone: ZoneInfo, audit_seed: int | None = None
) -> PeriodEndReport:
    """Tell every member whose period ended yesterday (local time) where they finished, and
    draw the IMI audit sample for cycles that ended. Safe to run any number of times."""
    today = now.astimezone(zone).date()
    closing_day = today - dt.timedelta(days=1)
    report = PeriodEndReport(closing_day)
    closing: list[MemberStanding] = [
        s
        for s in all_standings(engine, closing_day)
        if s.evaluation.period_end == closing_day and s.scheme != "ibms"
    ]
    with transaction(engine) as session:
        members = {m.id: m for m in session.exec(select(models.Member)).scalars()}  # type: ignore[call-overload]
        for standing in closing:
            member = members[standing.member_id]
            scheme = rules.load_scheme(standing.scheme)
            ev = standing.evaluation
            key = f"period-end:{member.id}:{scheme.id}:{ev.period_key}"
            subject = f"Your {scheme.short_name} CPD period has closed"
            if tell(session, member, key, finish_text(scheme, ev), subject, "period_end"):
                report.told.append(member.membership_no)
    for scheme_id in sorted({s.scheme for s in closing}):
        scheme = rules.load_scheme(scheme_id)
        if scheme.audit is None:
            continue
        cycles = sorted({s.evaluation.period_key for s in closing if s.scheme == scheme_id})
        for cycle in cycles:
            if _already_sampled(engine, scheme_id, cycle):
                continue
            report.audits.append(
                audit_sample(
                    engine,
                    scheme_id,
                    cycle,
                    scheme.audit.default_fraction,
                    audit_seed,
                    actor="period-end",
                    as_of=closing_day,
                )
            )
    return report


def _already_sampled(engine: Engine, scheme_id: str, cycle: int) -> bool:
    with Session(engine) as session:
        rows = session.exec(  # type: ignore[call-overload]
            select(models.AuditEntry.details).where(models.AuditEntry.action == "audit.sampled")
        ).scalars()
        return any(d.get("scheme") == scheme_id and d.get("cycle") == cycle for d in rows)


def _previously_selected(session: Session, scheme_id: str, cycle: int) -> set[int]:
    rows = session.exec(  # type: ignore[call-overload]
        select(models.AuditEntry.member_id, models.AuditEntry.details).where(
            models.AuditEntry.action == "audit.selected"
        )
    ).all()
    return {
        member_id
        for member_id, d in rows
        if d.get("scheme") == scheme_id and d.get("cycle") == cycle
    }


def audit_sample(
    engine: Engine,
    scheme_id: str,
    cycle: int,
    fraction: float,
    seed: int | None = None,
    actor: str = "cli",
    as_of: dt.date | None = None,
) -> AuditSample:
    """Draw a random ``fraction`` of the scheme's members whose cycle started in ``cycle``.

    The seed (drawn if not given) is logged with the sample; the same seed over the same
    register draws the same members. Members already selected for this cycle are not drawn
    again. Each selected member is emailed the audit instructions.
    """
    if not 0 < fraction <= 1:
        raise ValueError("the fraction must be above 0 and at most 1")
    scheme = rules.load_scheme(scheme_id)
    seed = secrets.randbelow(2**31) if seed is None else seed
    day = as_of or dt.date(cycle + getattr(scheme.period, "years", 1), 1, 1)
    eligible = [
        s
        for s in all_standings(engine, day)
        if s.scheme == scheme_id and s.evaluation.period_key == cycle and s.evaluation.compulsory
    ]
    with transaction(engine) as session:
        already = _previously_selected(session, scheme_id, cycle)
        pool = sorted(s.member_id for s in eligible if s.member_id not in already)
        count = min(len(pool), max(1, round(len(eligible) * fraction))) if pool else 0
        chosen = sorted(random.Random(seed).sample(pool, count))
        members = {
            m.id: m
            for m in session.exec(  # type: ignore[call-overload]
                select(models.Member).where(models.Member.id.in_(chosen))
            ).scalars()
        }  # type: ignore[attr-defined]
        add_audit(
            session,
            actor,
            "audit.sampled",
            details={
                "scheme": scheme_id,
                "cycle": cycle,
                "seed": seed,
                "fraction": fraction,
                "eligible": len(eligible),
                "selected": [members[i].membership_no for i in chosen],
            },
        )
        for member_id in chosen:
            member = members[member_id]
            add_audit(
                session,
                actor,
                "audit.selected",
                member_id=member_id,
                details={"scheme": scheme_id, "cycle": cycle, "seed": seed},
            )
            if member.email:
                enqueue(
                    session,
                    f"audit:{scheme_id}:{cycle}:{member_id}",
                    "email",
                    member.email,
                    "audit",
                    {
                        "subject": f"{scheme.short_name} CPD audit: cycle {cycle}",
                        "text": audit_text(scheme, cycle, member.name),
                    },
                )
    return AuditSample(
        scheme_id, cycle, seed, fraction, len(eligible), [members[i].membership_no for i in chosen]
    )


def audit_text(scheme: rules.Scheme, cycle: int, name: str) -> str:
    """The audit instructions a selected member receives."""
    return (
        f"Dear {name},\n\nYou have been selected at random for the {scheme.short_name} CPD "
        f"audit of the cycle that started in {cycle}. Please send, within 28 days, your CPD "
        "record for the cycle (`/export` in the Telegram bot gives it as a PDF) and the "
        "evidence for each activity (`/evidence` gives a zip file): certificates, "
        "attendance records, references to what you read. Each activity needs a clear "
        "title, its dates, its duration and your reflective statement.\n\nThe membership "
        "team will contact you if anything is missing."
    )
