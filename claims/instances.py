"""What lets several ``cpd run`` share one database, for the channels and the scheduler.

An instance has an id (host, pid and a random tail, unique among the instances at any one
time) that leases outbox rows and signs the job ledger. :meth:`Instances.lock` gives a named
lock that one instance holds at a time (on PostgreSQL a session advisory lock on a connection
of its own; on SQLite always granted, the database file being locked to one ``cpd run``):
the IMAP poller and the Telegram dispatcher take turns through it. :meth:`Instances.claim_run`
decides which instance runs a scheduled job for one scheduled time.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from typing import Protocol

from cpd.storage import Engine, job_ledger, locks
from cpd.storage import outbox as store


def new_instance_id() -> str:
    """``host:pid:random``, at most 120 characters."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


class Lock(Protocol):
    """A lock one instance holds at a time."""

    @property
    def held(self) -> bool:
        """Whether this instance held it at the last check."""
        ...

    def try_acquire(self) -> bool:
        """Take it if free, or confirm it is still held; never waits for another holder."""
        ...

    def release(self) -> None:
        """Give it up."""
        ...


class Instances:
    """This instance's id, its outbox lease, the job ledger and the named locks."""

    def __init__(
        self,
        engine: Engine,
        instance_id: str | None = None,
        lease: dt.timedelta = store.DEFAULT_LEASE,
    ) -> None:
        self.engine = engine
        self.id = instance_id or new_instance_id()
        self.lease = lease

    @property
    def shared(self) -> bool:
        """Whether several instances may share the database (PostgreSQL)."""
        return self.engine.dialect.name == "postgresql"

    def lock(self, name: str) -> Lock:
        """A new handle on the lock ``name`` (not yet taken)."""
        return locks.SessionLock(self.engine, name)

    def claim_run(self, job: str, scheduled_for: dt.datetime) -> bool:
        """True when this instance is to run ``job`` for ``scheduled_for`` (once among all)."""
        return job_ledger.claim_run(self.engine, job, scheduled_for, self.id)

    def finish_run(self, job: str, scheduled_for: dt.datetime) -> None:
        """Record that this run of ``job`` ended."""
        job_ledger.finish_run(self.engine, job, scheduled_for)
