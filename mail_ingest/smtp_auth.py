"""SMTP AUTH without blocking the event loop: the password check runs in a worker thread.

aiosmtpd 1.4 calls its ``authenticator`` synchronously from ``auth_PLAIN``/``auth_LOGIN``, on
the loop that also serves the bot and the other sessions; an scrypt check costs ~90 ms of CPU,
and a client trying passwords would stall everything. :class:`ThreadedAuthSMTP` lets the
built-in mechanisms parse the exchange, then hands the credentials to the authenticator with
``asyncio.to_thread``. A wrong password gets aiosmtpd's ``535 5.7.8`` and is logged by the
authenticator (user and peer only, never the password).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import AuthResult, LoginPassword

from cpd.mail_ingest.streaming import BoundedSMTP


@dataclass(frozen=True)
class _Pending:
    """Credentials parsed by a built-in mechanism, not checked yet."""

    mechanism: str
    auth_data: Any


class ThreadedAuthSMTP(BoundedSMTP):
    """:class:`BoundedSMTP` whose AUTH PLAIN/LOGIN check runs off the event loop."""

    def _authenticate(self, mechanism: str, auth_data: Any) -> AuthResult:
        return _Pending(mechanism, auth_data)  # type: ignore[return-value]

    async def _checked(self, result: Any) -> AuthResult:
        if not isinstance(result, _Pending):
            return result  # type: ignore[no-any-return]
        if self._authenticator is None or not isinstance(result.auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        assert self.session is not None and self.envelope is not None
        return await asyncio.to_thread(
            self._authenticator,
            self,
            self.session,
            self.envelope,
            result.mechanism,
            result.auth_data,
        )

    async def auth_PLAIN(self, _: Any, args: list[str]) -> AuthResult:  # noqa: N802
        """AUTH PLAIN, checked in a thread."""
        return await self._checked(await super().auth_PLAIN(_, args))

    async def auth_LOGIN(self, _: Any, args: list[str]) -> AuthResult:  # noqa: N802
        """AUTH LOGIN, checked in a thread."""
        return await self._checked(await super().auth_LOGIN(_, args))
