"""The SMTP AUTH users file: ``user:hash`` lines, hashed with the standard library's scrypt.

A hash reads ``scrypt$N$r$p$SALT$KEY`` (SALT and KEY in unpadded URL-safe base64; N a power
of two), e.g. what ``cpd smtp hash-password USER`` prints. Blank lines and lines starting
with ``#`` are ignored. Checking a password derives the key again and compares it in constant
time; an unknown user costs the same work as a known one (against a dummy hash), so timing
does not tell which users exist. No password is ever logged or kept in memory beyond the check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path

SCHEME = "scrypt"
DEFAULT_N = 2**15
DEFAULT_R = 8
DEFAULT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32
MAX_N = 2**20
_MAXMEM = 256 * 1024 * 1024


class PasswordFileError(ValueError):
    """The users file cannot be read or a line is not ``user:scrypt$N$r$p$salt$key``."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class ScryptHash:
    """One parsed ``scrypt$N$r$p$salt$key`` hash."""

    n: int
    r: int
    p: int
    salt: bytes
    key: bytes = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> ScryptHash:
        """Parse a hash; ValueError (without the hash) when it is not one."""
        parts = text.strip().split("$")
        if len(parts) != 6 or parts[0] != SCHEME:
            raise ValueError("not a scrypt$N$r$p$salt$key hash")
        try:
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            salt, key = _unb64(parts[4]), _unb64(parts[5])
        except ValueError:
            raise ValueError("not a scrypt$N$r$p$salt$key hash") from None
        if n < 2 or n > MAX_N or n & (n - 1) or not 0 < r <= 64 or not 0 < p <= 16:
            raise ValueError("scrypt parameters out of range")
        if len(salt) < 8 or len(key) < 16:
            raise ValueError("scrypt salt or key too short")
        return cls(n, r, p, salt, key)

    def derive(self, password: str) -> bytes:
        """The key ``password`` gives with this hash's salt and parameters."""
        return hashlib.scrypt(
            password.encode("utf-8"),
            salt=self.salt,
            n=self.n,
            r=self.r,
            p=self.p,
            maxmem=_MAXMEM,
            dklen=len(self.key),
        )

    def matches(self, password: str) -> bool:
        """Whether ``password`` is the one hashed (constant-time comparison)."""
        return hmac.compare_digest(self.derive(password), self.key)

    def __str__(self) -> str:
        return f"{SCHEME}${self.n}${self.r}${self.p}${_b64(self.salt)}${_b64(self.key)}"


def hash_password(
    password: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P
) -> str:
    """A new ``scrypt$N$r$p$salt$key`` hash of ``password`` with a random salt."""
    template = ScryptHash(n, r, p, secrets.token_bytes(SALT_BYTES), b"\0" * KEY_BYTES)
    return str(ScryptHash(n, r, p, template.salt, template.derive(password)))


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (False for a malformed hash)."""
    try:
        parsed = ScryptHash.parse(stored)
    except ValueError:
        return False
    return parsed.matches(password)


class PasswordFile:
    """The users allowed to AUTH, read once from a ``user:hash`` file; call it to check."""

    def __init__(self, users: dict[str, ScryptHash]) -> None:
        self.users = dict(users)
        self._dummy = ScryptHash.parse(hash_password(secrets.token_urlsafe(16)))

    @classmethod
    def load(cls, path: Path) -> PasswordFile:
        """Read ``path``; PasswordFileError naming the line (never its hash) when it is bad."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise PasswordFileError(f"cannot read {path}: {reason}") from None
        users: dict[str, ScryptHash] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            user, sep, stored = line.partition(":")
            if not sep or not user.strip():
                raise PasswordFileError(f"{path} line {number}: expected user:hash")
            try:
                users[user.strip()] = ScryptHash.parse(stored)
            except ValueError as exc:
                raise PasswordFileError(f"{path} line {number}: {exc}") from None
        if not users:
            raise PasswordFileError(f"{path}: no user:hash line")
        return cls(users)

    def __call__(self, username: str, password: str) -> bool:
        """Whether ``username`` may AUTH with ``password`` (same cost for unknown users)."""
        stored = self.users.get(username)
        if stored is None:
            self._dummy.matches(password)
            return False
        return stored.matches(password)

    def __len__(self) -> int:
        return len(self.users)
