"""End to end: an IMI member replies to the receipt with a reflection, through the real SMTP
listener of `cpd run` and the relay sink; the claim gets it, and the answer shows the new
proposal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from cpd import rules
from cpd.claims.members import import_members, parse_members_csv
from cpd.rules.values import number
from cpd.storage import make_engine
from tests.mail_ingest.support_servers import CpdRun, RelaySink, make_mail, send, wait_until

TOM = "tom@example.com"
IMI_MEMBER = """membership_no,name,email,scheme,grade,joined,role
T1,Tom Technician,tom@example.com,imi,member,2024-05-01,member
"""
REFLECTION = "I learned how to isolate a high-voltage battery safely before working on it."


@pytest.fixture
def relay() -> Iterator[RelaySink]:
    with RelaySink.running() as sink:
        yield sink


@pytest.fixture
def cpd(tmp_path: Path, relay: RelaySink) -> Iterator[CpdRun]:
    """`cpd run` (mail only) whose register also holds an IMI member."""
    run = CpdRun.configure(tmp_path / "data", relay_port=relay.port)
    engine = make_engine(f"sqlite:///{run.data_dir / 'cpd.sqlite3'}")
    try:
        import_members(engine, parse_members_csv(IMI_MEMBER, "imi"))
    finally:
        engine.dispose()
    run.start()
    try:
        yield run
    finally:
        run.kill()


def mails_to_tom(relay: RelaySink, count: int) -> list[EmailMessage]:
    found = wait_until(
        lambda: len(relay.to(TOM)) >= count and relay.to(TOM),
        timeout=30,
        what=f"{count} mail(s) to {TOM} at the relay",
    )
    return [d.message for d in found]  # type: ignore[union-attr]


def test_a_reply_to_the_receipt_adds_the_reflection_to_the_same_claim(
    cpd: CpdRun, relay: RelaySink
) -> None:
    claim_mail = make_mail(
        "EV safety training course yesterday, 4 hours",
        sender=f"Tom Technician <{TOM}>",
        message_id="<claim-1@example.com>",
    )
    send(cpd.smtp_port, claim_mail, sender=TOM)
    (receipt,) = mails_to_tom(relay, 1)
    assert "Proposed: 0 credits" in receipt.get_content()
    assert "reply to this message" in receipt.get_content()
    receipt_id = receipt["Message-ID"]
    assert re.fullmatch(r"<cpd-\d+\.[0-9a-f]{32}@example\.com>", receipt_id)

    reply = make_mail(
        f"{REFLECTION}\n\nOn Mon, Tom wrote:\n> {receipt.get_content().splitlines()[0]}",
        sender=f"Tom Technician <{TOM}>",
        subject="Re: " + str(receipt["Subject"]),
        message_id="<reply-1@example.com>",
    )
    reply["In-Reply-To"] = receipt_id
    reply["References"] = f"<claim-1@example.com> {receipt_id}"
    send(cpd.smtp_port, reply, sender=TOM)
    _, answer = mails_to_tom(relay, 2)

    (claim,) = cpd.claims()
    assert claim[2] == "pending"
    ((reflections, proposed),) = cpd.query("SELECT reflections, proposed_points FROM claim")
    assert REFLECTION in str(reflections) and "On Mon" not in str(reflections)
    category = rules.load_scheme("imi").category_for("training", None)
    assert category is not None and category.rate.per_hour is not None
    credits = 4 * category.rate.per_hour
    assert proposed == credits
    text = answer.get_content()
    assert answer["In-Reply-To"] == "<reply-1@example.com>"
    assert f"Claim #{claim[0]} updated" in text
    assert f"Proposed: {number(credits)} credits" in text
    assert "(was 0)" in text
    assert answer["Auto-Submitted"] == "auto-replied"
    assert len(cpd.claims()) == 1
