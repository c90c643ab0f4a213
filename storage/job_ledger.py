"""The scheduled jobs' ledger: each (job, scheduled time) runs once, whichever instance fires.

Every instance's scheduler fires every job; :func:`claim_run` decides which one runs it. On
PostgreSQL it first takes ``pg_try_advisory_xact_lock`` on the job's key (an instance that does
not get it at once does nothing: another is deciding) and then inserts the ``job_run`` row
``ON CONFLICT DO NOTHING``: only the inserter runs the job. SQLite takes the same path without
the advisory lock (its file lock already keeps to one instance). A run whose instance died
before :func:`finish_run` may be claimed again after ``stale_after`` (the jobs are idempotent:
the outbox's keys keep a second run from telling anyone twice).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, text, update
from sqlmodel import col

from cpd.storage.database import transaction
from cpd.storage.locks import advisory_key
from cpd.storage.models import JobRun, utcnow
from cpd.storage.upsert import changed_rows, insert_ignore

STALE_AFTER = dt.timedelta(minutes=30)


def claim_run(
    engine: Engine,
    job: str,
    scheduled_for: dt.datetime,
    owner: str,
    stale_after: dt.timedelta = STALE_AFTER,
) -> bool:
    """True when this instance (``owner``) is to run ``job`` for ``scheduled_for``; False when
    another instance runs it, has run it, or is deciding right now."""
    moment = scheduled_for.astimezone(dt.UTC)
    with transaction(engine) as session:
        if engine.dialect.name == "postgresql":
            got = session.execute(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": advisory_key(f"job:{job}")}
            ).scalar()
            if not got:
                return False
        now = utcnow()
        if insert_ignore(
            session,
            JobRun(job=job, scheduled_for=moment, owner=owner, claimed_at=now),
            ["job", "scheduled_for"],
        ):
            return True
        taken_over = changed_rows(  # its instance died before it finished: run it again
            session,
            update(JobRun)
            .where(
                col(JobRun.job) == job,
                col(JobRun.scheduled_for) == moment,
                col(JobRun.finished_at).is_(None),
                col(JobRun.claimed_at) < now - stale_after,
            )
            .values(owner=owner, claimed_at=now),
        )
        return taken_over == 1


def finish_run(engine: Engine, job: str, scheduled_for: dt.datetime) -> None:
    """Record that the run of ``job`` for ``scheduled_for`` ended."""
    with engine.begin() as connection:
        connection.execute(
            update(JobRun)
            .where(
                col(JobRun.job) == job,
                col(JobRun.scheduled_for) == scheduled_for.astimezone(dt.UTC),
            )
            .values(finished_at=utcnow())
        )


def runs(engine: Engine, job: str) -> list[tuple[dt.datetime, str]]:
    """(scheduled time, owner) of every recorded run of ``job``, oldest first."""
    from sqlmodel import Session, select

    with Session(engine) as session:
        found = session.exec(
            select(JobRun).where(col(JobRun.job) == job).order_by(col(JobRun.scheduled_for))
        ).all()
        return [(r.scheduled_for, r.owner) for r in found]
