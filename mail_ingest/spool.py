"""The SMTP spool on disk: raw mails, durably, until the claims service has them.

Layout under the spool directory (``CPD_DATA_DIR/spool/smtp``):

* ``tmp/`` — being received (streamed there chunk by chunk, fsynced, then renamed);
* ``new/`` — complete and waiting; names start with the arrival time in nanoseconds, so they
  sort in arrival order;
* ``attempts/`` — ``<name>.json`` beside a waiting mail that failed to store: how often, when
  it may be tried again, the last error (so the count survives a restart);
* ``failed/`` — mails that failed to store too often (quarantined), each with
  ``<name>.error.json`` saying why; ``cpd mail retry`` moves them back to ``new/``;
* ``rejected/`` — files the parser refused (no usable sender), kept for a person.

Leftovers of a crash in ``tmp/`` (older than this process, written by another process id)
are removed when the spool is opened.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def fsync_directory(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, value: dict[str, Any]) -> None:
    """Replace ``path`` atomically with ``value`` as JSON (fsynced)."""
    partial = path.with_name(path.name + ".part")
    with partial.open("w", encoding="utf-8") as handle:
        json.dump(value, handle, ensure_ascii=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class Attempts:
    """How a waiting mail fared so far: ``count`` failures, the first at ``first_failed``
    (epoch seconds), not to be tried before ``next_try``, the last ``error``."""

    count: int
    first_failed: float
    next_try: float
    error: str


@dataclass(frozen=True)
class FailedMail:
    """A quarantined mail as operators see it (``cpd mail failed``)."""

    id: str
    received_at: dt.datetime
    sender: str
    subject: str
    error: str
    attempts: int
    failed_at: str

    def as_json(self) -> dict[str, Any]:
        """The entry as JSON values."""
        return {
            "id": self.id,
            "received_at": self.received_at.isoformat(),
            "sender": self.sender,
            "subject": self.subject,
            "error": self.error,
            "attempts": self.attempts,
            "failed_at": self.failed_at,
        }


class Incoming:
    """A mail being received into ``tmp/``: :meth:`write` chunks, then :meth:`commit` (to
    ``new/``, durably) or :meth:`discard`. Blocking: call it from a worker thread."""

    def __init__(self, spool: MailSpool, name: str) -> None:
        self.spool = spool
        self.name = name
        self.partial = spool.tmp / name
        self.size = 0
        self._handle: BinaryIO | None = self.partial.open("xb")

    def write(self, data: bytes) -> None:
        """Append ``data`` (OSError, e.g. ENOSPC, when the disk is full)."""
        assert self._handle is not None
        self._handle.write(data)
        self.size += len(data)

    def commit(self) -> Path:
        """Flush, fsync and move the file to ``new/``; its final path."""
        assert self._handle is not None
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None
            final = self.spool.new / self.name
            os.replace(self.partial, final)
            fsync_directory(self.spool.new)
        except BaseException:
            self.discard()
            raise
        return final

    def discard(self) -> None:
        """Forget the partial file (never raises)."""
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None
        try:
            self.partial.unlink(missing_ok=True)
        except OSError:
            log.warning("could not remove %s", self.partial)


class MailSpool:
    """Raw mails on disk until stored; see the module docstring for the layout."""

    NAME = re.compile(r"^(\d{19,20})-\d+-\d+\.eml$")

    def __init__(self, directory: Path, *, clean_tmp: bool = True) -> None:
        self.directory = directory
        self.tmp, self.new, self.rejected, self.failed, self.attempts_dir = (
            directory / n for n in ("tmp", "new", "rejected", "failed", "attempts")
        )
        for folder in (self.tmp, self.new, self.rejected, self.failed, self.attempts_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self._numbers = itertools.count()
        if clean_tmp:
            self.remove_leftovers()

    # -- receiving ----------------------------------------------------------------------

    def _name(self, received_at: dt.datetime) -> str:
        stamp = int(received_at.timestamp() * 1_000_000) * 1000
        return f"{stamp:020d}-{os.getpid()}-{next(self._numbers)}.eml"

    def incoming(self, received_at: dt.datetime) -> Incoming:
        """A new file in ``tmp/`` to stream a mail into (blocking)."""
        return Incoming(self, self._name(received_at))

    def put(self, raw: bytes, received_at: dt.datetime) -> Path:
        """Write ``raw`` durably (file and directory fsynced); its path in ``new/``."""
        incoming = self.incoming(received_at)
        try:
            incoming.write(raw)
        except BaseException:
            incoming.discard()
            raise
        return incoming.commit()

    def remove_leftovers(self, before: float | None = None) -> int:
        """Remove files in ``tmp/`` a crashed process left (not this process's, last written
        before ``before``, by default now), and failure records of mails no longer waiting;
        how many files from ``tmp/``."""
        before = time.time() if before is None else before
        removed = 0
        mine = f"-{os.getpid()}-"
        for path in self.tmp.iterdir():
            try:
                if mine in path.name or path.stat().st_mtime >= before:
                    continue
                path.unlink()
                removed += 1
            except OSError:
                continue
        for folder in (self.attempts_dir, self.failed):  # JSON cut short by a crash
            for part in folder.glob("*.part"):
                part.unlink(missing_ok=True)
        for record in self.attempts_dir.glob("*.eml.json"):  # the mail went on in a crash
            if not (self.new / record.name.removesuffix(".json")).exists():
                record.unlink(missing_ok=True)
        if removed:
            log.info("removed %d unfinished mail file(s) left in %s", removed, self.tmp)
        return removed

    # -- waiting ------------------------------------------------------------------------

    def waiting(self) -> list[Path]:
        """The files waiting, oldest first."""
        return sorted(p for p in self.new.iterdir() if self.NAME.match(p.name))

    def received_at(self, path: Path) -> dt.datetime:
        """When the mail in ``path`` arrived (from its name)."""
        match = self.NAME.match(path.name)
        if match is None:
            return _utcnow()
        return dt.datetime.fromtimestamp(int(match.group(1)) / 1e9, dt.UTC)

    def reject(self, path: Path) -> None:
        """Set a file aside that can never become a claim."""
        os.replace(path, self.rejected / path.name)
        self.forget_attempts(path.name)

    # -- failures -----------------------------------------------------------------------

    def _attempts_path(self, name: str) -> Path:
        return self.attempts_dir / f"{name}.json"

    def attempts(self, name: str) -> Attempts | None:
        """What earlier attempts at the waiting mail ``name`` found (None: no failure yet)."""
        value = _read_json(self._attempts_path(name))
        if value is None:
            return None
        try:
            return Attempts(
                int(value["count"]),
                float(value["first_failed"]),
                float(value["next_try"]),
                str(value.get("error", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def record_failure(self, name: str, error: str, delay: float, now: float) -> Attempts:
        """Count one more failure of ``name``; it is not to be tried for ``delay`` seconds."""
        before = self.attempts(name)
        attempts = Attempts(
            (before.count if before else 0) + 1,
            before.first_failed if before else now,
            now + delay,
            error,
        )
        _write_json(
            self._attempts_path(name),
            {
                "count": attempts.count,
                "first_failed": attempts.first_failed,
                "next_try": attempts.next_try,
                "error": attempts.error,
            },
        )
        return attempts

    def forget_attempts(self, name: str) -> None:
        """Drop the failure record of ``name`` (it was stored, set aside or retried)."""
        self._attempts_path(name).unlink(missing_ok=True)

    def quarantine(self, path: Path, details: dict[str, Any]) -> Path:
        """Move ``path`` to ``failed/`` with ``<name>.error.json`` holding ``details``."""
        _write_json(self.failed / f"{path.name}.error.json", details)
        target = self.failed / path.name
        os.replace(path, target)
        fsync_directory(self.failed)
        self.forget_attempts(path.name)
        return target

    def failed_mails(self) -> list[FailedMail]:
        """The quarantined mails, oldest first."""
        entries = []
        for path in sorted(p for p in self.failed.iterdir() if self.NAME.match(p.name)):
            details = _read_json(self.failed / f"{path.name}.error.json") or {}
            entries.append(
                FailedMail(
                    id=path.name.removesuffix(".eml"),
                    received_at=self.received_at(path),
                    sender=str(details.get("sender") or "?"),
                    subject=str(details.get("subject") or ""),
                    error=str(details.get("error") or "unknown error"),
                    attempts=int(details.get("attempts") or 0),
                    failed_at=str(details.get("failed_at") or ""),
                )
            )
        return entries

    def retry(self, mail_id: str) -> bool:
        """Move the quarantined mail ``mail_id`` back to ``new/`` (False: no such mail)."""
        name = mail_id.removesuffix(".eml") + ".eml"
        source = self.failed / name
        if not self.NAME.match(name) or not source.is_file():
            return False
        self.forget_attempts(name)
        os.replace(source, self.new / name)
        fsync_directory(self.new)
        (self.failed / f"{name}.error.json").unlink(missing_ok=True)
        return True
