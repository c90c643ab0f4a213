"""The envelope line the product writes in front of a spooled mail, and only that line."""

from __future__ import annotations

from cpd.mail_ingest.envelope import Envelope, split_envelope, with_envelope

MAIL = b"From: jane@example.com\r\nSubject: CPD\r\n\r\n3 hours.\r\n"


def test_the_envelope_round_trips_and_the_mail_is_unchanged() -> None:
    envelope = Envelope("127.0.0.2", "mx.example.com", "")
    stored = with_envelope(MAIL, envelope)
    assert stored.startswith(b"X-CPD-Envelope: {") and stored.endswith(MAIL)
    assert split_envelope(stored) == (envelope, MAIL)


def test_hostile_values_stay_on_one_line() -> None:
    envelope = Envelope("::1", "evil\r\nX-CPD-Envelope: {}\r\n", "a\u00e9\n@x.org" + "x" * 999)
    stored = with_envelope(MAIL, envelope)
    first, _, rest = stored.partition(b"\r\n")
    assert b"\n" not in first and rest == MAIL
    found, mail = split_envelope(stored)
    assert mail == MAIL and found is not None
    assert found.helo == "evil\r\nX-CPD-Envelope: {}\r\n" and len(found.mail_from or "") == 512


def test_a_senders_own_envelope_header_is_not_the_first_line_and_is_ignored() -> None:
    forged = b'From: jane@example.com\r\nX-CPD-Envelope: {"ip":"127.0.0.1"}\r\n\r\nx\r\n'
    assert split_envelope(forged) == (None, forged)
    stored = with_envelope(forged, Envelope("127.0.0.9", "h", "e@x.org"))
    assert split_envelope(stored) == (Envelope("127.0.0.9", "h", "e@x.org"), forged)


def test_an_unreadable_first_line_gives_no_envelope() -> None:
    assert split_envelope(b"X-CPD-Envelope: not json\r\n" + MAIL) == (None, MAIL)
    assert split_envelope(b"X-CPD-Envelope: [1]\r\n" + MAIL) == (None, MAIL)
    assert split_envelope(b'X-CPD-Envelope: {"ip": 7}\r\n' + MAIL) == (
        Envelope(None, None, None),
        MAIL,
    )
