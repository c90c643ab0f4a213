"""The envelope an SMTP session sees, through the spool line, decides SPF (real aiosmtpd).

A minimal aiosmtpd handler stands in for the spool write the product's handler will do: it
records ``session.peer``, ``session.host_name`` and ``envelope.mail_from`` with
:func:`with_envelope`; the test then splits the line off as the spool worker will and
verifies the mail against the local DNS server.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from cpd.mail_ingest.envelope import Envelope as Trace
from cpd.mail_ingest.envelope import split_envelope, with_envelope
from cpd.mail_ingest.sender_auth import Verification, verify
from tests.mail_ingest.support_servers import free_port
from tests.support.dns_server import DkimKey, LocalDNS

MAIL = (
    b"From: Jane Surveyor <jane@example.com>\r\nTo: claims@example.com\r\nSubject: CPD\r\n"
    b"Message-ID: <2@example.com>\r\n\r\n3 hours of CPD on 2 May.\r\n"
)


class Recorder:
    """Keeps each mail as the spool would: the envelope line, then the bytes received."""

    def __init__(self) -> None:
        self.spooled: list[bytes] = []

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        trace = Trace(peer, session.host_name, envelope.mail_from)
        self.spooled.append(with_envelope(envelope.original_content or b"", trace))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Recorder]]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, recorder
    finally:
        controller.stop()


def _send(port: int, raw: bytes, mail_from: str, helo: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, local_hostname=helo, timeout=10) as client:
        client.sendmail(mail_from, ["claims@example.com"], raw)


def _verify_spooled(data: bytes, dns: LocalDNS) -> Verification:
    trace, raw = split_envelope(data)
    assert trace is not None and trace.client_ip == "127.0.0.1"
    return verify(
        raw,
        client_ip=trace.client_ip,
        helo=trace.helo,
        mail_from=trace.mail_from,
        mode="verify",
        authserv_id=None,
        dns_servers=[dns.address],
    )


def test_jane_sending_from_her_listed_address_passes_spf(
    smtp: tuple[int, Recorder], mail_zone: LocalDNS
) -> None:
    port, recorder = smtp
    _send(port, MAIL, "jane@example.com", "mx.example.com")
    result = _verify_spooled(recorder.spooled[0], mail_zone)
    assert result.verdict == "pass" and "spf=pass smtp.mailfrom=example.com" in result.reasons


@pytest.mark.parametrize("mail_from", ["evil@attacker.net", ""])
def test_the_attack_from_the_issue_fails(
    smtp: tuple[int, Recorder], mail_zone: LocalDNS, mail_from: str
) -> None:
    mail_zone.zone.txt("attacker.net", "v=spf1 ip4:127.0.0.1 -all")  # their own SPF passes
    port, recorder = smtp
    _send(port, MAIL, mail_from, "attacker.net")
    result = _verify_spooled(recorder.spooled[0], mail_zone)
    assert result.verdict == "fail"
    assert "dmarc=fail p=reject header.from=example.com" in result.reasons


def test_a_signed_mail_relayed_from_anywhere_passes(
    smtp: tuple[int, Recorder], mail_zone: LocalDNS, dkim_key: DkimKey
) -> None:
    port, recorder = smtp
    _send(port, dkim_key.sign(MAIL, "example.com"), "bounce@lists.example.org", "lists.org")
    result = _verify_spooled(recorder.spooled[0], mail_zone)
    assert result.verdict == "pass" and "dkim=pass header.d=example.com" in result.reasons
