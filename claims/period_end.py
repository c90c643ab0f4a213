"""Period ends and audits: what happens by itself when a body's year or cycle closes.

``close_periods`` runs daily (any time after midnight in the body's time zone) and is
idempotent: for every member whose period ended yesterday it queues one message saying where
they finished (IIMS: what carries forward and what is lost), and for IMI cycle ends it draws the
random audit sample. Carry forward itself needs no job: the rules engine derives it from the
accepted claims. ``audit_sample`` draws a sample by hand, once per cycle (a second run returns
the logged sample; ``redraw`` adds to it); the seed is logged so that the same sample can be
drawn again, and nobody is selected twice for the same cycle.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from cpd import rules
from cpd.claims import recipients
from cpd.claims.notifications import channel_for, queue, tell
from cpd.claims.standing import MemberStanding, all_standings
from cpd.claims.texts import amount, long_date
from cpd.rules.values import number
from cpd.storage import Engine, reading, transaction
from cpd.storage import members as members_repo
from cpd.storage.outbox import queued
from cpd.storage.queries import add_audit, audit_details, members_by_id, serialize


@dataclass
class PeriodEndReport:
    """What a run of ``close_periods`` did (or, with ``dry_run``, would do)."""

    closing_day: dt.date
    told: list[str] = field(default_factory=list)
    audits: list[AuditSample] = field(default_factory=list)
    dry_run: bool = False
    # (membership_no, channel, text) of the notices this run queued (would queue): not the
    # ones an earlier run already queued
    notices: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class AuditSample:
    """An audit sample of a cycle and how to draw it again.

    ``selected`` is everyone selected for the cycle so far (after this run), ``new`` those this
    run selected (and mailed); ``status`` is ``drawn``, ``redrawn``, ``existing`` (a sample was
    already drawn: nothing done) or ``dry-run`` (nothing recorded or queued).
    """

    scheme: str
    cycle: int
    seed: int
    fraction: float
    eligible: int
    selected: list[str]
    new: list[str] = field(default_factory=list)
    status: str = "drawn"
    queued: int = 0


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
    engine: Engine,
    now: dt.datetime,
    zone: ZoneInfo,
    audit_seed: int | None = None,
    dry_run: bool = False,
) -> PeriodEndReport:
    """Tell every member whose period ended yesterday (local time) where they finished, and
    draw the IMI audit sample for cycles that ended. Safe to run any number of times; with
    ``dry_run`` nothing is queued or recorded and the report says what would be."""
    today = now.astimezone(zone).date()
    closing_day = today - dt.timedelta(days=1)
    report = PeriodEndReport(closing_day, dry_run=dry_run)
    closing: list[MemberStanding] = [
        s
        for s in all_standings(engine, closing_day)
        # a rolling window (a diploma) has no period that ends: nothing to close
        if s.evaluation.period_end == closing_day
        and rules.load_scheme(s.scheme).period.kind != "rolling_window"
    ]
    with transaction(engine) as session:
        members = {m.id: m for m in members_repo.all_members(session)}
        for standing in closing:
            member = members[standing.member_id]
            scheme = rules.load_scheme(standing.scheme)
            ev = standing.evaluation
            key = f"period-end:{member.id}:{scheme.id}:{ev.period_key}"
            channel = channel_for(member)
            if channel is None:
                continue
            text = finish_text(scheme, ev)
            if not queued(session, [f"{key}:{channel}"]):
                report.notices.append((member.membership_no, channel, text))
            if not dry_run:
                subject = f"Your {scheme.short_name} CPD period has closed"
                tell(session, member, key, text, subject, "period_end")
            report.told.append(member.membership_no)
        if dry_run:
            session.rollback()
    for scheme_id in sorted({s.scheme for s in closing}):
        scheme = rules.load_scheme(scheme_id)
        if scheme.audit is None:
            continue
        cycles = sorted({s.evaluation.period_key for s in closing if s.scheme == scheme_id})
        for cycle in cycles:
            sample = audit_sample(
                engine,
                scheme_id,
                cycle,
                scheme.audit.default_fraction,
                audit_seed,
                actor="period-end",
                as_of=closing_day,
                dry_run=dry_run,
            )
            if sample.status != "existing":
                report.audits.append(sample)
    return report


def _logged_sample(scheme_id: str, cycle: int, logged: list[dict[str, Any]]) -> AuditSample:
    latest = logged[-1]
    everyone = [number for d in logged for number in d.get("selected", [])]
    return AuditSample(
        scheme_id,
        cycle,
        int(latest["seed"]),
        float(latest["fraction"]),
        int(latest["eligible"]),
        everyone,
        [],
        "existing",
        0,
    )


def audit_sample(
    engine: Engine,
    scheme_id: str,
    cycle: int,
    fraction: float,
    seed: int | None = None,
    actor: str = "cli",
    as_of: dt.date | None = None,
    redraw: bool = False,
    dry_run: bool = False,
) -> AuditSample:
    """The audit sample of the scheme's members whose cycle started in ``cycle``.

    When the cycle already has a sample, that sample is returned and nothing is queued, unless
    ``redraw``: then a fresh ``fraction`` is drawn from the eligible members *not yet selected*
    (those selected before stay selected and are not mailed again), logged as a redraw with
    the earlier seeds. The seed (drawn if not given) is logged with the sample; the same seed
    over the same register draws the same members. Each newly selected member is emailed the
    audit instructions. ``dry_run`` draws but records and queues nothing.
    """
    if not 0 < fraction <= 1:
        raise ValueError("the fraction must be above 0 and at most 1")
    scheme = rules.load_scheme(scheme_id)
    with reading(engine) as session:
        logged = audit_details(session, "audit.sampled", scheme=scheme_id, cycle=cycle)
    if logged and not redraw:
        return _logged_sample(scheme_id, cycle, logged)
    seed = secrets.randbelow(2**31) if seed is None else seed
    day = as_of or dt.date(cycle + getattr(scheme.period, "years", 1), 1, 1)
    eligible = [
        s
        for s in all_standings(engine, day)
        if s.scheme == scheme_id and s.evaluation.period_key == cycle and s.evaluation.compulsory
    ]
    with transaction(engine) as session:
        serialize(session, f"audit:{scheme_id}:{cycle}")
        if audit_details(session, "audit.sampled", scheme=scheme_id, cycle=cycle) != logged:
            # another run drew (or redrew) this cycle while we computed the standings
            return _logged_sample(
                scheme_id,
                cycle,
                audit_details(session, "audit.sampled", scheme=scheme_id, cycle=cycle),
            )
        already = {
            d["member_id"]
            for d in audit_details(session, "audit.selected", scheme=scheme_id, cycle=cycle)
        }
        pool = sorted(s.member_id for s in eligible if s.member_id not in already)
        count = min(len(pool), max(1, round(len(eligible) * fraction))) if pool else 0
        chosen = sorted(random.Random(seed).sample(pool, count))
        members = {m.id: m for m in members_by_id(session, chosen)}
        new = [members[i].membership_no for i in chosen]
        earlier = [n for d in logged for n in d.get("selected", [])]
        status = "dry-run" if dry_run else ("redrawn" if logged else "drawn")
        sample = AuditSample(
            scheme_id, cycle, seed, fraction, len(eligible), [*earlier, *new], new, status
        )
        if dry_run:
            session.rollback()
            return sample
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
                "selected": new,
                "redraw": bool(logged),
                "earlier_seeds": [d["seed"] for d in logged],
            },
        )
        queued_mails = 0
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
                queued_mails += 1
                queue(
                    session,
                    f"audit:{scheme_id}:{cycle}:{member_id}",
                    "email",
                    recipients.member(member),
                    "audit",
                    {
                        "subject": f"{scheme.short_name} CPD audit: cycle {cycle}",
                        "text": audit_text(scheme, cycle, member.name),
                    },
                )
    return AuditSample(
        scheme_id, cycle, seed, fraction, len(eligible), sample.selected, new, status, queued_mails
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
