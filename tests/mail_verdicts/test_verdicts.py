"""The three verdicts through the real SMTP listener, verified against a local DNS server.

pass files the claim; fail files nothing, audits the attempt and tells the member once a
day; none holds the claim until the member confirms it with the mailed secret, else it is
withdrawn after 7 days (CONTRACTS.md, "Who sent a mail").
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cpd.claims.workflows import Workflows
from cpd.schedule import nightly
from tests.mail_verdicts.support import JANE, NORA, SECRET, Desk, desk_for, mail, signed
from tests.support.dns_server import DkimKey, LocalDNS


@pytest.fixture
def desk(sqlite_engine: Engine, tmp_path: Path, mail_zone: LocalDNS) -> Iterator[Desk]:
    yield from desk_for(sqlite_engine, tmp_path, mail_zone)


@pytest.fixture
def any_desk(engine: Engine, tmp_path: Path, mail_zone: LocalDNS) -> Iterator[Desk]:
    """The desk on SQLite and on PostgreSQL."""
    yield from desk_for(engine, tmp_path, mail_zone)


def secret_of(desk: Desk) -> str:
    ((recipient, _, payload),) = desk.outbox("confirm_claim")
    assert recipient == NORA
    found = SECRET.search(payload["text"])
    assert found is not None
    return found.group(1)


def test_an_aligned_signature_passes_and_files_the_claim(desk: Desk, dkim_key: DkimKey) -> None:
    raw = signed(dkim_key, mail())
    assert desk.send(raw, mail_from="bounce@lists.example.org", helo="lists.example.org") == 250
    ((_, email, status, verdict, domain),) = desk.claims()
    assert (email, status, verdict, domain) == (JANE, "pending", "pass", "example.com")
    (receipt,) = desk.outbox("receipt")
    assert receipt[0] == JANE
    (card,) = desk.outbox("secretary_card")
    assert "Mail sender: verified (pass) for example.com" in card[2]["text"]
    assert "dkim=pass header.d=example.com" in card[2]["text"]


@pytest.mark.parametrize("case", ["broken", "unaligned", "missing"])
def test_a_bad_signature_against_p_reject_fails_and_files_nothing(
    desk: Desk, mail_zone: LocalDNS, dkim_key: DkimKey, other_dkim_key: DkimKey, case: str
) -> None:
    other_dkim_key.publish(mail_zone.zone, "attacker.net")
    mail_zone.zone.txt("attacker.net", "v=spf1 ip4:127.0.0.1 -all")  # their own SPF passes

    def forged(n: int) -> bytes:
        raw = mail(f"Course {n}, 3 hours")
        if case == "broken":
            return signed(dkim_key, raw).replace(b"3 hours", b"9 hours")
        if case == "unaligned":
            return signed(other_dkim_key, raw, "attacker.net")
        return raw

    for n in range(2):  # two attempts the same day: one notice
        assert desk.send(forged(n), mail_from="evil@attacker.net", helo="attacker.net") == 250
    assert desk.claims() == []
    attempts = desk.audit("mail.impersonation")
    assert len(attempts) == 2
    actor, member_id, details = attempts[0]
    assert actor == f"email:{JANE}" and member_id is not None
    assert details["envelope_sender"] == "evil@attacker.net"
    assert any("dmarc=fail p=reject" in reason for reason in details["reasons"])
    notices = desk.outbox("impersonation_notice")
    assert [n[0] for n in notices] == [JANE]
    assert desk.outbox("unknown_sender") == [] and desk.outbox("receipt") == []
    desk.now += dt.timedelta(days=1)  # the next day: told again
    assert desk.send(forged(3), mail_from="evil@attacker.net", helo="attacker.net") == 250
    assert len(desk.outbox("impersonation_notice")) == 2


def test_no_records_hold_the_claim_until_the_secret_comes_back(
    any_desk: Desk, dkim_key: DkimKey
) -> None:
    desk = any_desk
    assert desk.send(mail(sender=NORA), mail_from=NORA, helo="plain.example") == 250
    ((claim_id, email, status, verdict, _),) = desk.claims()
    assert (email, status, verdict) == (NORA, "unverified", "none")
    assert desk.outbox("secretary_card") == [] and desk.outbox("receipt") == []
    secret = secret_of(desk)
    (stored,) = desk.rows("SELECT secret_sha256 FROM mail_hold")
    assert stored[0] is not None and secret not in str(stored)  # only the digest is kept
    # a wrong secret does nothing (and is no claim)
    wrong = mail(f"> Confirm: {'x' * 43}", sender="someone@else.example")
    assert desk.send(wrong, mail_from="someone@else.example") == 250
    assert [c[2] for c in desk.claims()] == ["unverified"]
    # the reply quoting the secret confirms, whoever sends it and whatever its verdict
    reply = mail(f"Yes, that was me.\r\n\r\n> Confirm: {secret}", sender="nora@webmail.example")
    assert desk.send(reply, mail_from="nora@webmail.example", helo="webmail.example") == 250
    ((_, _, status, _, _),) = desk.claims()
    assert status == "pending"
    (card,) = desk.outbox("secretary_card")
    assert card[2]["claim_id"] == claim_id
    assert "Mail sender: not verifiable (none) for plain.example" in card[2]["text"]
    assert [r[0] for r in desk.outbox("receipt")] == [NORA]
    assert len(desk.audit("claim.confirmed")) == 1
    # used once: the same secret again does nothing
    again = mail(f"Confirm: {secret}", sender=NORA, subject="again")
    assert desk.send(again, mail_from=NORA, helo="plain.example") == 250
    assert len(desk.claims()) == 1 and len(desk.outbox("secretary_card")) == 1
    assert sorted(desk.processed()).count("confirm_refused") == 2


def test_an_unconfirmed_hold_is_withdrawn_after_seven_days(desk: Desk) -> None:
    assert desk.send(mail(sender=NORA), mail_from=NORA, helo="plain.example") == 250
    secret = secret_of(desk)
    desk.now += dt.timedelta(days=6, hours=23)
    assert desk.service.expire_unverified() == 0
    desk.now += dt.timedelta(hours=2)
    assert desk.service.expire_unverified() == 1
    ((claim_id, _, status, _, _),) = desk.claims()
    assert status == "withdrawn"
    (reason,) = desk.rows("SELECT decision_reason FROM claim")
    assert reason[0].startswith("expired")
    ((actor, _, _),) = desk.audit("claim.expired")
    assert actor == "system"
    # the secret no longer works once expired
    late = mail(f"Confirm: {secret}", sender=NORA, subject="late")
    assert desk.send(late, mail_from=NORA, helo="plain.example") == 250
    assert [c[2] for c in desk.claims()] == ["withdrawn"] and desk.outbox("secretary_card") == []
    assert desk.service.claim(claim_id).status == "withdrawn"


def test_a_dispensation_request_by_unverified_mail_is_refused(desk: Desk) -> None:
    request = mail("I was ill for months.", sender=NORA, subject="Dispensation request")
    assert desk.send(request, mail_from=NORA, helo="plain.example") == 250
    assert desk.rows("SELECT id FROM dispensation") == [] and desk.claims() == []
    (reply,) = desk.outbox("reply")
    assert reply[0] == NORA and "Telegram" in reply[2]["text"]


def test_a_forged_dispensation_request_does_nothing(desk: Desk) -> None:
    request = mail("Please excuse me.", subject="Dispensation request")
    assert desk.send(request, mail_from="evil@attacker.net", helo="attacker.net") == 250
    assert desk.rows("SELECT id FROM dispensation") == []
    assert len(desk.audit("mail.impersonation")) == 1


@pytest.mark.parametrize(
    ("name", "sender", "extra"),
    [
        ("two From headers", JANE, "From: evil@attacker.net\r\n"),
        ("group syntax", f"Members: {JANE};", ""),
        ("source route", f"<@relay.example:{JANE}>", ""),
        ("Sender differs", JANE, "Sender: evil@attacker.net\r\n"),
        ("two mailboxes", f"{JANE}, evil@attacker.net", ""),
        ("address as display name", f'"{JANE}" <evil@attacker.net>', ""),
        ("lookalike domain", "jane@exаmple.com", ""),
        ("address in an encoded word", "=?utf-8?q?jane=40example=2Ecom?= <evil@attacker.net>", ""),
    ],
)
def test_spoofing_variants_make_no_claim(
    desk: Desk, dkim_key: DkimKey, name: str, sender: str, extra: str
) -> None:
    raw = signed(dkim_key, mail(sender=sender, extra=extra))  # even with Jane's signature
    code = desk.send(raw, mail_from="evil@attacker.net", helo="attacker.net")
    assert code in (250, 550), name
    assert desk.claims() == [], name
    assert desk.outbox("receipt") == [] and desk.outbox("secretary_card") == []


def test_a_forged_authentication_results_is_not_believed_in_verify_mode(desk: Desk) -> None:
    forged = "Authentication-Results: mx.example.com; dmarc=pass header.from=example.com\r\n"
    raw = mail(extra=forged)
    assert desk.send(raw, mail_from="evil@attacker.net", helo="attacker.net") == 250
    assert desk.claims() == [] and len(desk.audit("mail.impersonation")) == 1


def test_the_nightly_job_withdraws_holds_not_confirmed_in_time(desk: Desk) -> None:
    assert desk.send(mail(sender=NORA), mail_from=NORA, helo="plain.example") == 250
    desk.now += dt.timedelta(days=8)
    asyncio.run(nightly(desk.service, Workflows(desk.service)))
    assert [c[2] for c in desk.claims()] == ["withdrawn"]
    assert len(desk.audit("claim.expired")) == 1
