"""The SMTP spool in-process: ``250`` after an fsynced file, stored exactly once behind it.

A real aiosmtpd server on a loop in a background thread, smtplib as the client, the real
claims service on SQLite; the spool is a directory under ``tmp_path``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import smtplib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from cpd.claims.service import ClaimsService
from cpd.mail_ingest.envelope import split_envelope
from cpd.mail_ingest.smtp_server import (
    ClaimMailHandler,
    MailSpool,
    SpoolWorker,
    start_smtp,
    with_return_path,
)
from tests.mail_ingest.support_servers import (
    JPEG,
    as_bytes,
    free_port,
    make_mail,
    send,
    wait_until,
)
from tests.mail_ingest.test_smtp_server import FlakyService
from tests.support.mail_auth import AUTH_OFF


class Spooled:
    """A spooling listener and its worker on a loop in a background thread."""

    def __init__(self, service: ClaimsService, directory: Path, start_worker: bool = True):
        self.spool = MailSpool(directory)
        self.worker = SpoolWorker(
            service, self.spool, backoff_initial=0.1, backoff_max=0.5, auth=AUTH_OFF
        )
        self.handler = ClaimMailHandler(
            service, spool=self.spool, on_spooled=self.worker.wake, auth=AUTH_OFF
        )
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = self.call(
            start_smtp(service, "127.0.0.1", self.port, hostname="t", handler=self.handler)
        )
        self.task: asyncio.Task[None] | None = None
        if start_worker:
            self.start_worker()

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def start_worker(self) -> None:
        async def start() -> None:
            self.task = asyncio.create_task(self.worker.run())

        self.call(start())

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()
            if self.task is not None:
                self.task.cancel()
                await asyncio.gather(self.task, return_exceptions=True)

        self.call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def spooled(service: ClaimsService, tmp_path: Path) -> Iterator[Spooled]:
    running = Spooled(service, tmp_path / "spool")
    yield running
    running.close()


def claims(service: ClaimsService) -> list[tuple[Any, ...]]:
    with service.engine.connect() as connection:
        return list(connection.execute(text("SELECT id, source_key FROM claim ORDER BY id")))


def test_250_means_a_durable_file_then_a_claim(service: ClaimsService, tmp_path: Path) -> None:
    running = Spooled(service, tmp_path / "spool", start_worker=False)
    try:
        mail = make_mail("Boat show, 3 hours", attachments=((JPEG, "image/jpeg", "a.jpg"),))
        send(running.port, mail)
        (waiting,) = running.spool.waiting()
        # the message as delivered: the SMTP envelope line, the envelope sender recorded as
        # Return-Path, then the mail
        envelope, spooled = split_envelope(waiting.read_bytes())
        assert envelope is not None and envelope.mail_from == "jane@example.com"
        assert envelope.client_ip == "127.0.0.1"
        assert spooled == with_return_path(as_bytes(mail), "jane@example.com")
        assert claims(service) == []
        running.start_worker()
        wait_until(lambda: claims(service), what="the claim")
        assert running.spool.waiting() == []
        assert claims(service)[0][1] == f"email:jane@example.com:{mail['Message-ID']}"
    finally:
        running.close()


def test_a_sender_without_an_address_is_refused_before_spooling(spooled: Spooled) -> None:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(spooled.port, b"Subject: nobody\r\n\r\nBoat show, 3 hours\r\n")
    assert refused.value.smtp_code == 550 and b"5.6.0" in refused.value.smtp_error
    assert spooled.spool.waiting() == []


def test_files_left_by_a_crash_are_stored_once(service: ClaimsService, tmp_path: Path) -> None:
    spool = MailSpool(tmp_path / "spool")
    first, second = make_mail("Webinar, 2 hours"), make_mail("Course, 4 hours")
    now = dt.datetime.now(dt.UTC)
    spool.put(as_bytes(first), now)
    spool.put(as_bytes(first), now)  # the sender retried after the crash ate our 250
    spool.put(as_bytes(second), now)
    worker = SpoolWorker(service, spool, auth=AUTH_OFF)
    assert worker.drain() == 3
    assert spool.waiting() == []
    assert [c[1] for c in claims(service)] == [
        f"email:jane@example.com:{first['Message-ID']}",  # the sender's key (issue 10)
        f"email:jane@example.com:{second['Message-ID']}",
    ]
    # a crash after the commit but before the file was deleted: handed over again, no new claim
    spool.put(as_bytes(second), now)
    assert worker.drain() == 1
    assert len(claims(service)) == 2


def test_a_database_outage_delays_the_claim_but_loses_nothing(
    service: ClaimsService, tmp_path: Path
) -> None:
    flaky = FlakyService(service.engine, service.extractor, service.evidence_dir, service.zone)
    flaky.failures = 3
    running = Spooled(flaky, tmp_path / "spool")
    try:
        send(running.port, make_mail("Conference, 6 hours"))  # accepted: it is on disk
        wait_until(lambda: claims(service), timeout=20, what="the claim after the outage")
        assert flaky.failures == 0
        assert running.spool.waiting() == []
        assert len(claims(service)) == 1
    finally:
        running.close()


def test_mail_the_parser_cannot_read_is_set_aside(service: ClaimsService, tmp_path: Path) -> None:
    spool = MailSpool(tmp_path / "spool")
    spool.put(b"\r\n\r\n", dt.datetime.now(dt.UTC))
    assert SpoolWorker(service, spool, auth=AUTH_OFF).drain() == 1
    assert spool.waiting() == []
    assert len(list(spool.rejected.iterdir())) == 1
    assert claims(service) == []
