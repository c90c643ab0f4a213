"""The database's errors as the rest of the product needs to tell them apart, so that no
package outside storage/ imports the driver or SQLAlchemy to catch them."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

#: A unique key or another constraint refused a write (another writer won a race).
Conflict = sa_exc.IntegrityError

_TRANSIENT = (
    sa_exc.OperationalError,  # connection refused or lost, database locked, disk I/O error
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # no connection free in the pool
    sa_exc.DisconnectionError,
    ConnectionError,
    TimeoutError,
    OSError,  # the evidence directory cannot be written (a full disk, a lost mount)
)


class DuplicateKey(Exception):
    """An insert met a row with the same unique key (``ON CONFLICT DO NOTHING`` added nothing)."""


def connection_invalidated(error: BaseException) -> bool:
    """Whether ``error`` is a driver error that lost its connection."""
    return isinstance(error, sa_exc.DBAPIError) and bool(error.connection_invalidated)


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is about the infrastructure (retry everything later), rather than
    about the one row being stored (a ``DataError``, an encoding error, a bug it hits)."""
    return connection_invalidated(error) or isinstance(error, _TRANSIENT)


def is_temporary(error: BaseException) -> bool:
    """Whether ``error`` is a fault of the infrastructure that passes (the database is down,
    locked or restarting); narrower than :func:`is_transient` (no file-system errors)."""
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
        return True
    if isinstance(error, sa_exc.DisconnectionError) or connection_invalidated(error):
        return True
    return isinstance(error, ConnectionError | TimeoutError)
