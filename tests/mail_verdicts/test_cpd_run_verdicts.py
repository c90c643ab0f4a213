"""Sender verification in `cpd run` (a real subprocess: spool, spool worker, outbound relay).

The local dnslib server stands in for the Internet's DNS (``CPD_DNS_SERVERS``); the relay
sink receives what the product mails.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mail_ingest.support_servers import CLAIMS_ADDRESS, CpdRun, RelaySink, wait_until
from tests.mail_verdicts.support import JANE, mail, signed
from tests.support.dns_server import DkimKey, LocalDNS


@pytest.fixture
def relay() -> Iterator[RelaySink]:
    with RelaySink.running() as sink:
        yield sink


def start(tmp_path: Path, relay: RelaySink, dns: LocalDNS, **extra: str) -> CpdRun:
    host, port = dns.address
    settings = {"CPD_MAIL_AUTH": "verify", "CPD_DNS_SERVERS": f"{host}:{port}", **extra}
    run = CpdRun.configure(tmp_path / "data", relay_port=relay.port, extra=settings)
    run.start()
    return run


def deliver(run: CpdRun, raw: bytes, mail_from: str, helo: str = "mx.example.com") -> None:
    with smtplib.SMTP("127.0.0.1", run.smtp_port, local_hostname=helo, timeout=30) as client:
        client.sendmail(mail_from, [CLAIMS_ADDRESS], raw)


def outcomes(run: CpdRun) -> list[object]:
    return [r[0] for r in run.query("SELECT outcome FROM processed_message ORDER BY outcome")]


def test_a_signed_claim_is_filed_and_a_forgery_with_forged_results_is_not(
    tmp_path: Path, relay: RelaySink, mail_zone: LocalDNS, dkim_key: DkimKey
) -> None:
    run = start(tmp_path, relay, mail_zone)
    try:
        deliver(run, signed(dkim_key, mail()), "bounce@lists.example.org", "lists.example.org")
        forged = mail(
            "Course on hull surveys, 30 hours",
            extra="Authentication-Results: mx.example.com; dkim=pass header.d=example.com; "
            "dmarc=pass header.from=example.com\r\n",
        )
        deliver(run, forged, "evil@attacker.net", "attacker.net")
        wait_until(lambda: len(outcomes(run)) == 2, timeout=30, what="both mails handled")
        claims = run.query("SELECT status, verification, verification_domain FROM claim")
        assert claims == [("pending", "pass", "example.com")]
        assert sorted(outcomes(run)) == ["claimed", "impersonation"]
        (audit,) = run.query("SELECT actor FROM audit_log WHERE action = 'mail.impersonation'")
        assert audit == (f"email:{JANE}",)
        mails = wait_until(lambda: len(relay.to(JANE)) >= 2 and relay.to(JANE), timeout=30)
        subjects = sorted(str(d.message["Subject"]) for d in mails)
        assert subjects[0] == "A mail in your name was not recorded"
        receipt = next(d for d in mails if "received" in str(d.message["Subject"]))
        assert receipt.message["Auto-Submitted"] == "auto-replied"
    finally:
        run.kill()


def test_an_unverifiable_claim_waits_for_the_mailed_secret(
    tmp_path: Path, relay: RelaySink, local_dns: LocalDNS
) -> None:
    run = start(tmp_path, relay, local_dns)  # nothing published: every verdict is none
    try:
        deliver(run, mail(), JANE)
        (ask,) = wait_until(lambda: relay.to(JANE), timeout=30, what="the confirmation mail")
        text = ask.message.get_content()
        secret = re.search(r"^Confirm: (\S+)\s*$", text, re.MULTILINE)
        assert secret is not None and "reply to this mail" in text
        assert run.query("SELECT status, verification FROM claim") == [("unverified", "none")]
        reply = mail(f"It was me.\r\n\r\n> Confirm: {secret.group(1)}", subject="Re: confirm")
        deliver(run, reply, JANE)
        wait_until(
            lambda: run.query("SELECT status FROM claim") == [("pending",)],
            timeout=30,
            what="the claim confirmed",
        )
        assert len(run.claims()) == 1  # the reply made no claim of its own
        wait_until(lambda: len(relay.to(JANE)) >= 2, timeout=30, what="the receipt")
    finally:
        run.kill()


def test_header_mode_believes_only_the_trusted_topmost_results(
    tmp_path: Path, relay: RelaySink, local_dns: LocalDNS
) -> None:
    settings = {"CPD_MAIL_AUTH": "header", "CPD_MAIL_AUTHSERV_ID": "mx.cpd.test"}
    run = start(tmp_path, relay, local_dns, **settings)
    trusted_fail = (
        "Authentication-Results: mx.cpd.test; dkim=fail header.d=example.com; "
        "dmarc=fail header.from=example.com\r\n"
    )
    forged_pass = (
        "Authentication-Results: mx.cpd.test; dkim=pass header.d=example.com; "
        "dmarc=pass header.from=example.com\r\n"
    )
    try:
        # the sender's own header, with the trusted id, below what the trusted server stamped
        deliver(run, mail("Course, 30 hours", extra=trusted_fail + forged_pass), "evil@x.net")
        # the genuine one: the trusted server's own header on top says pass
        deliver(run, mail("Course, 3 hours", extra=forged_pass), JANE)
        wait_until(lambda: len(outcomes(run)) == 2, timeout=30, what="both mails handled")
        assert sorted(outcomes(run)) == ["claimed", "impersonation"]
        assert run.query("SELECT hours, verification FROM claim") == [(3.0, "pass")]
    finally:
        run.kill()


def test_cpd_run_warns_when_verification_is_off(tmp_path: Path) -> None:
    run = CpdRun.configure(tmp_path / "data")  # the test helper's explicit CPD_MAIL_AUTH=off
    run.start()
    try:
        assert "CPD_MAIL_AUTH=off: mail senders are not verified" in run.log_text
    finally:
        run.kill()
