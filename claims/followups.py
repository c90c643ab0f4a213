"""Follow-ups that earn credits or save them (issue 15), each timed by the scheme file's
``follow_ups`` block and told exactly once:

* **draft reminder** — a draft never submitted is reminded once, ``draft_reminder_after_days``
  after the day it was made (a run that missed the day sends it late, once);
* **draft expiry** — ``draft_expires_after_days`` after that day it expires (withdrawn with
  the reason "expired: ...", as held claims by mail expire; audited ``claim.expired``) and
  the member is told;
* **impact** — ``impact_after_weeks`` after an accepted claim that could still earn the
  impact reflection's credit, the member is asked whether they have seen its impact (a button
  in Telegram; by mail, a reply adds it: ``claims.late_reflection``);
* **window** — ``window_warning_days`` (60, 30, 7) before accepted activities drop out of a
  rolling window (the IBMS diploma's two years), the member is warned: one message a day
  naming every activity whose step is due (a missed step is sent late, once).

Every follow-up is a row of the ledger (``storage.followups``: unique per subject, follow-up
and due day) inserted ``ON CONFLICT DO NOTHING`` in the transaction that queues its message,
so a run repeated, late or on two instances tells nobody twice. Follow-ups more than
:data:`LATE_DAYS` past their day are not sent (a scheme turning one on does not ask about
its whole history).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta

from cpd import rules
from cpd.claims import late_reflection, recipients, texts, threads
from cpd.claims.notifications import queue, tell
from cpd.rules.scheme import RollingWindow
from cpd.storage import Engine, Session, models, transaction
from cpd.storage import followups as ledger
from cpd.storage.queries import add_audit

LATE_DAYS = 14
"""An impact question is not asked more than this many days after its day."""
ACTOR = "system:follow-ups"


@dataclass(slots=True)
class FollowUpReport:
    """What a run told: how many follow-ups of each kind, and how many drafts expired."""

    today: dt.date
    told: Counter[str] = field(default_factory=Counter)
    expired: int = 0

    def line(self) -> str:
        """One line for the log and the CLI."""
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.told.items())) or "none"
        return f"follow-ups on {self.today}: {kinds}; drafts expired {self.expired}"


def _key(subject: str, kind: str, due: dt.date) -> str:
    return f"followup:{subject}:{kind}:{due.isoformat()}"


def _start_of(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), zone).astimezone(dt.UTC)


def _local_day(moment: dt.datetime, zone: dt.tzinfo) -> dt.date:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(zone).date()


@dataclass(frozen=True, slots=True)
class _Run:
    zone: dt.tzinfo
    now: dt.datetime


def run_followups(
    engine: Engine, zone: dt.tzinfo, now: dt.datetime, today: dt.date | None = None
) -> FollowUpReport:
    """Tell every follow-up due on ``today`` (default: ``now``'s day in the body's zone),
    once; ``now`` is when drafts expire."""
    day = today or now.astimezone(zone).date()
    run = _Run(zone, now)
    report = FollowUpReport(day)
    schemes = {sid: rules.load_scheme(sid) for sid in rules.scheme_ids()}
    with transaction(engine) as session:
        _drafts(run, session, schemes, day, report)
    with transaction(engine) as session:
        _impact(run, session, schemes, day, report)
    with transaction(engine) as session:
        _window(session, schemes, day, report)
    return report


def _drafts(
    svc: _Run,
    session: Session,
    schemes: dict[str, rules.Scheme],
    today: dt.date,
    report: FollowUpReport,
) -> None:
    for claim, member in ledger.drafts_made_before(session, _start_of(today, svc.zone)):
        scheme = schemes.get(member.scheme)
        if scheme is None or claim.id is None or member.id is None:
            continue
        rule = scheme.follow_ups
        made = _local_day(claim.created_at, svc.zone)
        age = (today - made).days
        subject = f"claim:{claim.id}"
        expiry = rule.draft_expires_after_days
        if expiry is not None and age >= expiry:
            reason = f"expired: not submitted within {expiry} days"
            if ledger.expire_draft(session, claim.id, svc.now, reason):
                due = made + dt.timedelta(days=expiry)
                ledger.record(session, subject, "draft_expiry", due, member.id, claim.id)
                add_audit(session, ACTOR, "claim.expired", member_id=member.id, claim_id=claim.id)
                text = (
                    f"Claim #{claim.id} ({claim.title}) was never submitted, so it lapsed "
                    f"after {expiry} days. Send it again if you still want to claim it."
                )
                tell(session, member, _key(subject, "draft_expiry", due), text)
                report.expired += 1
                report.told["draft_expiry"] += 1
            continue
        reminder = rule.draft_reminder_after_days
        if reminder is None or age < reminder:
            continue
        due = made + dt.timedelta(days=reminder)
        if ledger.record(session, subject, "draft_reminder", due, member.id, claim.id):
            text = _draft_text(claim, made, expiry)
            tell(session, member, _key(subject, "draft_reminder", due), text)
            report.told["draft_reminder"] += 1


def _draft_text(claim: models.Claim, made: dt.date, expiry: int | None) -> str:
    how = (
        f'reply "{texts.SEND_ANYWAY}" to our mail about it'
        if claim.channel == "email"
        else "tap Submit on it (or Cancel)"
    )
    lapse = ""
    if expiry is not None:
        ends = texts.long_date(made + dt.timedelta(days=expiry))
        lapse = f" Drafts lapse after {expiry} days, on {ends}."
    return (
        f"Claim #{claim.id} ({claim.title}) is still a draft: it has not been sent to the "
        f"membership secretary. To send it, {how}.{lapse}"
    )


def _impact(
    svc: _Run,
    session: Session,
    schemes: dict[str, rules.Scheme],
    today: dt.date,
    report: FollowUpReport,
) -> None:
    by_weeks: dict[int, list[str]] = {}
    for scheme in schemes.values():
        weeks = scheme.follow_ups.impact_after_weeks
        if weeks is not None and scheme.extras.reflections.get(late_reflection.IMPACT):
            by_weeks.setdefault(weeks, []).append(scheme.id)
    for weeks, ids in by_weeks.items():
        first = today - dt.timedelta(weeks=weeks, days=LATE_DAYS)
        last = today - dt.timedelta(weeks=weeks)
        rows = ledger.accepted_decided_between(
            session, ids, _start_of(first, svc.zone), _start_of(last + dt.timedelta(1), svc.zone)
        )
        for claim, member in rows:
            scheme = schemes[member.scheme]
            if claim.decided_at is None or claim.id is None or member.id is None:
                continue
            if not late_reflection.wants_impact(scheme, claim):
                continue
            due = _local_day(claim.decided_at, svc.zone) + dt.timedelta(weeks=weeks)
            subject = f"claim:{claim.id}"
            if due <= today and ledger.record(session, subject, "impact", due, member.id, claim.id):
                _ask_impact(session, member, claim, scheme, weeks, _key(subject, "impact", due))
                report.told["impact"] += 1


def _ask_impact(
    session: Session,
    member: models.Member,
    claim: models.Claim,
    scheme: rules.Scheme,
    weeks: int,
    key: str,
) -> None:
    credit = texts.amount(late_reflection.impact_credit(scheme, claim), scheme.unit)
    text = (
        f"{weeks} weeks ago your claim #{claim.id} ({claim.title}) was accepted. Have you "
        f'seen its impact at work? An "Impact and results" reflection earns {credit} more.'
    )
    if member.telegram_user_id is not None:
        queue(
            session,
            f"{key}:telegram",
            "telegram",
            recipients.member(member),
            "impact_followup",
            {
                "text": f"{text} Tap the button and tell me.",
                "claim_id": claim.id,
                "button": scheme.follow_ups.impact_button,
            },
        )
    elif member.email:
        queue(
            session,
            f"{key}:email",
            "email",
            recipients.member(member),
            "notice",
            {
                "text": f"{text}\n\nReply to this mail with a sentence or two about its impact "
                "and results, and it is added to the claim.",
                "subject": f"Your CPD claim: has it made a difference? {claim.title}"[:200],
                "message_id_local": threads.mint(session, claim),
            },
        )


def _window(
    session: Session, schemes: dict[str, rules.Scheme], today: dt.date, report: FollowUpReport
) -> None:
    for scheme in schemes.values():
        steps = sorted(scheme.follow_ups.window_warning_days)
        period = scheme.period
        if not steps or not isinstance(period, RollingWindow):
            continue
        years = relativedelta(years=period.years)
        first, last = today + dt.timedelta(days=1) - years, today + dt.timedelta(steps[-1]) - years
        due: dict[int, tuple[models.Member, list[tuple[models.Claim, dt.date]]]] = {}
        for claim, member in ledger.accepted_dated_between(session, [scheme.id], first, last):
            if member.id is None or claim.id is None:
                continue
            if member.diploma_start is not None and claim.start_date < member.diploma_start:
                continue  # not in the current diploma: nothing to lose
            drop = claim.start_date + years
            left = (drop - today).days
            step = min(s for s in steps if s >= left)
            if ledger.record(session, f"member:{member.id}", f"window_{step}", drop, member.id):
                due.setdefault(member.id, (member, []))[1].append((claim, drop))
        for member, dropping in due.values():
            tell(
                session,
                member,
                f"followup:member:{member.id}:window:{today}",
                _window_text(dropping, today, period.years),
            )
            report.told["window"] += 1


def _window_text(dropping: list[tuple[models.Claim, dt.date]], today: dt.date, years: int) -> str:
    lines = [
        f"{len(dropping)} of your diploma's activities will drop out of its {years}-year window "
        "soon; submit your diploma before then if it is ready:"
    ]
    for claim, drop in dropping[:20]:
        lines.append(
            f"- {claim.title} ({texts.long_date(claim.start_date)}): drops out on "
            f"{texts.long_date(drop)}, in {(drop - today).days} days"
        )
    return "\n".join(lines)
