"""No backscatter, no loops (RFC 3834), duplicate keys per sender, through the SMTP listener.

Automatic mail is never a claim and never answered; strangers are answered only when their
own domain verified, at the envelope address, once a day each and under a daily cap; a
member's claims by mail are capped per hour; another sender's mail with a member's next
Message-ID does not shadow the member's genuine mail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cpd.claims.mail_verdicts import MailLimits
from cpd.claims.notifications import Notification
from cpd.mail_ingest.outbound import compose
from cpd.storage import ProcessedMessage, transaction
from tests.mail_verdicts.support import JANE, Desk, desk_for, mail, signed
from tests.support.dns_server import DkimKey, LocalDNS

STRANGER_CAP = 30


@pytest.fixture
def desk(sqlite_engine: Engine, tmp_path: Path, mail_zone: LocalDNS) -> Iterator[Desk]:
    limits = MailLimits(stranger_replies_per_day=STRANGER_CAP, claims_per_hour=3)
    yield from desk_for(sqlite_engine, tmp_path, mail_zone, limits=limits)


@pytest.mark.parametrize(
    ("name", "extra", "mail_from", "sender"),
    [
        ("Auto-Submitted", "Auto-Submitted: auto-replied\r\n", JANE, JANE),
        ("X-Autoreply", "X-Autoreply: yes\r\n", JANE, JANE),
        ("X-Autorespond", "X-Autorespond: yes\r\n", JANE, JANE),
        ("Precedence: bulk", "Precedence: bulk\r\n", JANE, JANE),
        ("Precedence: list", "Precedence: list\r\n", JANE, JANE),
        ("List-Id", "List-Id: <surveyors.lists.example.com>\r\n", JANE, JANE),
        ("MAIL FROM:<>", "", "", JANE),
        ("MAILER-DAEMON envelope", "", "MAILER-DAEMON@example.com", JANE),
        ("a stranger's auto-reply", "Auto-Submitted: auto-replied\r\n", "bob@b.example", None),
        ("a stranger's bounce", "", "", "MAILER-DAEMON@b.example"),
    ],
)
def test_automatic_mail_is_no_claim_and_gets_no_reply(
    desk: Desk,
    mail_zone: LocalDNS,
    dkim_key: DkimKey,
    name: str,
    extra: str,
    mail_from: str,
    sender: str | None,
) -> None:
    mail_zone.zone.txt("b.example", "v=spf1 ip4:127.0.0.1 -all")
    raw = mail("Away until Monday, 3 hours", sender=sender or "bob@b.example", extra=extra)
    if sender == JANE:
        raw = signed(dkim_key, raw)  # Jane's own mailbox, verified: still no claim
    assert desk.send(raw, mail_from=mail_from) == 250, name
    assert desk.claims() == [], name
    assert desk.outbox() == [], name
    assert desk.processed() == ["automatic"], name


def test_a_hundred_verified_strangers_get_at_most_the_cap_each_at_the_envelope(
    desk: Desk, mail_zone: LocalDNS
) -> None:
    for n in range(100):
        mail_zone.zone.txt(f"s{n}.example", "v=spf1 ip4:127.0.0.1 -all")
    for n in range(100):
        raw = mail(f"Course {n}, 2 hours", sender=f"Stranger <someone@s{n}.example>")
        assert desk.send(raw, mail_from=f"bounces+{n}@s{n}.example", helo=f"s{n}.example") == 250
    replies = desk.outbox("unknown_sender")
    assert len(replies) == STRANGER_CAP
    assert {r[0] for r in replies} == {f"bounces+{n}@s{n}.example" for n in range(STRANGER_CAP)}
    assert desk.claims() == []
    # the reply says it is one (RFC 3834)
    recipient, template, payload = replies[0]
    note = Notification(1, "email", recipient, template, payload, 0)
    assert compose(note, "claims@cpd.test")["Auto-Submitted"] == "auto-replied"


def test_strangers_whose_domain_does_not_verify_get_no_reply(
    desk: Desk, mail_zone: LocalDNS
) -> None:
    mail_zone.zone.txt("_dmarc.strict.example", "v=DMARC1; p=reject")
    for n, (sender, envelope) in enumerate(
        [
            ("bob@nodns.example", "bob@nodns.example"),  # none: no records
            ("bob@strict.example", "victim@elsewhere.example"),  # fail: p=reject, nothing passes
            ("bob@nodns.example", "victim@elsewhere.example"),  # would be backscatter
        ]
    ):
        assert desk.send(mail(f"Course {n}", sender=sender), mail_from=envelope) == 250
    assert desk.outbox() == [] and desk.claims() == []


def test_a_members_claims_by_mail_are_capped_per_hour(desk: Desk, dkim_key: DkimKey) -> None:
    for n in range(5):
        raw = signed(dkim_key, mail(f"Course {n}, 2 hours"))
        assert desk.send(raw) == 250
    assert len(desk.claims()) == 3
    assert desk.processed().count("over_cap") == 2
    (notice,) = desk.outbox("reply")  # told once an hour
    assert notice[0] == JANE and "more than 3" in notice[2]["text"]


def test_another_senders_mail_with_the_members_message_id_does_not_shadow_it(
    desk: Desk, mail_zone: LocalDNS, dkim_key: DkimKey
) -> None:
    mail_zone.zone.txt("attacker.net", "v=spf1 ip4:127.0.0.1 -all")
    next_id = "<jane-next@example.com>"
    # first a forgery in Jane's name, then a stranger's own verified mail, both with her ID
    forged = mail("Nothing, 0 hours", message_id=next_id)
    assert desk.send(forged, mail_from="evil@attacker.net", helo="attacker.net") == 250
    own = mail("Nothing, 0 hours", sender="evil@attacker.net", message_id=next_id)
    assert desk.send(own, mail_from="evil@attacker.net", helo="attacker.net") == 250
    assert desk.claims() == []
    genuine = signed(dkim_key, mail("Course on hull surveys, 3 hours", message_id=next_id))
    assert desk.send(genuine) == 250
    ((_, email, status, verdict, _),) = desk.claims()
    assert (email, status, verdict) == (JANE, "pending", "pass")
    # and her own retry is still a duplicate
    assert desk.send(genuine) == 250
    assert len(desk.claims()) == 1


def test_a_mail_handled_before_the_upgrade_is_not_claimed_again(
    desk: Desk, dkim_key: DkimKey
) -> None:
    old_id = "<before-upgrade@example.com>"
    with transaction(desk.service.engine) as session:  # as the earlier release keyed it
        session.add(ProcessedMessage(key=f"email:{old_id}", channel="email", outcome="claimed"))
    assert desk.send(signed(dkim_key, mail(message_id=old_id))) == 250
    assert desk.claims() == []
    fresh = signed(dkim_key, mail(message_id="<after-upgrade@example.com>"))
    assert desk.send(fresh) == 250
    assert len(desk.claims()) == 1
