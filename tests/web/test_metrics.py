"""``/metrics`` against a real server on SQLite and PostgreSQL: the exposition parses, its
numbers are the database's and move when claims and the outbox change, and only loopback or
the configured bearer token may scrape."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from cpd.claims import ops_metrics
from cpd.claims.web_access import create_link
from cpd.web.app import create_app
from cpd.web.config import WebConfig
from tests.web.conftest import ServerThread, Web
from tests.web.test_api import pending_claim

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: httpx.Client, **headers: str) -> Samples:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    found: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_numbers_are_the_databases_and_move_with_the_claims(web: Web) -> None:
    scraper = web.client()
    before = scrape(scraper)
    assert value(before, "cpd_claims", status="pending", channel="web") == 0
    jane = web.signed_in("M1")
    first, second = pending_claim(web, jane), pending_claim(web, jane, "webinar 2 hours")
    during = scrape(scraper)
    assert value(during, "cpd_claims", status="pending", channel="web") == 2
    queued = value(during, "cpd_outbox_messages", channel="telegram", status="pending")
    assert queued >= 2  # the receipts and the secretaries' cards wait in the outbox
    assert value(during, "cpd_outbox_oldest_pending_age_seconds", channel="telegram") >= 0
    sam = web.signed_in("S1")
    sam.post(f"/api/claims/{first}/decision", json={"action": "accept"})
    sam.post(f"/api/claims/{second}/decision", json={"action": "decline", "reason": "no"})
    after = scrape(scraper)
    assert value(after, "cpd_claims", status="pending", channel="web") == 0
    assert value(after, "cpd_claims", status="accepted", channel="web") == 1
    assert value(after, "cpd_claims", status="declined", channel="web") == 1
    assert value(after, "cpd_outbox_messages", channel="telegram", status="pending") > queued
    # a delivery moves a message from pending to sent
    [due] = web.service.due_notifications("telegram", 1)
    web.service.delivered(due)
    delivered = scrape(scraper)
    assert value(delivered, "cpd_outbox_messages", channel="telegram", status="sent") == 1


def test_mail_refused_at_smtp_time_is_counted_in_the_process(web: Web) -> None:
    before = value(scrape(web.client()), "cpd_smtp_refused_total", reason="recipient")
    ops_metrics.smtp_refused("recipient")
    after = value(scrape(web.client()), "cpd_smtp_refused_total", reason="recipient")
    assert after == before + 1


def test_only_loopback_or_the_token_may_scrape(web: Web) -> None:
    config = WebConfig("127.0.0.1", 0, "http://127.0.0.1", "k" * 48, metrics_token="s3cret-t0ken")
    server = ServerThread(create_app(web.service, config))
    far = {"X-Forwarded-For": "203.0.113.9"}  # uvicorn believes it from 127.0.0.1 only
    try:
        with httpx.Client(base_url=server.url, timeout=20) as client:
            assert client.get("/metrics").status_code == 200
            refused = client.get("/metrics", headers=far)
            assert refused.status_code == 403 and "cpd_claims" not in refused.text
            wrong = client.get("/metrics", headers=far | {"Authorization": "Bearer nope"})
            assert wrong.status_code == 403
            assert "s3cret" not in wrong.text
            scrape(client, **far, Authorization="Bearer s3cret-t0ken")
            # a session is no substitute for the token
            token, _ = create_link(web.service.engine, "S1", now=web.clock())
            client.get(f"/signin/{token}")
            assert client.get("/metrics", headers=far).status_code == 403
    finally:
        server.close()
    # and without a token configured, nobody from outside
    assert web.client().get("/metrics", headers=far).status_code == 403


def test_inbound_mail_accepted_and_refused(web: Web) -> None:
    from cpd.storage import ProcessedMessage, transaction

    with transaction(web.service.engine) as session:
        for n, outcome in enumerate(("claimed", "claimed", "impersonation", "unknown_sender")):
            session.add(ProcessedMessage(key=f"mail:{n}", channel="email", outcome=outcome))
        session.add(ProcessedMessage(key="tg:1", channel="telegram", outcome="handled"))
    found = scrape(web.client())
    assert value(found, "cpd_inbound_mail", result="accepted", outcome="claimed") == 2
    assert value(found, "cpd_inbound_mail", result="refused", outcome="impersonation") == 1
    assert value(found, "cpd_inbound_mail", result="refused", outcome="unknown_sender") == 1
    assert not any(
        name == "cpd_inbound_mail" and ("outcome", "handled") in labels for name, labels in found
    )
