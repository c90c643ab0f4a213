"""Evidence files on disk: stored under the data directory by their sha256, never by the
sender's file name, written atomically so a crash leaves no half file."""

from __future__ import annotations

import hashlib
import os
import tempfile
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
    return StoredFile(digest, len(data), target)


def safe_display_name(name: str | None, limit: int = 255) -> str:
    """A sender's file name reduced to something safe to show (never used as a path)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*').strip(". ")
    return cleaned[:limit] or "attachment"
