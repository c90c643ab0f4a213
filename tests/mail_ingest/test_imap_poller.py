"""The IMAP poller against a real IMAP server (pymap, maildir backend) on 127.0.0.1.

The poller runs in-process on the real claims service (``service`` fixture); pymap is a
subprocess that keeps its mailbox on disk, so it can be stopped and started mid-run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import threading
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from cpd.claims.members import import_members, parse_members_csv
from cpd.claims.service import ClaimsService
from cpd.mail_ingest.imap_poller import ImapPoller, ImapUrlError, parse_imap_url
from cpd.storage import make_engine, migrate
from tests.conftest import _fresh_postgres_database
from tests.mail_ingest.conftest import MEMBERS
from tests.mail_ingest.support_servers import (
    IMAP_PASSWORD,
    JPEG,
    PymapServer,
    make_mail,
    pymap_available,
    wait_until,
)
from tests.support.extractor import StubExtractor
from tests.support.mail_auth import AUTH_OFF

pytestmark = pytest.mark.skipif(
    not pymap_available() and os.environ.get("CI") != "true",
    reason="pymap is not installed (pip install pymap)",
)


@pytest.fixture
def imap(tmp_path: Path) -> Iterator[PymapServer]:
    """A pymap server with one user, claims@example.com, and an empty INBOX."""
    with PymapServer.running(tmp_path / "imap") as server:
        yield server


class Running:
    """A poller running on an event loop in a background thread, as in `cpd run`."""

    def __init__(self, poller: ImapPoller) -> None:
        self.poller = poller
        self.loop = asyncio.new_event_loop()
        self.task: asyncio.Task[None] | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        started = threading.Event()

        def begin() -> None:
            self.task = self.loop.create_task(poller.run())
            started.set()

        self.loop.call_soon_threadsafe(begin)
        started.wait(5)

    def stop(self) -> None:
        """Cancel the task (which waits for the worker thread) and end the loop."""

        async def cancel() -> None:
            assert self.task is not None
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def poller_for(service: ClaimsService, imap: PymapServer, **options: Any) -> ImapPoller:
    defaults: dict[str, Any] = {
        "backoff_initial": 0.2,
        "backoff_max": 1.0,
        "stop_check": 0.2,
        "auth": AUTH_OFF,
    }
    return ImapPoller(service, parse_imap_url(imap.url), **{**defaults, **options})


def claims(service: ClaimsService) -> list[tuple[Any, ...]]:
    with service.engine.connect() as connection:
        return list(connection.execute(text("SELECT id, source_key, status FROM claim")))


def processed_keys(service: ClaimsService) -> list[str]:
    with service.engine.connect() as connection:
        return [
            row[0]
            for row in connection.execute(text("SELECT key FROM processed_message ORDER BY key"))
        ]


def test_imap_url_parsing_never_shows_the_password() -> None:
    account = parse_imap_url("imaps://claims%40example.org:p%40ss@mail.example.org/Claims")
    assert (account.host, account.port, account.ssl) == ("mail.example.org", 993, True)
    assert (account.username, account.password) == ("claims@example.org", "p@ss")
    assert account.folder == "Claims" and account.processed_folder == "Processed"
    assert "p@ss" not in repr(account) and "p@ss" not in str(account)
    assert str(account) == "imaps://claims@example.org@mail.example.org:993/Claims"
    plain = parse_imap_url("imap://u:pw@127.0.0.1:10143/?processed=Done")
    assert (plain.port, plain.folder, plain.processed_folder) == (10143, "INBOX", "Done")
    for bad in ("http://u:p@h/", "imap://h/INBOX", "imap://u@h/", "imap://u:p@h:99999/"):
        with pytest.raises(ImapUrlError) as error:
            parse_imap_url(bad)
        assert "p@" not in str(error.value)


def test_messages_waiting_are_claimed_then_marked_and_moved(
    service: ClaimsService, imap: PymapServer
) -> None:
    imap.append(
        make_mail("Boat show yesterday, 3 hours", attachments=((JPEG, "image/jpeg", "a.jpg"),)),
        make_mail("Webinar on corrosion, 2 hours"),
        make_mail("Hello, I'd like to claim", sender="stranger@elsewhere.net"),
    )
    running = Running(poller_for(service, imap))
    try:
        wait_until(lambda: imap.count("Processed") == 3, what="3 messages in Processed")
    finally:
        running.stop()
    assert len(claims(service)) == 2  # the stranger got a reply, not a claim
    assert imap.count("INBOX") == 0
    assert all(b"\\Seen" in flags for flags in imap.flags("Processed"))
    keys = processed_keys(service)
    assert sum(k.startswith("imap:") for k in keys) == 3
    assert sum(k.startswith("email:") for k in keys) == 3


def test_idle_picks_up_new_mail_without_waiting_for_a_poll(
    service: ClaimsService, imap: PymapServer
) -> None:
    poller = poller_for(service, imap, poll_interval=3600)
    running = Running(poller)
    try:
        wait_until(lambda: poller.connections == 1, what="the poller to connect")
        imap.append(make_mail("Course on surveying, 5 hours"))
        wait_until(lambda: len(claims(service)) == 1, timeout=10, what="the claim")
        imap.append(make_mail("Conference in Southampton, 6 hours"))
        wait_until(lambda: len(claims(service)) == 2, timeout=10, what="the second claim")
    finally:
        running.stop()


def test_without_idle_it_polls(service: ClaimsService, imap: PymapServer) -> None:
    poller = poller_for(service, imap, use_idle=False, poll_interval=0.3)
    running = Running(poller)
    try:
        wait_until(lambda: poller.connections == 1, what="the poller to connect")
        imap.append(make_mail("Course on surveying, 5 hours"))
        wait_until(lambda: imap.count("Processed") == 1, timeout=10, what="the message filed")
    finally:
        running.stop()
    assert len(claims(service)) == 1


def test_a_claim_committed_before_a_crash_is_not_claimed_again(
    service: ClaimsService, imap: PymapServer
) -> None:
    imap.append(make_mail("Boat show, 3 hours"))
    poller = poller_for(service, imap)
    client = imap.client()
    try:  # the crash: stored, but the message was neither flagged nor moved
        uidvalidity = client.select_folder("INBOX")[b"UIDVALIDITY"]
        uid = client.search(["ALL"])[0]
        raw = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
        poller.store(raw, dt.datetime.now(dt.UTC), f"imap:{uidvalidity}:{uid}")
    finally:
        client.logout()
    assert len(claims(service)) == 1
    running = Running(poller)
    try:
        wait_until(lambda: imap.count("Processed") == 1, what="the message filed")
    finally:
        running.stop()
    assert len(claims(service)) == 1


def test_without_move_it_copies_deletes_and_expunges(
    service: ClaimsService, imap: PymapServer
) -> None:
    imap.append(make_mail("Read an article on rigging, 1 hour"), make_mail("Lecture, 2 hours"))
    poller = poller_for(service, imap)
    client = imap.client()
    try:
        client.create_folder("Processed")
        uidvalidity = client.select_folder("INBOX")[b"UIDVALIDITY"]
        capabilities = set(client.capabilities()) - {b"MOVE"}
        assert poller.handle_new(client, uidvalidity, capabilities) == 2
    finally:
        client.logout()
    assert imap.count("INBOX") == 0
    assert imap.count("Processed") == 2
    assert len(claims(service)) == 2


def test_the_poller_reconnects_after_a_server_restart_and_doubles_nothing(
    service: ClaimsService, imap: PymapServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cpd.mail_ingest")
    imap.append(make_mail("Boat show, 3 hours"), make_mail("Webinar, 2 hours"))
    poller = poller_for(service, imap)
    running = Running(poller)
    try:
        wait_until(lambda: len(claims(service)) == 2, what="the first two claims")
        imap.stop()
        # mail arrives while the server is down (it is delivered when it is back)
        later = [make_mail(f"Course number {n}, {n} hours") for n in range(1, 4)]
        imap.start()
        imap.append(*later)
        wait_until(lambda: len(claims(service)) == 5, timeout=30, what="all five claims")
        wait_until(lambda: imap.count("Processed") == 5, what="five messages filed")
        assert poller.connections >= 2
    finally:
        running.stop()
    rows = claims(service)
    assert len(rows) == len({r[1] for r in rows}) == 5
    assert imap.count("INBOX") == 0
    assert IMAP_PASSWORD not in caplog.text
    assert any("retrying in" in r.getMessage() for r in caplog.records)


def test_a_message_that_is_not_mail_is_flagged_and_left(
    service: ClaimsService, imap: PymapServer
) -> None:
    imap.append(b"Subject: no sender\r\n\r\nBoat show\r\n", make_mail("Webinar, 2 hours"))
    running = Running(poller_for(service, imap))
    try:
        wait_until(lambda: imap.count("Processed") == 1, what="the good message filed")
    finally:
        running.stop()
    assert len(claims(service)) == 1
    assert imap.count("INBOX") == 1
    assert b"\\Flagged" in imap.flags("INBOX")[0]


def test_wrong_password_is_retried_and_not_logged(
    service: ClaimsService, imap: PymapServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cpd.mail_ingest")
    url = imap.url.replace(IMAP_PASSWORD, "wrong-pw-123")
    poller = ImapPoller(
        service, parse_imap_url(url), backoff_initial=0.1, backoff_max=0.2, auth=AUTH_OFF
    )
    running = Running(poller)
    try:
        wait_until(lambda: caplog.text.count("retrying in") >= 2, what="two retries")
    finally:
        running.stop()
    assert "wrong-pw-123" not in caplog.text
    assert poller.connections == 0


def test_the_attachment_cap_holds_for_imap_mail_too(
    service: ClaimsService, imap: PymapServer
) -> None:
    photos = tuple((JPEG + bytes([n]), "image/jpeg", f"p{n}.jpg") for n in range(4))
    imap.append(make_mail("Boat show yesterday, 3 hours", attachments=photos))
    running = Running(poller_for(service, imap, max_attachments=2))
    try:
        wait_until(lambda: imap.count("Processed") == 1, what="the message in Processed")
    finally:
        running.stop()
    with service.engine.connect() as connection:
        kept = connection.execute(text("SELECT count(*) FROM evidence_file")).scalar_one()
    assert kept == 2  # the rest are named in the receipt, as for SMTP mail


@pytest.fixture
def pg_url(postgres_cluster: str) -> str:
    """A fresh PostgreSQL database (several instances need one; SQLite keeps to one)."""
    return _fresh_postgres_database(postgres_cluster)


def test_of_two_instances_one_polls_and_the_other_takes_over_when_it_stops(
    pg_url: str, imap: PymapServer, tmp_path: Path
) -> None:
    db_url, engine = pg_url, make_engine(pg_url)
    migrate(engine)
    import_members(engine, parse_members_csv(MEMBERS, "iims"))
    second = make_engine(db_url)
    services = [
        ClaimsService(e, StubExtractor(), tmp_path / "evidence", zoneinfo.ZoneInfo("Europe/London"))
        for e in (engine, second)
    ]
    pollers = [poller_for(s, imap, lock=s.instances.lock("imap"), lock_retry=0.3) for s in services]
    first = Running(pollers[0])
    wait_until(lambda: pollers[0].connections == 1, what="the first instance polling")
    other = Running(pollers[1])
    try:
        imap.append(make_mail("Webinar on corrosion, 2 hours"))
        wait_until(lambda: imap.count("Processed") == 1, what="the first mail handled")
        assert pollers[1].connections == 0  # it waits for its turn
        first.stop()
        wait_until(lambda: pollers[1].connections == 1, 15, what="the second taking over")
        imap.append(make_mail("Boat show yesterday, 3 hours"))
        wait_until(lambda: imap.count("Processed") == 2, what="the second mail handled")
    finally:
        other.stop()
        second.dispose()
        engine.dispose()
    assert (pollers[0].handled, pollers[1].handled) == (1, 1)
    assert len(claims(services[0])) == 2
