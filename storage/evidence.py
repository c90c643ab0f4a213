"""Evidence files on disk: stored under the data directory by their sha256, never by the
sender's file name, written atomically so a crash leaves no half file (only a temporary
``.incoming-*`` file, which ``remove_incoming_leftovers`` deletes at start)."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class StoredFile:
    """Where a file's bytes were stored and what they hash to."""

    sha256: str
    size: int
    path: Path


def evidence_path(evidence_dir: Path, sha256: str) -> Path:
    """The path of the file with this sha256 (two-level fan-out keeps directories small)."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return evidence_dir / sha256[:2] / sha256


def store_bytes(evidence_dir: Path, data: bytes) -> StoredFile:
    """Store ``data`` (idempotent: the same bytes land on the same path once)."""
    digest = hashlib.sha256(data).hexdigest()
    target = evidence_path(evidence_dir, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    else:
        os.utime(target)  # fresh again: a retention purge racing with this intake keeps it
    return StoredFile(digest, len(data), target)


def remove_incoming_leftovers(evidence_dir: Path, min_age: float = 60.0) -> int:
    """Delete the ``.incoming-*`` temporary files a crash left behind; returns how many.

    A write in progress renames its temporary file within a second or two, so only files older
    than ``min_age`` seconds are taken: another instance sharing the directory keeps its own.
    """
    if not evidence_dir.is_dir():
        return 0
    limit = time.time() - min_age
    removed = 0
    for leftover in [*evidence_dir.glob(".incoming-*"), *evidence_dir.glob("*/.incoming-*")]:
        try:
            if leftover.is_file() and leftover.stat().st_mtime <= limit:
                leftover.unlink()
                removed += 1
        except FileNotFoundError:  # another instance removed it first
            continue
    return removed


def safe_display_name(name: str | None, limit: int = 255) -> str:
    """A sender's file name reduced to something safe to show (never used as a path)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*').strip(". ")
    return cleaned[:limit] or "attachment"
