"""A claims service behind a real SMTP listener that verifies senders against the local DNS.

:class:`Desk` starts the product's :class:`ClaimMailHandler` (direct: the ``250`` comes after
the commit, so each test reads the outcome as soon as ``send`` returns) on an asyncio loop in
a thread, verifying with ``CPD_MAIL_AUTH=verify`` against the dnslib server of
tests/support/dns_server.py. The service's clock is :attr:`Desk.now`, which a test may move.

Members: Jane <jane@example.com> (example.com publishes SPF, DKIM and DMARC ``p=reject``),
Nora <nora@plain.example> (no records: verdicts are ``none``) and the secretary Sam.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import smtplib
import threading
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from cpd.claims.mail_verdicts import MailLimits
from cpd.claims.members import import_members, parse_members_csv
from cpd.claims.service import ClaimsService
from cpd.mail_ingest.sender_auth import MailAuthConfig
from cpd.mail_ingest.smtp_server import ClaimMailHandler, start_smtp
from tests.mail_ingest.support_servers import CLAIMS_ADDRESS, free_port
from tests.support.dns_server import DkimKey, LocalDNS
from tests.support.extractor import StubExtractor
from tests.support.outbox import address

MEMBERS = """membership_no,name,email,scheme,grade,joined,role
M1,Jane Surveyor,jane@example.com,iims,member,2019-05-01,member
M2,Nora Plain,nora@plain.example,iims,member,2019-05-01,member
S1,Sam Secretary,sam@example.com,iims,member,2015-01-01,secretary
"""
JANE = "jane@example.com"
NORA = "nora@plain.example"
SECRETARY_CHAT = -1001
START = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
SECRET = re.compile(r"^Confirm: (\S+)$", re.MULTILINE)


def mail(
    text_body: str = "Course on hull surveys, 3 hours",
    *,
    sender: str = JANE,
    message_id: str | None = None,
    subject: str = "CPD",
    extra: str = "",
) -> bytes:
    """A plain mail (CRLF) with the given headers (``extra``: more header lines, CRLF-ended)."""
    mid = message_id or f"<{abs(hash((text_body, sender, extra, subject)))}@mail.test>"
    return (
        f"{extra}From: {sender}\r\nTo: {CLAIMS_ADDRESS}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 30 Nov 2026 09:00:00 +0000\r\nMessage-ID: {mid}\r\n\r\n{text_body}\r\n"
    ).encode()


def signed(key: DkimKey, raw: bytes, domain: str = "example.com") -> bytes:
    """``raw`` DKIM-signed for ``domain`` with ``key``."""
    return key.sign(raw, domain)


class Desk:
    """The service and its SMTP listener; ``send`` delivers one mail and returns the reply."""

    def __init__(
        self,
        engine: Engine,
        tmp_path: Path,
        dns: LocalDNS,
        *,
        mode: str = "verify",
        authserv_id: str | None = None,
        limits: MailLimits | None = None,
    ) -> None:
        import_members(engine, parse_members_csv(MEMBERS, "iims"))
        self.now = START
        self.service = ClaimsService(
            engine,
            StubExtractor(),
            tmp_path / "evidence",
            zoneinfo.ZoneInfo("Europe/London"),
            SECRETARY_CHAT,
            clock=lambda: self.now,
            mail_limits=limits,
        )
        self.auth = MailAuthConfig(
            mode=mode,  # type: ignore[arg-type]
            authserv_id=authserv_id,
            dns_servers=(dns.address,),
            timeout=1.0,
            lifetime=2.0,
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = free_port()
        handler = ClaimMailHandler(self.service, [CLAIMS_ADDRESS], auth=self.auth)
        self.server = self._call(
            start_smtp(self.service, "127.0.0.1", self.port, hostname="cpd.test", handler=handler)
        )

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def close(self) -> None:
        """Stop the listener and the loop."""

        async def shut() -> None:  # on the loop's own thread, as asyncio requires
            self.server.close()
            await self.server.wait_closed()

        self._call(shut())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def send(self, raw: bytes, mail_from: str = JANE, helo: str = "mx.example.com") -> int:
        """Deliver ``raw`` with ``MAIL FROM:<mail_from>``; the DATA reply code."""
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname=helo, timeout=30) as client:
            client.ehlo(helo)
            code, _ = client.mail(mail_from)
            assert code == 250
            code, _ = client.rcpt(CLAIMS_ADDRESS)
            assert code == 250
            code, _ = client.data(raw)
            return int(code)

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Rows of a query on the service's database."""
        with self.service.engine.connect() as connection:
            return [tuple(r) for r in connection.execute(text(sql), params)]

    def claims(self) -> list[tuple[Any, ...]]:
        """(id, member email, status, verification, verification_domain) of every claim."""
        return self.rows(
            "SELECT c.id, m.email, c.status, c.verification, c.verification_domain "
            "FROM claim c JOIN member m ON m.id = c.member_id ORDER BY c.id"
        )

    def outbox(self, template: str | None = None) -> list[tuple[Any, ...]]:
        """(address, template, payload) of queued notifications, oldest first (the address
        the recipient's role has now)."""
        rows = self.rows("SELECT channel, recipient, template, payload FROM outbox ORDER BY id")
        engine = self.service.engine
        return [
            (address(engine, r[0], r[1], self.service.secretary_chat_id), r[2], _json(r[3]))
            for r in rows
            if template is None or r[2] == template
        ]

    def audit(self, action: str) -> list[tuple[Any, ...]]:
        """(actor, member_id, details) of audit rows with this action."""
        rows = self.rows(
            "SELECT actor, member_id, details FROM audit_log WHERE action = :a ORDER BY id",
            a=action,
        )
        return [(r[0], r[1], _json(r[2])) for r in rows]

    def processed(self) -> list[str]:
        """Outcomes of the processed mails, in key order."""
        return [r[0] for r in self.rows("SELECT outcome FROM processed_message ORDER BY key")]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def desk_for(engine: Engine, tmp_path: Path, dns: LocalDNS, **options: Any) -> Iterator[Desk]:
    """A :class:`Desk`, closed afterwards (for fixtures)."""
    desk = Desk(engine, tmp_path, dns, **options)
    try:
        yield desk
    finally:
        desk.close()
