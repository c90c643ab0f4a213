"""A reminder run: the rule (``claims.reminders``) applied to every member at one moment, and
what it decides queued in the outbox, each member in their one channel.

Three passes, each on its own cadence in ``app/schedule.py`` and all three in
``cpd nudges send``:

* ``telegram`` — progress nudges (or the month's encouraging note) for members linked in
  Telegram (``CPD_NUDGE_CRON``);
* ``email`` — the same for members not linked, by mail (``CPD_MAIL_NUDGE_CRON``);
* ``daily`` — countdowns and duty reminders for everyone, in their channel.

The channel is ``notifications.channel_for`` (Telegram when linked, else the registered
address, else nobody: counted as unreachable). Every reminder has a dedup key
(``Reminder.key``), so a run repeated for the same moment queues nothing new. Telegram
messages queued in quiet hours (20:00-08:00 in the body's zone) wait until 08:00, and the
service does not hand Telegram reminders (template ``reminder``) to the sender in quiet hours
either (a retry or a backlog that falls due at night).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Literal

from cpd import rules
from cpd.claims import recipients, reminders
from cpd.claims.notifications import channel_for, queue
from cpd.claims.reminder_texts import HowToClaim, mail_payload, message, summary
from cpd.claims.standing import MemberStanding, all_standings
from cpd.storage import Engine, Session, models, reading, transaction
from cpd.storage import members as members_repo
from cpd.storage import outbox as store

Pass = Literal["telegram", "email", "daily"]
ALL_PASSES: tuple[Pass, ...] = ("telegram", "email", "daily")
BATCH = 500
REMINDER = "reminder"
"""The outbox template of every reminder, in both channels (the Telegram sender sends any
template it does not know as plain text; the service holds these back in quiet hours)."""


@dataclass(frozen=True, slots=True)
class Planned:
    """One reminder a run decided on."""

    membership_no: str
    channel: str
    kind: str
    summary: str
    key: str
    new: bool


@dataclass(slots=True)
class ReminderReport:
    """What a run decided: the reminders (new or already queued) and who has no channel."""

    moment: dt.datetime
    planned: list[Planned] = field(default_factory=list)
    unreachable: int = 0

    @property
    def queued(self) -> int:
        """How many reminders this run added (or, dry, would add)."""
        return sum(1 for p in self.planned if p.new)


@dataclass(frozen=True, slots=True)
class _Due:
    member: models.Member
    facts: reminders.Facts
    reminder: reminders.Reminder
    channel: str


def _members(engine: Engine) -> dict[int, models.Member]:
    with reading(engine) as session:
        rows = members_repo.all_members(session)
        return {m.id: m for m in rows if m.id is not None}


def _decide(
    standing: MemberStanding,
    member: models.Member,
    today: dt.date,
    passes: Collection[Pass],
    rule_of: dict[str, reminders.ReminderRule],
) -> tuple[str | None, list[tuple[reminders.Facts, reminders.Reminder]]]:
    scheme = rules.load_scheme(standing.scheme)
    rule = rule_of.get(scheme.id)
    if rule is None:
        rule = rule_of[scheme.id] = reminders.rule_for(scheme)
    facts = reminders.Facts(
        scheme,
        standing.evaluation,
        today,
        muted=member.nudges_muted,
        last_claim=standing.last_claim,
        claims_in_period=standing.claims_in_period,
    )
    channel = channel_for(member)
    due: list[reminders.Reminder] = []
    if channel is not None and channel in passes:
        progress = reminders.progress(facts, rule)
        if progress is not None:
            due.append(progress)
    if "daily" in passes:
        due.extend(reminders.daily(facts, rule))
    return channel, [(facts, r) for r in due]


def _chunks(items: list[_Due], size: int) -> Iterator[list[_Due]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def run_reminders(
    engine: Engine,
    moment: dt.datetime,
    zone: dt.tzinfo,
    passes: Collection[Pass] = ALL_PASSES,
    how: HowToClaim | None = None,
    queued_at: dt.datetime | None = None,
    dry_run: bool = False,
) -> ReminderReport:
    """Decide every member's reminders at ``moment`` and queue the new ones (none when
    ``dry_run``). ``queued_at`` (default ``moment``) is the real time, for quiet hours."""
    how = how or HowToClaim("cpd@localhost")
    today = moment.astimezone(zone).date()
    members = _members(engine)
    report = ReminderReport(moment)
    due: list[_Due] = []
    rule_of: dict[str, reminders.ReminderRule] = {}
    for standing in all_standings(engine, today):
        member = members.get(standing.member_id)
        if member is None:
            continue
        channel, decided = _decide(standing, member, today, passes, rule_of)
        if decided and channel is None:
            report.unreachable += 1
            continue
        due.extend(_Due(member, f, r, channel) for f, r in decided if channel)
    release = reminders.quiet_release(queued_at or moment, zone)
    for chunk in _chunks(due, BATCH):
        keys = [d.reminder.key(members_repo.id_of(d.member)) for d in chunk]
        with reading(engine) as session:
            existing = store.queued(session, keys)
        for item, key in zip(chunk, keys, strict=True):
            report.planned.append(
                Planned(
                    item.member.membership_no,
                    item.channel,
                    item.reminder.kind,
                    summary(item.facts, item.reminder),
                    key,
                    key not in existing,
                )
            )
        if dry_run:
            continue
        with transaction(engine) as session:
            for item, key in zip(chunk, keys, strict=True):
                if key not in existing:
                    _enqueue(session, item, key, how, release)
    return report


def _enqueue(
    session: Session, item: _Due, key: str, how: HowToClaim, release: dt.datetime | None
) -> None:
    member = item.member
    if item.channel == "telegram":
        queue(
            session,
            key,
            "telegram",
            recipients.member(member),
            REMINDER,
            {"text": message(item.facts, item.reminder)},
            not_before=release,
        )
        return
    queue(
        session,
        key,
        "email",
        recipients.member(member),
        REMINDER,
        mail_payload(item.facts, item.reminder, members_repo.id_of(member), member.name, how),
    )
