"""Transport security of the mail channel on real servers on 127.0.0.1 (issue 10, item 7).

STARTTLS and AUTH on `cpd`'s own SMTP listener (``start_mail`` on a loop in a thread, and
once through a real `cpd run`); the outbound relay behind a certificate of its own CA (an
aiosmtpd sink with STARTTLS); and CPD_IMAP_SINCE against pymap. The certificates come from
the session's ``tls_files`` fixture (a CA and a server certificate it signed).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import smtplib
import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session as DbSession
from sqlmodel import select

from cpd.claims.service import ClaimsService
from cpd.mail_ingest.outbound import MailSender
from cpd.mail_ingest.parse import parse_mail, to_intake
from cpd.mail_ingest.passwords import PasswordFile, PasswordFileError, hash_password
from cpd.mail_ingest.runtime import MailConfig, MailRuntime, start_mail
from cpd.mail_ingest.tls import TlsFileError, relay_context, server_context
from cpd.storage import OutboxMessage
from tests.mail_ingest.support_servers import (
    CLAIMS_ADDRESS,
    CpdRun,
    PymapServer,
    RelaySink,
    as_bytes,
    free_port,
    make_mail,
    pymap_available,
    wait_until,
)
from tests.mail_ingest.tls_certs import TlsFiles

RELAY_USER, RELAY_PASSWORD = "mx", "correct horse battery staple"
MAIL_FROM = "CPD Claims <cpd@claims.example.org>"


class LoopThread:
    """An asyncio loop in a background thread, as `cpd run`'s loop would be."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coroutine: Any, timeout: float = 30) -> Any:
        """Run ``coroutine`` on the loop and wait for its result."""
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    """A CPD_SMTP_AUTH_USERS file with one user, ``mx``."""
    path = tmp_path / "smtp-users"
    path.write_text(f"# relays\n{RELAY_USER}:{hash_password(RELAY_PASSWORD)}\n")
    return path


@pytest.fixture
def listener(service: ClaimsService, tls_files: TlsFiles) -> Iterator[Any]:
    """``listener(**MailConfig fields)`` starts the mail channel; returns its SMTP port."""
    loop = LoopThread()
    runtimes: list[MailRuntime] = []

    def start(**fields: Any) -> int:
        port = free_port()
        config = MailConfig(
            smtp_host="127.0.0.1",
            smtp_port=port,
            tls_cert=tls_files.cert,
            tls_key=tls_files.key,
            **fields,
        )
        runtimes.append(loop.call(start_mail(service, config)))
        return port

    try:
        yield start
    finally:
        for runtime in runtimes:
            loop.call(runtime.stop())
        loop.close()


def client_context(tls_files: TlsFiles) -> ssl.SSLContext:
    """What a careful client uses: the test CA, hostname (127.0.0.1) checked."""
    return ssl.create_default_context(cafile=str(tls_files.ca))


def claim_count(service: ClaimsService) -> int:
    with service.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM claim")).scalar_one())


# -- the listener ---------------------------------------------------------------------------


def test_starttls_is_offered_and_mail_over_it_is_claimed(
    listener: Any, service: ClaimsService, tls_files: TlsFiles
) -> None:
    port = listener()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        client.starttls(context=client_context(tls_files))
        assert isinstance(client.sock, ssl.SSLSocket)
        assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
        client.sendmail("jane@example.com", [CLAIMS_ADDRESS], as_bytes(make_mail()))
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:  # offered, not required
        client.sendmail("jane@example.com", [CLAIMS_ADDRESS], as_bytes(make_mail("Course, 2h")))
    assert claim_count(service) == 2


def test_require_tls_refuses_mail_before_starttls(
    listener: Any, service: ClaimsService, tls_files: TlsFiles
) -> None:
    port = listener(require_tls=True)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        code, reply = client.mail("jane@example.com")
        assert code == 530 and b"STARTTLS" in reply
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.starttls(context=client_context(tls_files))
        client.sendmail("jane@example.com", [CLAIMS_ADDRESS], as_bytes(make_mail()))
    assert claim_count(service) == 1


def test_auth_is_refused_before_tls_and_required_after_it(
    listener: Any,
    service: ClaimsService,
    tls_files: TlsFiles,
    users_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = listener(auth_users=users_file)
    raw = as_bytes(make_mail("Conference, 6 hours"))
    plain = base64.b64encode(f"\0{RELAY_USER}\0{RELAY_PASSWORD}".encode()).decode()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        assert not client.has_extn("auth")  # not offered in the clear
        code, _ = client.docmd("AUTH", f"PLAIN {plain}")
        assert code == 538  # encryption required
        code, _ = client.mail("jane@example.com")
        assert code == 530
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.starttls(context=client_context(tls_files))
        client.ehlo()
        assert "PLAIN" in client.esmtp_features["auth"]
        assert "LOGIN" in client.esmtp_features["auth"]
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("jane@example.com", [CLAIMS_ADDRESS], raw)
        assert refused.value.smtp_code == 530  # authentication required
    caplog.set_level(logging.WARNING, logger="cpd.mail_ingest.smtp_server")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.starttls(context=client_context(tls_files))
        with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
            client.login(RELAY_USER, "not-the-password")
        assert wrong.value.smtp_code == 535
    assert "refused for user 'mx'" in caplog.text
    assert "not-the-password" not in caplog.text
    assert claim_count(service) == 0
    for mechanism in ("PLAIN", "LOGIN"):
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.starttls(context=client_context(tls_files))
            client.ehlo()
            client.user, client.password = RELAY_USER, RELAY_PASSWORD
            code, _ = client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
            assert code == 235
            client.sendmail("jane@example.com", [CLAIMS_ADDRESS], as_bytes(make_mail()))
    assert claim_count(service) == 2


def test_a_slow_password_check_does_not_stall_the_loop(
    listener: Any, tls_files: TlsFiles, users_file: Path
) -> None:
    """While a client logs in (scrypt, ~90 ms), another session's commands are answered."""
    port = listener(auth_users=users_file)
    stalls: list[float] = []

    def pinger() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            for _ in range(40):
                started = time.monotonic()
                client.noop()
                stalls.append(time.monotonic() - started)

    thread = threading.Thread(target=pinger)
    thread.start()
    for _ in range(4):
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.starttls(context=client_context(tls_files))
            with pytest.raises(smtplib.SMTPAuthenticationError):
                client.login(RELAY_USER, "wrong")
    thread.join(30)
    assert len(stalls) == 40 and max(stalls) < 0.08  # one scrypt check alone takes ~0.09 s


# -- password file and TLS files --------------------------------------------------------------


def test_password_hashes_and_the_users_file(tmp_path: Path) -> None:
    stored = hash_password("pässword")
    assert stored.startswith("scrypt$32768$8$1$") and "pässword" not in stored
    assert hash_password("pässword") != stored  # a fresh salt each time
    path = tmp_path / "users"
    path.write_text(f"\n# comment\nmx:{stored}\n")
    users = PasswordFile.load(path)
    assert len(users) == 1
    assert users("mx", "pässword") and not users("mx", "password") and not users("x", "pässword")
    for bad in ("mx", f":{stored}", "mx:bcrypt$2b$12$abc", "mx:scrypt$3$8$1$c2FsdHNhbHQ$a2V5"):
        path.write_text(bad + "\n")
        with pytest.raises(PasswordFileError, match="line 1") as error:
            PasswordFile.load(path)
        assert "\n" not in str(error.value)
    path.write_text("# nobody\n")
    with pytest.raises(PasswordFileError, match="no user"):
        PasswordFile.load(path)


def test_tls_file_errors_name_the_file(tls_files: TlsFiles, tmp_path: Path) -> None:
    with pytest.raises(TlsFileError, match="other.key: not the key of the certificate"):
        server_context(tls_files.cert, tls_files.other_key)
    with pytest.raises(TlsFileError, match="missing.pem"):
        server_context(tmp_path / "missing.pem", tls_files.key)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(TlsFileError, match="garbage.pem: not a PEM CA"):
        relay_context(garbage)


# -- the outbound relay with a certificate of its own ------------------------------------------


def receive_claim_mail(service: ClaimsService) -> None:
    """A member's claim; its receipt waits in the outbox for the relay."""
    msg = EmailMessage()
    msg["From"] = "Jane Surveyor <jane@example.com>"
    msg["To"] = "claims@claims.example.org"
    msg["Subject"] = "Boat show"
    msg["Message-ID"] = "<relay-tls@example.com>"
    msg.set_content("Boat show yesterday, 5 hours")
    raw = msg.as_bytes(policy=policy.SMTP)
    outcome = service.receive_mail(to_intake(parse_mail(raw), raw, dt.datetime.now(dt.UTC)))
    assert outcome.outcome == "claimed"


def outbox(service: ClaimsService) -> list[OutboxMessage]:
    with DbSession(service.engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.channel == "email"))
        return list(rows.all())


def deliver(sender: MailSender) -> int:
    return int(asyncio.run(asyncio.wait_for(sender.deliver_due(), 30)))


def test_a_self_signed_relay_is_trusted_only_with_its_ca(
    service: ClaimsService, tls_files: TlsFiles
) -> None:
    receive_claim_mail(service)
    relay_tls = server_context(tls_files.cert, tls_files.key)
    with RelaySink.running(tls_context=relay_tls) as relay:
        untrusting = MailSender(service, "127.0.0.1", relay.port, MAIL_FROM, timeout=5)
        assert deliver(untrusting) == 0 and untrusting.relay_down
        [row] = outbox(service)
        assert row.status == "pending" and row.attempts == 1  # kept, not given up
        assert "CERTIFICATE_VERIFY_FAILED" in (row.last_error or "").upper().replace(" ", "_")
        assert relay.delivered == []
        with DbSession(service.engine) as session:  # due again now, not after the backoff
            stored = session.get(OutboxMessage, row.id)
            assert stored is not None
            stored.next_attempt_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            session.add(stored)
            session.commit()
        trusting = MailSender(
            service,
            "127.0.0.1",
            relay.port,
            MAIL_FROM,
            timeout=5,
            tls="starttls",
            tls_context=relay_context(tls_files.ca),
        )
        assert deliver(trusting) == 1
        [delivered] = relay.to("jane@example.com")
    assert delivered.message["Subject"].startswith("Your CPD claim received")
    [row] = outbox(service)
    assert row.status == "sent" and row.attempts == 2


def test_starttls_required_but_not_offered_keeps_the_mail(
    service: ClaimsService, tls_files: TlsFiles
) -> None:
    receive_claim_mail(service)
    with RelaySink.running() as relay:  # plain relay, no STARTTLS
        sender = MailSender(
            service,
            "127.0.0.1",
            relay.port,
            MAIL_FROM,
            timeout=5,
            tls="starttls",
            tls_context=relay_context(tls_files.ca),
        )
        assert deliver(sender) == 0 and sender.relay_down
        assert relay.delivered == []
    [row] = outbox(service)
    assert row.status == "pending"


def test_relay_login_over_starttls(service: ClaimsService, tls_files: TlsFiles) -> None:
    receive_claim_mail(service)
    relay_tls = server_context(tls_files.cert, tls_files.key)
    with RelaySink.running(tls_context=relay_tls, users={"cpd": "relay-pw"}) as relay:
        wrong = MailSender(
            service,
            "127.0.0.1",
            relay.port,
            MAIL_FROM,
            timeout=5,
            tls="starttls",
            tls_context=relay_context(tls_files.ca),
            username="cpd",
            password="nope",
        )
        assert deliver(wrong) == 0 and wrong.relay_down
        assert outbox(service)[0].status == "pending"
        with DbSession(service.engine) as session:
            stored = session.exec(select(OutboxMessage)).first()
            assert stored is not None
            stored.next_attempt_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            session.add(stored)
            session.commit()
        right = MailSender(
            service,
            "127.0.0.1",
            relay.port,
            MAIL_FROM,
            timeout=5,
            tls="starttls",
            tls_context=relay_context(tls_files.ca),
            username="cpd",
            password="relay-pw",
        )
        assert deliver(right) == 1
        [delivered] = relay.to("jane@example.com")
    assert delivered.login == "cpd"


# -- CPD_IMAP_SINCE ---------------------------------------------------------------------------


@pytest.mark.skipif(not pymap_available(), reason="pymap is not installed")
def test_imap_since_leaves_older_mail_where_it_is(service: ClaimsService, tmp_path: Path) -> None:
    from tests.mail_ingest.test_imap_poller import Running, poller_for

    zone = dt.timezone(dt.timedelta(hours=1))  # the body's zone: midnight is 23:00 UTC
    day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=10)).date()
    since = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    mails = {
        "old": (make_mail("Old course, 2 hours"), dt.datetime(2020, 3, 1, 12, tzinfo=dt.UTC)),
        "just before": (make_mail("Course, 3 hours"), since - dt.timedelta(minutes=30)),
        "just after": (make_mail("Seminar, 1 hour"), since + dt.timedelta(minutes=30)),
        "today": (make_mail("Webinar, 2 hours"), dt.datetime.now(dt.UTC)),
    }
    with PymapServer.running(tmp_path / "imap") as imap:
        client = imap.client()
        try:
            for message, when in mails.values():
                client.append("INBOX", as_bytes(message), msg_time=when)
        finally:
            client.logout()
        running = Running(poller_for(service, imap, since=since))
        try:
            wait_until(lambda: imap.count("Processed") == 2, what="2 messages in Processed")
            time.sleep(0.5)  # nothing else should move
        finally:
            running.stop()
        assert imap.count("INBOX") == 2 and imap.count("Processed") == 2
        assert all(b"\\Seen" not in flags for flags in imap.flags("INBOX"))
        client = imap.client()
        try:
            client.select_folder("INBOX", readonly=True)
            left = client.fetch(client.search(["ALL"]), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
            ids = {bytes(v[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]).decode() for v in left.values()}
        finally:
            client.logout()
    assert {i.split(":", 1)[1].strip() for i in ids if i.strip()} == {
        mails["old"][0]["Message-ID"],
        mails["just before"][0]["Message-ID"],
    }
    assert claim_count(service) == 2


# -- `cpd run` end to end ---------------------------------------------------------------------


def test_cpd_run_with_starttls_and_auth(
    tmp_path: Path, tls_files: TlsFiles, users_file: Path
) -> None:
    run = CpdRun.configure(
        tmp_path / "data",
        extra={
            "CPD_SMTP_TLS_CERT": str(tls_files.cert),
            "CPD_SMTP_TLS_KEY": str(tls_files.key),
            "CPD_SMTP_AUTH_USERS": str(users_file),
        },
    )
    run.start()
    try:
        assert "STARTTLS offered; AUTH required" in run.log_text
        with smtplib.SMTP("127.0.0.1", run.smtp_port, timeout=10) as client:
            client.ehlo()
            code, _ = client.mail("jane@example.com")
            assert code == 530
        with smtplib.SMTP("127.0.0.1", run.smtp_port, timeout=10) as client:
            client.starttls(context=client_context(tls_files))
            with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
                client.login(RELAY_USER, "guessed-pw")
            assert wrong.value.smtp_code == 535
        with smtplib.SMTP("127.0.0.1", run.smtp_port, timeout=10) as client:
            client.starttls(context=client_context(tls_files))
            client.login(RELAY_USER, RELAY_PASSWORD)
            client.sendmail("jane@example.com", [CLAIMS_ADDRESS], as_bytes(make_mail()))
        [claim] = run.wait_claims(1)
        assert claim[2] == "pending"
        wait_until(lambda: "refused for user 'mx'" in run.log_text, what="the refusal logged")
    finally:
        assert run.stop() == 0
    assert "guessed-pw" not in run.log_text and RELAY_PASSWORD not in run.log_text
