"""`cpd run` end to end for the mail channel: a real subprocess, real SMTP and IMAP servers.

`cpd run` listens on a free port (CPD_SMTP_LISTEN); its outbound mail goes to an aiosmtpd
sink (CPD_SMTP_RELAY) started here; claims are read back from its SQLite database.
"""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mail_ingest.pdfs import make_pdf
from tests.mail_ingest.support_servers import (
    IMAP_PASSWORD,
    JPEG,
    CpdRun,
    PymapServer,
    RelaySink,
    as_bytes,
    make_mail,
    pymap_available,
    send,
    send_until_accepted,
    wait_until,
)

MEMBER = "jane@example.com"


@pytest.fixture
def relay() -> Iterator[RelaySink]:
    """The relay `cpd run` sends receipts and replies to."""
    with RelaySink.running() as sink:
        yield sink


@pytest.fixture
def cpd(tmp_path: Path, relay: RelaySink) -> Iterator[CpdRun]:
    """`cpd run` (mail only) started on a fresh data directory; killed after the test."""
    run = CpdRun.configure(tmp_path / "data", relay_port=relay.port)
    run.start()
    try:
        yield run
    finally:
        run.kill()


def receipts(relay: RelaySink, count: int = 1, timeout: float = 20) -> list:  # type: ignore[type-arg]
    return wait_until(  # type: ignore[return-value]
        lambda: (found := relay.to(MEMBER)) and len(found) >= count and found,
        timeout=timeout,
        what=f"{count} mail(s) to {MEMBER} at the relay",
    )


def test_a_photo_from_a_phone(cpd: CpdRun, relay: RelaySink) -> None:
    mail = make_mail(
        "Boat show at Southampton yesterday, 3 hours\n\nSent from my iPhone",
        subject="",
        attachments=((JPEG, "image/jpeg", "IMG_4032.JPG"),),
    )
    send(cpd.smtp_port, mail)
    (claim,) = cpd.wait_claims(1)
    assert claim[1] == f"email:{MEMBER}:{mail['Message-ID']}"  # the sender's key (issue 10)
    assert claim[2] == "pending"
    assert "iPhone" not in str(claim[4])
    (evidence,) = cpd.evidence(claim[0])  # type: ignore[arg-type]
    assert evidence[:3] == ("IMG_4032.JPG", "image/jpeg", len(JPEG))
    (receipt,) = receipts(relay)
    assert receipt.message["In-Reply-To"] == mail["Message-ID"]


def test_a_pdf_certificate(cpd: CpdRun, relay: RelaySink) -> None:
    pdf = make_pdf(["Certificate of attendance", "Marine Survey Conference", "6 hours CPD"])
    mail = make_mail("Certificate attached.", attachments=((pdf, "application/pdf", "cert.pdf"),))
    send(cpd.smtp_port, mail)
    (claim,) = cpd.wait_claims(1)
    (evidence,) = cpd.evidence(claim[0])  # type: ignore[arg-type]
    assert evidence[:2] == ("cert.pdf", "application/pdf")
    assert "Marine Survey Conference" in str(claim[4])
    receipts(relay)


def test_an_html_only_mail(cpd: CpdRun) -> None:
    html = "<html><body><p>Boat show yesterday,</p><p><b>3 hours</b></p></body></html>"
    send(cpd.smtp_port, make_mail("", html=html))
    (claim,) = cpd.wait_claims(1)
    assert "Boat show yesterday" in str(claim[4]) and "<p>" not in str(claim[4])


def test_a_forwarded_mail(cpd: CpdRun) -> None:
    body = (
        "Please count this one.\n\n"
        "---------- Forwarded message ---------\n"
        "From: IIMS Events <events@iims.org.uk>\n"
        "Date: Mon, 9 Nov 2026 at 10:00\n"
        "Subject: Your webinar certificate\n"
        "To: Jane Surveyor <jane@example.com>\n\n"
        "Thank you for attending the webinar on hull corrosion (2 hours).\n"
    )
    send(cpd.smtp_port, make_mail(body, subject="Fwd: Your webinar certificate"))
    (claim,) = cpd.wait_claims(1)
    assert "hull corrosion" in str(claim[4])


def test_an_unknown_sender_gets_one_polite_reply_and_no_claim(
    cpd: CpdRun, relay: RelaySink
) -> None:
    stranger = "pat@elsewhere.net"
    for _ in range(2):
        send(cpd.smtp_port, make_mail("Boat show, 3 hours", sender=stranger), sender=stranger)
    wait_until(lambda: relay.to(stranger), what="the reply to the stranger")
    time.sleep(1.5)  # the outbox would have delivered a second reply by now
    (reply,) = relay.to(stranger)
    assert "register" in reply.message.get_content().lower()
    assert cpd.claims() == [] and cpd.spooled() == []


def test_oversize_mail_is_refused_with_552(cpd: CpdRun) -> None:
    huge = os.urandom(26 * 1024 * 1024)
    mail = make_mail("Boat show", attachments=((huge, "image/jpeg", "huge.jpg"),))
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        send(cpd.smtp_port, mail)  # smtplib declares SIZE: refused at MAIL FROM
    assert refused.value.smtp_code == 552
    with smtplib.SMTP("127.0.0.1", cpd.smtp_port, timeout=30) as client:
        client.ehlo()
        assert client.mail(MEMBER, ["SIZE=30000000"])[0] == 552
    assert cpd.claims() == []


def test_malformed_mime(cpd: CpdRun) -> None:
    broken = (
        b"From: Jane Surveyor <jane@example.com>\r\n"
        b"To: claims@example.com\r\n"
        b"Subject: =?utf-8?B?broken?= boat show\r\n"
        b"Message-ID: <broken-mime-1@example.com>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
        b"--XYZ\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\n"
        b"Boat show yesterday, 3 hours \xff\xfe\r\n"
        b"--XYZ\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"!!!not base64 at all!!!\r\n"  # and the closing boundary never comes
    )
    send(cpd.smtp_port, broken)  # read as far as it goes: still a claim
    (claim,) = cpd.wait_claims(1)
    assert claim[1] == "email:jane@example.com:<broken-mime-1@example.com>"
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(cpd.smtp_port, b"Subject: who am I\r\n\r\nBoat show\r\n")
    assert refused.value.smtp_code == 550 and b"5.6.0" in refused.value.smtp_error
    assert len(cpd.claims()) == 1 and cpd.spooled() == []


def test_a_file_name_cannot_escape_the_evidence_directory(cpd: CpdRun) -> None:
    pdf = make_pdf(["Certificate", "Course on stability, 4 hours"])
    mail = make_mail(
        "Course on stability, 4 hours",
        attachments=((pdf, "application/pdf", "../../etc/passwd"),),
    )
    send(cpd.smtp_port, mail)
    (claim,) = cpd.wait_claims(1)
    (evidence,) = cpd.evidence(claim[0])  # type: ignore[arg-type]
    name, _, _, stored = evidence
    assert "/" not in str(name) and ".." not in str(name)
    evidence_dir = (cpd.data_dir / "evidence").resolve()
    assert Path(str(stored)).resolve().is_relative_to(evidence_dir)
    assert Path(str(stored)).read_bytes() == pdf
    assert not (cpd.data_dir.parent / "etc").exists()


def test_the_same_message_id_twice_is_one_claim_and_one_receipt(
    cpd: CpdRun, relay: RelaySink
) -> None:
    mail = make_mail("Webinar on hull corrosion, 2 hours")
    send(cpd.smtp_port, mail)
    send(cpd.smtp_port, mail)
    assert len(cpd.wait_claims(1)) == 1
    receipts(relay)
    time.sleep(1.5)
    assert len(relay.to(MEMBER)) == 1


def test_sigterm_stops_cleanly_and_what_was_spooled_is_stored_at_the_next_start(
    cpd: CpdRun,
) -> None:
    for n in range(10):
        send(cpd.smtp_port, make_mail(f"Course number {n}, 2 hours"))
    assert cpd.stop(signal.SIGTERM) == 0
    assert "mail channel stopped" in cpd.log_text
    # without a bot the nightly period end and purge and the nudges are scheduled all the same
    assert "scheduled: period end and retention purge nightly at 00:05" in cpd.log_text
    stored, waiting = len(cpd.claims()), len(cpd.spooled())
    assert stored + waiting == 10
    cpd.start()
    assert len(cpd.wait_claims(10)) == 10
    assert cpd.spooled() == []


def test_killed_mid_delivery_and_restarted_every_mail_is_claimed_once(
    tmp_path: Path, relay: RelaySink
) -> None:
    run = CpdRun.configure(tmp_path / "data", relay_port=relay.port)
    mails = [
        as_bytes(
            make_mail(
                f"Course number {n} on marine surveying, {n % 5 + 1} hours",
                attachments=((JPEG * 20, "image/jpeg", f"photo{n}.jpg"),),
            )
        )
        for n in range(40)
    ]
    attempts: dict[int, int] = {}
    errors: list[BaseException] = []
    deadline = time.monotonic() + 120

    def sender(indexes: range) -> None:
        for i in indexes:
            try:
                attempts[i] = send_until_accepted(run.smtp_port, mails[i], deadline)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

    run.start()
    try:
        threads = [
            threading.Thread(target=sender, args=(range(k, 40, 4),), daemon=True) for k in range(4)
        ]
        for thread in threads:
            thread.start()
        accepted_at_kills = []
        for accepted in (8, 24):  # two power cuts
            wait_until(lambda: len(attempts) >= accepted, timeout=60, what="mails accepted")  # noqa: B023
            run.kill()  # SIGKILL while the senders are mid-conversation
            accepted_at_kills.append(len(attempts))
            time.sleep(0.5)  # the senders see refused connections and retry
            run.start()
        for thread in threads:
            thread.join(150)
        assert not errors, errors
        assert len(attempts) == 40
        assert accepted_at_kills[-1] < 40, "the kill came after the last mail: nothing tested"
        claims = run.wait_claims(40, timeout=60)
        keys = [c[1] for c in claims]
        assert len(claims) == 40 and len(set(keys)) == 40
        assert run.spooled() == []
        retried = sum(1 for a in attempts.values() if a > 1)
        assert retried >= 1, "no sender had to retry: the kill did not land mid-delivery"
    finally:
        run.kill()


@pytest.mark.skipif(not pymap_available(), reason="pymap is not installed (pip install pymap)")
def test_imap_mail_is_claimed_once_across_an_imap_server_restart(
    tmp_path: Path, relay: RelaySink
) -> None:
    with PymapServer.running(tmp_path / "imap") as imap:
        imap.append(
            make_mail("Boat show yesterday, 3 hours", attachments=((JPEG, "image/jpeg", "a.jpg"),)),
            make_mail("Webinar on corrosion, 2 hours"),
        )
        run = CpdRun.configure(
            tmp_path / "data", relay_port=relay.port, imap_url=imap.url, smtp=False
        )
        run.start(wait_for="connected (UIDVALIDITY")
        try:
            wait_until(lambda: len(run.claims()) == 2, what="the two waiting claims")
            imap.stop()
            imap.start()
            imap.append(make_mail("Course on stability, 4 hours"))
            wait_until(lambda: len(run.claims()) == 3, timeout=30, what="the third claim")
            wait_until(lambda: imap.count("Processed") == 3, what="all three filed")
            assert run.stop(signal.SIGTERM) == 0
        finally:
            run.kill()
        assert imap.count("INBOX") == 0
    keys = [c[1] for c in run.claims()]
    assert len(keys) == len(set(keys)) == 3
    assert IMAP_PASSWORD not in run.log_text
    assert run.log_text.count("connected (UIDVALIDITY") >= 2
    assert len(relay.to(MEMBER)) >= 1


def test_bot_and_mail_run_in_one_process(tmp_path: Path, relay: RelaySink) -> None:
    from tests.support.telegram_api import FakeTelegramServer

    server = FakeTelegramServer(rate_limits=False)
    server.start_in_thread()
    server.add_group(-100777, "CPD secretaries")
    run = CpdRun.configure(
        tmp_path / "data",
        relay_port=relay.port,
        extra={
            "CPD_TELEGRAM_TOKEN": "123456:TEST-token_for-mail",
            "CPD_TELEGRAM_API_URL": server.api_url,
            "CPD_TELEGRAM_FILE_URL": server.file_url,
            "CPD_SECRETARY_CHAT_ID": "-100777",
        },
    )
    try:
        run.start()
        send(run.smtp_port, make_mail("Boat show yesterday, 3 hours"))
        server.wait_for(
            lambda c: c.chat_id == -100777 and "Boat show" in (c.text or ""), timeout=20
        )
        receipts(relay)
        assert run.stop(signal.SIGTERM) == 0
        assert "mail channel stopped" in run.log_text
    finally:
        run.kill()
        server.stop_thread()


def _run_once(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from cpd.cli import main; main()", "run"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_bad_imap_url_is_one_line_without_the_password(tmp_path: Path) -> None:
    run = CpdRun.configure(tmp_path / "data", imap_url="imaps://claims:pw-9876@/INBOX")
    result = _run_once(run.env, run.data_dir)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["cpd: error: CPD_IMAP_URL: the URL has no host"]
    assert "pw-9876" not in result.stderr + result.stdout


def test_a_busy_smtp_port_is_a_one_line_error(tmp_path: Path) -> None:
    run = CpdRun.configure(tmp_path / "data")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", run.smtp_port))
        taken.listen()
        result = _run_once(run.env, run.data_dir)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    address = f"127.0.0.1:{run.smtp_port}"
    assert last.startswith(f"cpd: error: CPD_SMTP_LISTEN: cannot listen on {address}")
    assert "Traceback" not in result.stderr
