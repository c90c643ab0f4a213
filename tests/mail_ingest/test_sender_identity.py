"""One mailbox, one sender: every spoofing variant of the From/Sender headers is refused."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest

from cpd.mail_ingest.sender_identity import (
    Author,
    Refusal,
    author_of,
    normalise_address,
    normalise_domain,
)


def _mail(*headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return (head + "To: cpd@localhost\r\nSubject: CPD\r\n\r\n3 hours on 2 May.\r\n").encode()


@pytest.mark.parametrize(
    ("header", "address"),
    [
        ("From: jane@example.com", "jane@example.com"),
        ("From: Jane Surveyor <jane@example.com>", "jane@example.com"),
        ('From: "Surveyor, Jane" <Jane@EXAMPLE.com>', "jane@example.com"),
        ("From: J. Surveyor <jane@example.com>", "jane@example.com"),
        ("From: jane@example.com (Jane)", "jane@example.com"),
        ("From: =?utf-8?q?Jane_S=C3=BCrveyor?= <jane@example.com>", "jane@example.com"),
        ("From: Jane <jane@bücher.example>", "jane@xn--bcher-kva.example"),
        ("From: Jane <jane@xn--bcher-kva.example>", "jane@xn--bcher-kva.example"),
        ("From: Jane\r\n <jane@example.com>", "jane@example.com"),
        # SMTPUTF8 (RFC 6531): a UTF-8 local part is a real member's address
        ("From: J\u00f6rg M\u00fcller <j\u00f6rg@example.de>", "j\u00f6rg@example.de"),
        ("From: J\u00f6rg@B\u00fccher.example", "j\u00f6rg@xn--bcher-kva.example"),
    ],
)
def test_one_plain_mailbox_is_the_author(header: str, address: str) -> None:
    author = author_of(_mail(header))
    assert isinstance(author, Author), author
    assert author.address == address and author.domain == address.partition("@")[2]


@pytest.mark.parametrize(
    ("header", "address"),
    [
        # the display name never decides: it may name anyone
        ('From: "jane@example.com" <evil@attacker.net>', "evil@attacker.net"),
        ("From: =?utf-8?q?jane=40example=2Ecom?= <evil@attacker.net>", "evil@attacker.net"),
        ("From: evil@attacker.net (jane@example.com)", "evil@attacker.net"),
        ("From: Jane Surveyor <evil@attacker.net>", "evil@attacker.net"),
        # a lookalike domain is another domain: Cyrillic a, Greek omicron
        ("From: Jane <jane@ex\u0430mple.com>", "jane@xn--exmple-4nf.com"),
        ("From: Jane <jane@example.c\u03bfm>", "jane@example.xn--cm-jbc"),
    ],
)
def test_display_names_and_lookalikes_never_make_jane(header: str, address: str) -> None:
    author = author_of(_mail(header))
    assert isinstance(author, Author), author
    assert author.address == address and author.address != "jane@example.com"


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        (("Subject: no From",), "no From header"),
        (("From: jane@example.com", "From: evil@attacker.net"), "2 From headers"),
        (("From: jane@example.com", "FROM: jane@example.com"), "2 From headers"),
        (("From: jane@example.com, evil@attacker.net",), "2 mailboxes"),
        (("From: Jane <jane@example.com>, Jane <jane@example.com>",), "2 mailboxes"),
        (("From: Members: jane@example.com;",), "group syntax"),
        (("From: undisclosed-recipients:;",), "group syntax"),
        (("From: <@evil.net:jane@example.com>",), "source route"),
        (("From: Jane <@evil.net,@relay.org:jane@example.com>",), "source route"),
        (("From: jane@example.com <evil@attacker.net>",), "malformed"),
        (("From: jane@example.com)<evil@attacker.net>",), "malformed"),
        (("From: Jane <jane@example.com> evil@attacker.net",), "malformed"),
        (("From: Jane <jane@example.com",), "malformed"),
        (("From: =?utf-8?b?amFuZUBleGFtcGxlLmNvbQ==?=",), "malformed"),
        (("From: Jane <jane@=?utf-8?q?example.com?=>",), "From"),
        (("From: <>",), "malformed"),
        (("From: ",), "no mailbox"),
        (("From: jane",), "malformed"),
        (('From: "jane@example.com"@attacker.net',), "local part"),
        (("From: jane@[127.0.0.1]",), "not a valid domain"),
        (("From: jane@localhost",), "not a valid domain"),
        (("From: jane@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",), "not a valid domain"),
        (("From: jane@example.com", "Sender: evil@attacker.net"), "Sender evil@attacker.net"),
        (("From: jane@example.com", "Sender: jane@ex\u0430mple.com"), "Sender"),
        (("From: jane@example.com", "Sender: a@x.org, b@y.org"), "2 mailboxes"),
        (("From: jane@example.com", "Sender: jane@example.com", "Sender: e@x.org"), "Sender"),
    ],
)
def test_spoofing_variants_are_refused(headers: tuple[str, ...], words: str) -> None:
    refusal = author_of(_mail(*headers))
    assert isinstance(refusal, Refusal), refusal
    assert words in refusal.reason


def test_a_sender_that_is_the_from_mailbox_is_fine() -> None:
    author = author_of(_mail("From: Jane <jane@example.com>", "Sender: JANE@Example.COM"))
    assert isinstance(author, Author) and author.address == "jane@example.com"


def test_eight_bit_headers_are_read_as_utf8_and_bad_bytes_refused() -> None:
    author = author_of("From: Jane <jane@bücher.example>\r\n\r\nx\r\n".encode())
    assert isinstance(author, Author) and author.unicode_domain == "bücher.example"
    assert isinstance(author_of(b"From: jane@ex\xe0mple.com\r\n\r\nx\r\n"), Refusal)


def test_a_parsed_message_is_read_as_the_raw_bytes_are() -> None:
    raw = _mail("From: jane@example.com", "From: evil@attacker.net")
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert author_of(message) == author_of(raw) == Refusal("2 From headers")


def test_normalising_addresses_and_domains() -> None:
    assert normalise_address(" Jane@Example.COM ") == "jane@example.com"
    assert normalise_address("jane@B\u00fccher.example") == "jane@xn--bcher-kva.example"
    assert normalise_address("jane") is None and normalise_address("jane@localhost") is None
    # NFC: a decomposed u + combining diaeresis is the same domain as the composed one
    assert normalise_domain("bu\u0308cher.example") == normalise_domain("bücher.example")
    assert normalise_domain("xn--zz-bad.example") is None  # an A-label that is not IDNA
    assert normalise_domain("-bad.example") is None and normalise_domain("a..b") is None
