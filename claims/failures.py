"""Telling an outage from a bad message, for channels that retry what failed to store.

A channel that queued a message (the mail spool) must keep retrying while the database or the
disk is away, yet set aside a message that fails on its own while others are stored. The
exception alone says which is likely; :func:`is_transient` is that judgement, kept here so
the channels need not know the database driver.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

_TRANSIENT = (
    sa_exc.OperationalError,  # connection refused or lost, database locked, disk I/O error
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # no connection free in the pool
    sa_exc.DisconnectionError,
    ConnectionError,
    TimeoutError,
    OSError,  # the evidence directory cannot be written (a full disk, a lost mount)
)


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is about the infrastructure (retry everything later), rather than
    about the one message being stored (a ``DataError``, an encoding error, a bug it hits)."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _TRANSIENT)
