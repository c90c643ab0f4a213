"""The SMTP listener in-process: a real aiosmtpd server on a running loop, smtplib as client.

The loop runs in a background thread, as `cpd run`'s loop would; the service is the real
claims service on SQLite (``service`` fixture in conftest.py).
"""

from __future__ import annotations

import asyncio
import shutil
import smtplib
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from cpd.claims.intake import Intake, MailOutcome
from cpd.claims.service import ClaimsService
from cpd.mail_ingest.smtp_server import ClaimMailHandler, start_smtp
from tests.mail_ingest.support_servers import (
    CLAIMS_ADDRESS,
    JPEG,
    as_bytes,
    free_port,
    make_mail,
    send,
)
from tests.support.mail_auth import AUTH_OFF


@dataclass
class LoopThread:
    """An asyncio loop running in a thread (like `cpd run`'s), for servers under test."""

    loop: asyncio.AbstractEventLoop
    thread: threading.Thread

    def call(self, coroutine: Any, timeout: float = 30) -> Any:
        """Run ``coroutine`` on the loop and wait for its result."""
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    """A running event loop in a background thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield LoopThread(loop, thread)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def smtp(loop_thread: LoopThread, service: ClaimsService) -> Callable[..., int]:
    """``smtp(**options)`` starts a listener with those options; returns its port."""
    servers: list[Any] = []

    def start(svc: ClaimsService = service, **options: Any) -> int:
        port = free_port()
        servers.append(
            loop_thread.call(
                start_smtp(
                    svc,
                    "127.0.0.1",
                    port,
                    hostname="cpd.test",
                    **{"mail_auth": AUTH_OFF, **options},
                )
            )
        )
        return port

    yield start  # type: ignore[misc]
    for server in servers:
        # on the server's own loop: closing it from this thread raced the loop's own
        # bookkeeping of the last connection (asyncio's Server is not thread-safe)
        loop_thread.call(_close(server))


async def _close(server: Any) -> None:
    server.close()
    await server.wait_closed()


def claim_rows(service: ClaimsService) -> list[tuple[Any, ...]]:
    with service.engine.connect() as connection:
        return list(connection.execute(text("SELECT id, source_key, status, channel FROM claim")))


def test_a_claim_is_stored_before_250(smtp: Callable[..., int], service: ClaimsService) -> None:
    port = smtp()
    mail = make_mail("Boat show yesterday, 3 hours", attachments=((JPEG, "image/jpeg", "a.jpg"),))
    send(port, mail)
    rows = claim_rows(service)
    assert len(rows) == 1
    assert rows[0][1] == f"email:jane@example.com:{mail['Message-ID']}"  # the sender's key
    assert rows[0][2:] == ("pending", "email")
    assert service.claim(rows[0][0]).evidence_count == 1  # type: ignore[union-attr]


def test_the_same_message_id_twice_is_one_claim(
    smtp: Callable[..., int], service: ClaimsService
) -> None:
    port = smtp()
    mail = make_mail("Webinar on hull corrosion, 2 hours")
    send(port, mail)
    send(port, mail)  # the sender retried after a lost 250: accepted again, nothing new
    assert len(claim_rows(service)) == 1


def test_only_the_configured_recipients_are_accepted(
    smtp: Callable[..., int], service: ClaimsService
) -> None:
    port = smtp(recipients=[CLAIMS_ADDRESS, "@cpd.example.org"])
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        client.mail("jane@example.com")
        assert client.rcpt("someone@elsewhere.net")[0] == 550
        assert client.rcpt("Claims@Example.com")[0] == 250
        assert client.rcpt("anything@cpd.example.org")[0] == 250
    with (
        pytest.raises(smtplib.SMTPRecipientsRefused),
        smtplib.SMTP("127.0.0.1", port, timeout=10) as client,
    ):
        client.sendmail("jane@example.com", ["postmaster@example.net"], b"Subject: x\r\n\r\nx")
    assert claim_rows(service) == []


def test_handler_accepts_addresses_and_domains(service: ClaimsService) -> None:
    handler = ClaimMailHandler(service, ["claims@example.com", "cpd.example.org"])
    assert handler.accepts("<CLAIMS@example.com>")
    assert handler.accepts("x@cpd.example.org")
    assert not handler.accepts("x@sub.cpd.example.org")
    assert not handler.accepts("claims@example.com.evil.net")
    assert ClaimMailHandler(service, None).accepts("anyone@anywhere")


def test_malformed_mail_is_refused_for_good_with_the_reason(
    smtp: Callable[..., int], service: ClaimsService
) -> None:
    port = smtp()
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(port, b"Subject: no sender at all\r\n\r\nBoat show, 3 hours\r\n")
    assert refused.value.smtp_code == 550
    assert b"5.6.0" in refused.value.smtp_error
    assert b"From" in refused.value.smtp_error
    assert claim_rows(service) == []


def test_oversize_mail_is_refused_at_mail_from(
    smtp: Callable[..., int], service: ClaimsService
) -> None:
    port = smtp(data_size_limit=100_000)
    big = make_mail("Boat show", attachments=((JPEG * 40, "image/jpeg", "big.jpg"),))
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        send(port, big)
    assert refused.value.smtp_code == 552
    assert claim_rows(service) == []


def test_oversize_mail_without_size_is_refused_at_data(
    smtp: Callable[..., int], service: ClaimsService
) -> None:
    port = smtp(data_size_limit=100_000)
    raw = as_bytes(make_mail("Boat show", attachments=((JPEG * 40, "image/jpeg", "b.jpg"),)))
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.helo("old-client")  # HELO: no SIZE extension, the limit bites at DATA
        assert client.mail("jane@example.com")[0] == 250
        assert client.rcpt(CLAIMS_ADDRESS)[0] == 250
        code, _ = client.data(raw)
    assert code == 552
    assert claim_rows(service) == []


class FlakyService(ClaimsService):
    """The real service whose database is unavailable for the first ``failures`` calls."""

    failures = 1

    def receive_mail(self, intake: Intake, extra_keys: Any = ()) -> MailOutcome:
        if self.failures:
            self.failures -= 1
            raise OperationalError("INSERT ...", {}, Exception("database is locked"))
        return super().receive_mail(intake, extra_keys)


def test_a_database_failure_asks_the_sender_to_retry(
    smtp: Callable[..., int], service: ClaimsService
) -> None:
    flaky = FlakyService(service.engine, service.extractor, service.evidence_dir, service.zone)
    port = smtp(flaky)
    mail = make_mail("Course on stability, 4 hours")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(port, mail)
    assert refused.value.smtp_code == 451
    assert b"4.3.0" in refused.value.smtp_error
    assert claim_rows(service) == []
    send(port, mail)  # the retry
    assert len(claim_rows(service)) == 1


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],  # fmt: skip
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed for a test cert")
def test_starttls_and_auth_when_required(
    smtp: Callable[..., int], service: ClaimsService, tmp_path: Path
) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    port = smtp(
        tls_context=context,
        require_starttls=True,
        auth=lambda user, password: (user, password) == ("mx", "relay-secret"),
        auth_required=True,
    )
    raw = as_bytes(make_mail("Conference, 6 hours"))
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        code, _ = client.mail("jane@example.com")
        assert code == 530  # must issue STARTTLS first
    client_context = ssl.create_default_context(cafile=str(cert))
    client_context.check_hostname = False
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.starttls(context=client_context)
        client.ehlo()
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("jane@example.com", [CLAIMS_ADDRESS], raw)
        assert refused.value.smtp_code == 530  # authentication required
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.starttls(context=client_context)
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("mx", "wrong")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.starttls(context=client_context)
        client.login("mx", "relay-secret")
        client.sendmail("jane@example.com", [CLAIMS_ADDRESS], raw)
    assert len(claim_rows(service)) == 1
