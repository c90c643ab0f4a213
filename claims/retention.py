"""Retention: what the nightly job (and ``cpd purge``) deletes, and why it is safe.

* Processed-message keys (Telegram ``update_id``, mail Message-ID, IMAP UIDVALIDITY/UID)
  exist to stop a *re-delivery* from being handled twice. Re-deliveries come soon or never: a
  mail server gives up retrying after a few days (RFC 5321 suggests 4-5 days; Postfix's
  ``maximal_queue_lifetime`` is 5 days), Telegram keeps an unconfirmed update for 24 hours,
  and the IMAP poller moves a handled message out of the polled folder right after storing it
  (a crash in between re-reads it within a poll, not months later). After
  ``CPD_RETENTION_DAYS`` (default 90) no copy can still arrive. A claim keeps its own
  ``source_key`` with a unique constraint forever, so even a very late copy of a mail that made
  a claim cannot make a second one.
* Delivered outbox rows (status ``sent``) older than the same age: their dedup keys only guard
  against queuing the same notice twice, which the jobs do within a day. Pending and dead rows
  stay. (``cpd period-end --now`` refuses a moment older than this age for the same reason.)
* Drafts never submitted and untouched for ``CPD_DRAFT_RETENTION_DAYS`` (default 30) are
  expired: their text and evidence go, a tombstone row stays for the audit log (see
  ``storage.retention``). Evidence files are shared by sha256 and go only when no claim refers
  to them any more.
* Handled Telegram inbox rows after ``INBOX_DAYS`` (2): Telegram re-delivers an update it
  did not see confirmed within a day, so two days keep every duplicate caught; and after a
  week without updates Telegram picks the next ``update_id`` at random, so a row kept longer
  could make a new update look like an old one. Unhandled rows are never purged.
* The audit log is never purged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cpd.storage import Engine, evidence, inbox, retention

INBOX_DAYS = 2
"""Days a handled Telegram update is kept (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long things are kept (days) and how many rows one transaction deletes."""

    days: int = 90
    draft_days: int = 30
    batch: int = 1000


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What a purge removed (or, with ``dry_run``, would remove)."""

    dry_run: bool
    processed_keys: int
    delivered_outbox: int
    drafts: int
    evidence_files: int
    leftovers: int
    inbox_rows: int = 0

    def line(self) -> str:
        """One line for operators and the log."""
        verb = "would purge" if self.dry_run else "purged"
        files = "" if self.dry_run else f", {self.evidence_files} evidence file(s) no longer used"
        left = "" if self.dry_run else f", {self.leftovers} crash leftover(s)"
        return (
            f"{verb} {self.processed_keys} processed-message key(s), {self.delivered_outbox} "
            f"delivered outbox row(s), {self.drafts} expired draft(s), {self.inbox_rows} handled "
            f"Telegram update(s){files}{left}"
        )


def purge(
    engine: Engine,
    evidence_dir: Path,
    policy: RetentionPolicy,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> PurgeReport:
    """Purge what is older than the policy allows (idempotent; see the module docstring)."""
    moment = now or dt.datetime.now(dt.UTC)
    keys_before = moment - dt.timedelta(days=policy.days)
    drafts_before = moment - dt.timedelta(days=policy.draft_days)
    if dry_run:
        return PurgeReport(
            True,
            retention.count_processed_keys(engine, keys_before),
            retention.count_delivered_outbox(engine, keys_before),
            retention.count_expired_drafts(engine, drafts_before),
            0,
            0,
            inbox.count_handled(engine, moment - dt.timedelta(days=INBOX_DAYS)),
        )
    drafts = retention.expire_drafts(engine, drafts_before, batch=max(1, policy.batch // 5))
    files = [f for draft in drafts for f in draft.files]
    removed = retention.remove_unreferenced_files(engine, files, dt.timedelta(hours=1))
    return PurgeReport(
        False,
        retention.purge_processed_keys(engine, keys_before, policy.batch),
        retention.purge_delivered_outbox(engine, keys_before, policy.batch),
        len(drafts),
        removed,
        evidence.remove_incoming_leftovers(evidence_dir, min_age=3600),
        inbox.purge_handled(engine, moment - dt.timedelta(days=INBOX_DAYS)),
    )
