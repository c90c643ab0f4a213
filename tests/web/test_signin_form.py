"""The "mail me a sign-in link" form against a real server, on SQLite and PostgreSQL: the link
goes through the outbox to the registered address only, the page says the same for any
address, and the asks are limited per address and per client, in the database (so two
instances share the counts)."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy import select
from sqlmodel import Session, col

from cpd.claims.notifications import Notification
from cpd.mail_ingest.outbound import compose
from cpd.storage import OutboxMessage
from tests.support.outbox import address_of
from tests.web.conftest import Web, serve

SENT = "If that address is registered"
LINK = re.compile(r"http://127\.0\.0\.1/signin/([A-Za-z0-9_-]{20,})")


def mails(web: Web) -> list[OutboxMessage]:
    with Session(web.service.engine) as session:
        query = select(OutboxMessage).where(col(OutboxMessage.dedup_key).startswith("web-signin:"))
        return list(session.execute(query).scalars())


def test_a_registered_address_gets_a_link_by_mail_that_signs_in_once(web: Web) -> None:
    client = web.client()
    answer = client.post("/signin", data={"email": "  Jane@Example.COM "})
    assert answer.status_code == 200 and SENT in answer.text
    [mail] = mails(web)
    to = address_of(web.service.engine, mail)
    assert mail.channel == "email" and to == "jane@example.com"
    # what the mail sender makes of it: a plain mail to that address, carrying the link
    message = compose(
        Notification(1, mail.channel, mail.recipient, mail.template, mail.payload, 0),
        "cpd@example.org",
        to,
    )
    assert message["To"] == "jane@example.com" and message["Subject"] == "Your sign-in link"
    found = LINK.search(message.get_content())
    assert found, message.get_content()
    signed = client.get(f"/signin/{found.group(1)}")
    assert signed.status_code == 303
    assert client.get("/api/me").json()["membership_no"] == "M1"
    again = web.client().get(f"/signin/{found.group(1)}")
    assert again.status_code == 401 and "used already" in again.text
    assert 'action="/signin"' in again.text  # the refusal page offers the form again


def test_an_unknown_address_gets_the_same_words_and_no_mail(web: Web) -> None:
    known = web.client().post("/signin", data={"email": "sam@example.com"})
    unknown = web.client().post("/signin", data={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert [address_of(web.service.engine, m) for m in mails(web)] == ["sam@example.com"]


def test_a_mailed_link_expires_after_fifteen_minutes(web: Web) -> None:
    web.client().post("/signin", data={"email": "sue@example.com"})
    [mail] = mails(web)
    found = LINK.search(mail.payload["text"])
    assert found
    web.clock.now += dt.timedelta(minutes=15, seconds=1)
    late = web.client().get(f"/signin/{found.group(1)}")
    assert late.status_code == 401 and "expired" in late.text


def test_not_an_address_is_422_naming_the_field(web: Web) -> None:
    for bad in ({"email": "jane"}, {"email": ""}, {}):
        answer = web.client().post("/signin", data=bad)
        assert answer.status_code == 422 and "email" in answer.text, bad
    assert mails(web) == []


def test_three_links_an_hour_per_address_shared_by_every_instance(web: Web) -> None:
    other = serve(web.service)  # a second instance on the same database
    try:
        first = web.client()
        second = httpx.Client(base_url=other.url, timeout=20)
        web.clients.append(second)
        answers = [
            (first if n % 2 else second).post("/signin", data={"email": "jane@example.com"})
            for n in range(4)
        ]
    finally:
        other.close()
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "Too many" in answers[3].text
    assert len(mails(web)) == 3
    # an unregistered address is limited alike (the limit tells nothing about registration)
    strangers = [
        web.client().post("/signin", data={"email": "x@example.com"}).status_code for _ in range(4)
    ]
    assert strangers == [200, 200, 200, 429]
    web.clock.now += dt.timedelta(hours=1, seconds=1)
    later = web.client().post("/signin", data={"email": "jane@example.com"})
    assert later.status_code == 200 and len(mails(web)) == 4


def test_twenty_asks_an_hour_per_client(web: Web) -> None:
    client = web.client()
    codes = [
        client.post("/signin", data={"email": f"n{n}@example.com"}).status_code for n in range(21)
    ]
    assert codes == [200] * 20 + [429]
    assert client.post("/signin", data={"email": "jane@example.com"}).status_code == 429
    assert mails(web) == []


def test_the_sign_in_form_and_a_signed_in_visit(web: Web) -> None:
    form = web.client().get("/signin")
    assert form.status_code == 200 and 'name="email"' in form.text
    assert "CPD Claims Assistant" in form.text  # the body's name on the page
    member = web.signed_in("M1").get("/signin")
    assert member.status_code == 303 and member.headers["location"] == "/me"
