"""Tokens that name a member in an address or URL without a table: unsubscribe and bounces.

A token is ``<member id>-<20 hex digits>``, the digits an HMAC-SHA256 of the purpose and the
member id under a secret the product keeps in its database (``app_secret``). It is checked
by recomputing it, so nothing is stored per mail. Purposes are separate keys: a bounce token
cannot unsubscribe anyone. Tokens are lower-case (mail systems may lower-case local parts).

Addresses: ``unsubscribe+<token>@<domain>`` and ``bounces+<token>@<domain>`` where the
domain is that of ``CPD_MAIL_FROM`` (not compared on the way back: it adds no secret).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from cpd.storage import Engine, bounces

SECRET_NAME = "mail_tokens"
UNSUBSCRIBE = "unsubscribe"
BOUNCES = "bounces"
DIGITS = 20
_TOKEN = re.compile(r"(\d{1,10})-([0-9a-f]{" + str(DIGITS) + "})")
MAX_MEMBER_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class MailTokens:
    """Makes and checks tokens under one secret."""

    secret: bytes

    def _digest(self, purpose: str, member_id: int) -> str:
        message = f"{purpose}:{member_id}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:DIGITS]

    def make(self, purpose: str, member_id: int) -> str:
        """The token for ``member_id`` and ``purpose``."""
        return f"{member_id}-{self._digest(purpose, member_id)}"

    def member_id(self, purpose: str, token: str) -> int | None:
        """The member a token was made for, or None for a forged or mistyped one."""
        match = _TOKEN.fullmatch(token.strip().lower())
        if match is None or int(match.group(1)) > MAX_MEMBER_ID:
            return None
        member_id = int(match.group(1))
        expected = self._digest(purpose, member_id)
        return member_id if hmac.compare_digest(expected, match.group(2)) else None

    def address(self, purpose: str, member_id: int, domain: str) -> str:
        """``<purpose>+<token>@<domain>``."""
        return f"{purpose}+{self.make(purpose, member_id)}@{domain}"


def load(engine: Engine) -> MailTokens:
    """The tokens under the product's secret (made on first use)."""
    return MailTokens(bytes.fromhex(bounces.secret(engine, SECRET_NAME)))


def token_in(address: str, purpose: str) -> str | None:
    """The token of a ``<purpose>+<token>@...`` address, or None."""
    local = address.strip().strip("<>").rpartition("@")[0].lower()
    prefix = purpose + "+"
    return local[len(prefix) :] if local.startswith(prefix) else None
