"""Bad input over the mail channel, as a table: each row names the input and what the product
answers — the SMTP reply (code and text), what is stored and what is queued to be sent.

One real aiosmtpd listener (``start_smtp`` with the spool, the session cap of 8 and the cap of
10 attachments) on a loop in a background thread, smtplib as the client, the real claims
service on SQLite behind the real spool worker (drained after each row). Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import shutil
import smtplib
import socket
import threading
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from cpd.claims.members import import_members, parse_members_csv
from cpd.claims.service import ClaimsService
from cpd.mail_ingest.smtp_server import ClaimMailHandler, start_smtp
from cpd.mail_ingest.spool import MailSpool
from cpd.mail_ingest.spool_worker import SpoolWorker
from tests.mail_ingest.conftest import MEMBERS
from tests.mail_ingest.support_servers import CLAIMS_ADDRESS, JPEG, as_bytes, free_port, make_mail
from tests.support.extractor import StubExtractor
from tests.support.mail_auth import AUTH_OFF
from tests.support.outbox import address

JANE = "jane@example.com"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@dataclass
class Outcome:
    """What one row did: the last SMTP reply, and what changed in the database and spool."""

    code: int
    reply: str
    claims: list[tuple[Any, ...]]
    sent: list[tuple[str, str, dict[str, Any]]]
    evidence: int
    rejected: int


class Listener:
    """The spooling listener on a background loop, the worker drained by hand."""

    def __init__(self, service: ClaimsService, directory: Path) -> None:
        self.service = service
        self.spool = MailSpool(directory)
        self.worker = SpoolWorker(service, self.spool, max_attachments=10, auth=AUTH_OFF)
        handler = ClaimMailHandler(
            service, [CLAIMS_ADDRESS], spool=self.spool, max_attachments=10, auth=AUTH_OFF
        )
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = self.call(
            start_smtp(service, "127.0.0.1", self.port, hostname="t", handler=handler)
        )

    def call(self, coroutine: Any) -> Any:
        """Run ``coroutine`` on the listener's loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)

    def close(self) -> None:
        """Stop listening and end the loop."""

        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()

        self.call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows ``sql`` selects."""
        with self.service.engine.connect() as connection:
            return [tuple(r) for r in connection.execute(text(sql))]

    def observe(self, action: Callable[[Listener], tuple[int, str]]) -> Outcome:
        """Run ``action``, drain the spool, and say what changed."""
        claims = len(self.rows("SELECT id FROM claim"))
        sent = len(self.rows("SELECT id FROM outbox WHERE channel = 'email'"))
        evidence = len(self.rows("SELECT id FROM evidence_file"))
        rejected = len(list(self.spool.rejected.iterdir()))
        code, reply = action(self)
        self.worker.drain()
        assert self.spool.waiting() == [], "a spooled mail was not handled"
        outbox = [
            (address(self.service.engine, "email", r), t, p)
            for r, t, p in self.rows(
                "SELECT recipient, template, payload FROM outbox WHERE channel = 'email' "
                "ORDER BY id"
            )
        ]
        return Outcome(
            code,
            reply,
            self.rows("SELECT id, source_key, raw_text, title FROM claim ORDER BY id")[claims:],
            [(r, t, p if isinstance(p, dict) else json.loads(p)) for r, t, p in outbox][sent:],
            len(self.rows("SELECT id FROM evidence_file")) - evidence,
            len(list(self.spool.rejected.iterdir())) - rejected,
        )


def deliver(
    raw: bytes,
    *,
    mail_from: str = JANE,
    rcpt: str = CLAIMS_ADDRESS,
    options: tuple[str, ...] = (),
) -> Callable[[Listener], tuple[int, str]]:
    """One SMTP transaction; the reply to the last command that was answered."""

    def action(listener: Listener) -> tuple[int, str]:
        with smtplib.SMTP("127.0.0.1", listener.port, timeout=60) as client:
            client.ehlo("client.example")
            code, reply = client.mail(mail_from, list(options))
            if code != 250:
                return code, reply.decode()
            code, reply = client.rcpt(rcpt)
            if code != 250:
                return code, reply.decode()
            code, reply = client.data(raw)
            return code, reply.decode()

    return action


def mime(*parts: bytes, subject: bytes = b"CPD claim", sender: bytes = JANE.encode()) -> bytes:
    """A multipart/mixed mail with raw ``parts`` (each with its own headers)."""
    body = b"".join(b"--b\r\n" + p + b"\r\n" for p in parts) + b"--b--\r\n"
    return (
        b"From: " + sender + b"\r\nTo: claims@example.com\r\nSubject: " + subject + b"\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + body
    )


TEXT_PART = b"Content-Type: text/plain\r\n\r\nBoat show yesterday, 3 hours"


def attachment(data: bytes, name: str, kind: str = "image/png") -> bytes:
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (
        f'Content-Type: {kind}\r\nContent-Disposition: attachment; filename="{name}"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + encoded


def plain(body: bytes, *, sender: bytes = JANE.encode(), extra: bytes = b"") -> bytes:
    return (
        b"From: " + sender + b"\r\nTo: claims@example.com\r\nSubject: CPD claim\r\n" + extra
        + b"\r\n" + body + b"\r\n"
    )  # fmt: skip


def too_many_sessions(listener: Listener) -> tuple[int, str]:
    """Eight sessions open (the cap), then a ninth connection."""
    clients = [smtplib.SMTP("127.0.0.1", listener.port, timeout=30) for _ in range(8)]
    try:
        with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as sock:
            greeting = sock.recv(200).decode()
            closed = sock.recv(10) == b""
        assert closed, "the ninth connection was not closed"
        return int(greeting[:3]), greeting[4:].strip()
    finally:
        for client in clients:
            client.close()


def twice(raw: bytes) -> Callable[[Listener], tuple[int, str]]:
    def action(listener: Listener) -> tuple[int, str]:
        first = deliver(raw)(listener)
        assert first[0] == 250
        listener.worker.drain()
        return deliver(raw)(listener)

    return action


def same_activity_twice(listener: Listener) -> tuple[int, str]:
    """Two mails (two Message-IDs) claiming the same boat show: the second is a duplicate."""
    first = deliver(good())(listener)
    assert first[0] == 250
    listener.worker.drain()
    return deliver(good())(listener)


def stranger_twice(listener: Listener) -> tuple[int, str]:
    for n in range(2):
        raw = as_bytes(make_mail(f"Course {n}, 2 hours", sender="bob@elsewhere.org"))
        code, reply = deliver(raw, mail_from="bob@elsewhere.org")(listener)
    return code, reply


def data_before_rcpt(listener: Listener) -> tuple[int, str]:
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=30) as client:
        client.ehlo("x")
        client.mail(JANE)
        code, reply = client.docmd("DATA")
        return code, reply.decode()


def mail_before_helo(listener: Listener) -> tuple[int, str]:
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=30) as client:
        code, reply = client.docmd("MAIL FROM:<jane@example.com>")
        return code, reply.decode()


def good() -> bytes:
    """A fresh claim mail (its own Message-ID)."""
    return as_bytes(make_mail("Boat show yesterday, 3 hours"))


BIG = b"x" * 998 + b"\r\n"


@dataclass
class Row:
    """Input, then the expected answer: SMTP code and text, claims made, mail queued."""

    name: str
    action: Callable[[Listener], tuple[int, str]]
    code: int
    reply: str = ""
    claims: int = 0
    sent: tuple[str, ...] = ()
    """(template to recipient) queued, e.g. ``receipt:jane@example.com``."""
    check: Callable[[Outcome], object] | None = field(default=None, repr=False)


def _text(outcome: Outcome) -> str:
    return outcome.claims[0][2]


ROWS = [
    Row("a plain claim", deliver(good()), 250, "OK", 1, (f"receipt:{JANE}",)),
    Row("no From header", deliver(b"To: claims@example.com\r\nSubject: x\r\n\r\nBoat show\r\n"),
        550, "5.6.0 Malformed message: the mail has no usable From address"),
    Row("From without an address", deliver(plain(b"Course, 2 hours", sender=b"Jane Surveyor")),
        550, "no usable From address"),
    Row("an empty message", deliver(b""), 550, "5.6.0"),
    Row("headers only, nothing parseable as a From", deliver(b"\r\n\r\n"), 550, "5.6.0"),
    Row("From longer than any address column",
        deliver(plain(b"Course", sender=b"a" * 400 + b"@x.org")), 550, "no usable From address"),
    Row("forged-looking display name: the address counts (answered at the envelope)",
        deliver(plain(b"Course, 2 hours", sender=b'"jane@example.com" <mallory@evil.example>'),
                mail_from="mallory@evil.example"),
        250, "OK", 0, ("unknown_sender:mallory@evil.example",)),
    Row("envelope sender differs from the From header: the header's member claims",
        deliver(good(), mail_from="relay@lists.example"), 250, "OK", 1, (f"receipt:{JANE}",)),
    Row("a sender who is not a member: one polite reply",
        deliver(plain(b"Course, 2 hours", sender=b"bob@elsewhere.org"),
                mail_from="bob@elsewhere.org"), 250, "OK", 0,
        ("unknown_sender:bob@elsewhere.org",)),
    Row("the same stranger twice a day: one reply only", stranger_twice, 250, "OK", 0,
        ("unknown_sender:bob@elsewhere.org",)),
    Row("a bounce (MAIL FROM:<>) from a mailer daemon: no answer",
        deliver(plain(b"Delivery failed", sender=b"MAILER-DAEMON@mx.example"), mail_from=""),
        250, "OK", 0, ()),
    Row("a bounce (MAIL FROM:<>) from a stranger address: no answer",
        deliver(plain(b"Undeliverable", sender=b"postmaster@mx.example"), mail_from=""),
        250, "OK", 0, ()),
    Row("an auto-reply (Auto-Submitted) from a stranger: no answer",
        deliver(plain(b"I am away", sender=b"bob@elsewhere.org",
                      extra=b"Auto-Submitted: auto-replied\r\n")), 250, "OK", 0, ()),
    Row("list mail (Precedence: bulk) from a stranger: no answer",
        deliver(plain(b"Newsletter", sender=b"news@list.example", extra=b"Precedence: bulk\r\n")),
        250, "OK", 0, ()),
    Row("a message over 25 MB", deliver(plain(BIG * 26_500)), 552, "Too much mail data"),
    Row("a line over 1000 characters", deliver(plain(b"y" * 1200)), 500, "Line too long"),
    Row("an unknown recipient", deliver(good(), rcpt="someone@example.com"), 550,
        "5.1.1 <someone@example.com>: no such recipient here"),
    Row("relaying to another domain", deliver(good(), rcpt="victim@elsewhere.org"), 550,
        "no such recipient"),
    Row("a ninth session while eight are open", too_many_sessions, 421,
        "4.7.0 Too many connections, try again later"),
    Row("DATA before RCPT", data_before_rcpt, 503, "need RCPT"),
    Row("MAIL before EHLO", mail_before_helo, 503, "HELO first"),
    Row("a malformed MAIL FROM address", deliver(good(), mail_from="<<<@>>>"), 553,
        "malformed address"),
    Row("an emoji-only mail from a member: told there is nothing to claim",
        deliver(plain("🎉🎉🎉".encode(), extra=b"Content-Type: text/plain; charset=utf-8\r\n")
                .replace(b"Subject: CPD claim", "Subject: 🎉".encode())),
        250, "OK", 0, (f"reply:{JANE}",)),
    Row("NUL bytes in subject and body: stored without them",
        deliver(plain(b"Boat\x00 show, 3 hours").replace(b"CPD claim", b"CPD\x00claim")),
        250, "OK", 1, (f"receipt:{JANE}",), lambda o: "\x00" not in _text(o)),
    Row("raw UTF-8 From without SMTPUTF8 (jörg@exämple.de): stored, receipt to jörg",
        deliver(plain(b"Course, 2 hours", sender="Jörg <jörg@exämple.de>".encode())),
        250, "OK", 1, ("receipt:jörg@exämple.de",)),
    Row("a Latin-1 byte in the From address (not UTF-8): no usable sender",
        deliver(plain(b"Course, 2 hours", sender=b"j\xf6rg@example.de")), 550,
        "no usable From address"),
    Row("a NUL inside the From address: removed, the member claims",
        deliver(plain(b"Course, 2 hours", sender=b"ja\x00ne@example.com")), 250, "OK", 1,
        (f"receipt:{JANE}",)),
    Row("SMTPUTF8 envelope and EAI address",
        deliver(plain(b"Course, 2 hours", sender="jörg@exämple.de".encode()),
                mail_from="jörg@exämple.de", options=("SMTPUTF8",)),
        250, "OK", 1, ("receipt:jörg@exämple.de",)),
    Row("invalid UTF-8 bytes in the subject: replaced, stored",
        deliver(plain(b"Course, 2 hours").replace(b"CPD claim", b"CPD \xff\xfe claim")),
        250, "OK", 1, (f"receipt:{JANE}",)),
    Row("lone CR in the body: read as a line break",
        deliver(plain(b"Boat show\rthree hours\r3 hours")), 250, "OK", 1, (f"receipt:{JANE}",),
        lambda o: "\r" not in _text(o)),
    Row("a folded 6,000-character subject: cut, stored",
        deliver(plain(b"Course, 2 hours").replace(b"CPD claim", b"\r\n ".join([b"w" * 900] * 7))),
        250, "OK", 1, (f"receipt:{JANE}",), lambda o: len(o.sent[0][2]["subject"]) < 1000),
    Row("a Message-ID over 255 characters: hashed key",
        deliver(plain(b"Course, 2 hours", extra=b"Message-ID: <" + b"m" * 600 + b"@x>\r\n")),
        250, "OK", 1, (f"receipt:{JANE}",),
        lambda o: o.claims[0][1].startswith("email:sid-sha256:")),
    Row("twelve attachments: ten kept, the receipt names the two dropped",
        deliver(mime(TEXT_PART, *(attachment(PNG + bytes([n]), f"p{n}.png") for n in range(12)))),
        250, "OK", 1, (f"receipt:{JANE}",),
        lambda o: o.evidence == 10 and "not kept: p10.png, p11.png" in o.sent[0][2]["text"]),
    Row("a zero-byte attachment: claim stored without it",
        deliver(mime(TEXT_PART, attachment(b"", "empty.png"))), 250, "OK", 1,
        (f"receipt:{JANE}",), lambda o: o.evidence == 0),
    Row("a calendar invite attached: not evidence",
        deliver(mime(TEXT_PART, attachment(b"BEGIN:VCALENDAR", "x.ics", "text/calendar"))),
        250, "OK", 1, (f"receipt:{JANE}",), lambda o: o.evidence == 0),
    Row("a JPEG attachment: kept as evidence",
        deliver(mime(TEXT_PART, attachment(JPEG, "cert.jpg", "image/jpeg"))), 250, "OK", 1,
        (f"receipt:{JANE}",), lambda o: o.evidence == 1),
    Row("a broken PDF: kept, no text read from it",
        deliver(mime(TEXT_PART, attachment(b"%PDF-1.4 garbage", "c.pdf", "application/pdf"))),
        250, "OK", 1, (f"receipt:{JANE}",), lambda o: o.evidence == 1),
    Row("bad base64 in an attachment: the claim is stored",
        deliver(mime(TEXT_PART, b"Content-Type: image/png\r\nContent-Disposition: attachment; "
                     b"filename=b.png\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!@@@###")),
        250, "OK", 1, (f"receipt:{JANE}",)),
    Row("a broken MIME boundary: the text is read",
        deliver(plain(b"--zz\r\nBoat show, 3 hours\r\n--zz",
                      extra=b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n")),
        250, "OK", 1, (f"receipt:{JANE}",)),
    Row("an HTML-only body",
        deliver(plain(b"<p>Boat show, <b>3 hours</b></p>", extra=b"Content-Type: text/html\r\n")),
        250, "OK", 1, (f"receipt:{JANE}",), lambda o: "3 hours" in _text(o)),
    Row("a file name with control characters and 300 characters",
        deliver(mime(TEXT_PART, attachment(PNG, "a\x07b" + "n" * 300 + ".png"))), 250, "OK", 1,
        (f"receipt:{JANE}",), lambda o: o.evidence == 1),
    Row("the same Message-ID delivered twice: one claim", twice(good()), 250, "OK", 1,
        (f"receipt:{JANE}",)),
    Row("the same activity in two mails: the second waits, its receipt says duplicate",
        same_activity_twice, 250, "OK", 2, (f"receipt:{JANE}", f"duplicate:{JANE}"),
        lambda o: o.claims[1][2] == o.claims[0][2]),
    Row("identical bytes without Message-ID twice: one claim",
        twice(plain(b"Webinar, 2 hours")), 250, "OK", 1, (f"receipt:{JANE}",)),
    Row("a 20 MB photo: stored as evidence",
        deliver(mime(TEXT_PART, attachment(b"\xff\xd8" + b"j" * 15_000_000, "big.jpg",
                                           "image/jpeg"))),
        250, "OK", 1, (f"receipt:{JANE}",), lambda o: o.evidence == 1),
]  # fmt: skip


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with the members, copied for each row."""
    from cpd.storage import make_engine, migrate

    path = tmp_path_factory.mktemp("bad-input-template") / "cpd.sqlite3"
    engine: Engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    extra = "M2,Jörg Prüfer,jörg@exämple.de,iims,member,2020-01-01,member\n"
    import_members(engine, parse_members_csv(MEMBERS + extra, "iims"))
    engine.dispose()
    return path


@pytest.fixture
def listener(migrated: Path, tmp_path: Path) -> Iterator[Listener]:
    """A listener on a database of its own: each row is independent of the others (the same
    claim text sent by one member in two rows would otherwise be answered as a duplicate)."""
    from cpd.storage import make_engine

    shutil.copyfile(migrated, tmp_path / "cpd.sqlite3")
    engine: Engine = make_engine(f"sqlite:///{tmp_path / 'cpd.sqlite3'}")
    service = ClaimsService(
        engine, StubExtractor(), tmp_path / "evidence", zoneinfo.ZoneInfo("Europe/London"), -1
    )
    running = Listener(service, tmp_path / "spool")
    yield running
    running.close()
    engine.dispose()


def test_the_table_has_enough_rows() -> None:
    assert len(ROWS) >= 35
    assert len({row.name for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_bad_input(listener: Listener, row: Row) -> None:
    outcome = listener.observe(row.action)
    assert (outcome.code, row.reply in outcome.reply) == (row.code, True), outcome.reply
    assert len(outcome.claims) == row.claims
    assert tuple(f"{t}:{r}" for r, t, _ in outcome.sent) == row.sent
    if row.check is not None:
        assert row.check(outcome), outcome
    assert dt.datetime.now(dt.UTC)  # (the table runs on the real clock)
