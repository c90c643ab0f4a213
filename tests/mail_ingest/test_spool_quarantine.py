"""The spool worker against the real claims service on SQLite and PostgreSQL.

What got a ``250`` is stored: hostile text (raw UTF-8 headers, NUL, lone CR, surrogates,
overlong headers) is normalised before the claims layer sees it. What still cannot be stored
(provoked for real with a database trigger that refuses it) is retried with backoff while the
mails behind it are stored, then quarantined in ``failed/``; an outage quarantines nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from cpd.claims.intake import Intake, MailOutcome
from cpd.claims.members import import_members, parse_members_csv
from cpd.claims.service import ClaimsService
from cpd.cli import app
from cpd.mail_ingest.spool import MailSpool
from cpd.mail_ingest.spool_worker import SpoolWorker
from tests.mail_ingest.conftest import MEMBERS
from tests.mail_ingest.support_servers import as_bytes, make_mail
from tests.support.extractor import StubExtractor
from tests.support.mail_auth import AUTH_OFF
from tests.support.outbox import address

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def any_service(engine: Engine, tmp_path: Path) -> ClaimsService:
    """The claims service on each backend, with Jane (jane@example.com) and Jörg as members."""
    extra = "M2,Jörg Prüfer,jörg@exämple.de,iims,member,2020-01-01,member\n"
    import_members(engine, parse_members_csv(MEMBERS + extra, "iims"))
    return ClaimsService(
        engine, StubExtractor(), tmp_path / "evidence", zoneinfo.ZoneInfo("Europe/London"), -1
    )


def refuse_poison(engine: Engine) -> None:
    """A trigger that makes any claim whose text mentions POISON unstorable (a real error)."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON claim "
                    "WHEN NEW.raw_text LIKE '%POISON%' "
                    "BEGIN SELECT RAISE(ABORT, 'poison claim refused'); END"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.raw_text LIKE '%POISON%' THEN "
                    "RAISE EXCEPTION 'poison claim refused'; END IF; RETURN NEW; END $$ "
                    "LANGUAGE plpgsql"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON claim FOR EACH ROW "
                    "EXECUTE FUNCTION refuse_poison()"
                )
            )


def claims(service: ClaimsService) -> list[tuple[Any, ...]]:
    with service.engine.connect() as connection:
        return list(
            connection.execute(text("SELECT id, source_key, raw_text FROM claim ORDER BY id"))
        )


def outbox(service: ClaimsService) -> list[tuple[Any, ...]]:
    """(address, payload) of each outbox row (the address its recipient's role has now)."""
    with service.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT channel, recipient, payload FROM outbox ORDER BY id")
        )
        found = [tuple(r) for r in rows]
    return [(address(service.engine, c, r), p) for c, r, p in found]


def worker_for(service: ClaimsService, spool: MailSpool, **options: Any) -> SpoolWorker:
    options = {
        "retry_initial": 0.01,
        "retry_max": 0.05,
        "max_attempts": 3,
        "auth": AUTH_OFF,
        **options,
    }
    return SpoolWorker(service, spool, **options)


def drain_until(worker: SpoolWorker, done: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the spool did not settle"
        worker.drain()
        time.sleep(0.02)


RAW_CASES = {
    "raw UTF-8 From without SMTPUTF8": (
        "From: jörg@exämple.de\r\nSubject: Grüße\r\n\r\nBoat show, 3 hours\r\n".encode(),
        "jörg@exämple.de",
    ),
    "NUL in subject and body": (
        b"From: jane@example.com\r\nSubject: CPD\x00claim\r\n\r\nBoat\x00 show, 3 hours\r\n",
        "jane@example.com",
    ),
    "lone CR and control characters": (
        b"From: jane@example.com\r\nSubject: a\rb\x07\r\n\r\nBoat show\r3 hours\x1b\r\n",
        "jane@example.com",
    ),
    "invalid UTF-8 bytes in the body": (
        b"From: jane@example.com\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"\r\nBoat show \xff\xfe\xed\xa0\x80 3 hours\r\n",
        "jane@example.com",
    ),
    "overlong subject and file name": (
        b"From: jane@example.com\r\nSubject: "
        + b"S" * 5000
        + b"\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: text/plain\r\n\r\nBoat show, 3 hours\r\n--b\r\nContent-Type: image/png"
        b'\r\nContent-Disposition: attachment; filename="' + b"n" * 900 + b'.png"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgoAAAANSUhEUg==\r\n--b--\r\n",
        "jane@example.com",
    ),
}


@pytest.mark.parametrize("case", sorted(RAW_CASES))
def test_hostile_text_is_stored_once(any_service: ClaimsService, tmp_path: Path, case: str) -> None:
    raw, sender = RAW_CASES[case]
    spool = MailSpool(tmp_path / "spool")
    spool.put(raw, NOW)
    worker = worker_for(any_service, spool)
    assert worker.drain() == 1
    assert spool.waiting() == [] and list(spool.failed.iterdir()) == []
    (claim,) = claims(any_service)
    assert "\x00" not in claim[2] and "\r" not in claim[2]
    assert "3 hours" in claim[2].replace("\n", " ")
    receipt = [row for row in outbox(any_service) if row[0] == sender]
    assert receipt, f"no receipt to {sender}"


def test_a_poison_mail_is_skipped_then_quarantined(
    any_service: ClaimsService, tmp_path: Path
) -> None:
    refuse_poison(any_service.engine)
    spool = MailSpool(tmp_path / "spool")
    spool.put(as_bytes(make_mail("POISON webinar, 2 hours", subject="Bad one")), NOW)
    for n in range(5):
        spool.put(as_bytes(make_mail(f"Course number {n}, 4 hours")), NOW)
    worker = worker_for(any_service, spool)
    assert worker.drain() == 5  # the five behind it are stored at once
    assert len(claims(any_service)) == 5
    (waiting,) = spool.waiting()
    attempts = spool.attempts(waiting.name)
    assert attempts is not None and attempts.count == 1 and "poison claim refused" in attempts.error
    drain_until(worker, lambda: not spool.waiting())
    assert worker.quarantined == 1
    (failed,) = spool.failed_mails()
    assert failed.id == waiting.name.removesuffix(".eml")
    assert failed.sender == "jane@example.com" and failed.subject == "Bad one"
    assert "poison claim refused" in failed.error and failed.attempts == 3
    assert len(claims(any_service)) == 5
    assert list(spool.attempts_dir.iterdir()) == []


def test_the_attempt_count_survives_a_restart(sqlite_engine: Engine, tmp_path: Path) -> None:
    import_members(sqlite_engine, parse_members_csv(MEMBERS, "iims"))
    service = ClaimsService(
        sqlite_engine, StubExtractor(), tmp_path / "ev", zoneinfo.ZoneInfo("Europe/London")
    )
    refuse_poison(sqlite_engine)
    spool = MailSpool(tmp_path / "spool")
    spool.put(as_bytes(make_mail("POISON, 1 hour")), NOW)
    spool.put(as_bytes(make_mail("Course, 1 hour")), NOW)
    first = worker_for(service, spool, max_attempts=2)
    first.drain()
    (waiting,) = spool.waiting()
    assert spool.attempts(waiting.name).count == 1  # type: ignore[union-attr]
    restarted = worker_for(service, MailSpool(tmp_path / "spool"), max_attempts=2)
    restarted.last_stored = time.time()  # another mail was stored since (by the new process)
    drain_until(restarted, lambda: not spool.waiting())
    assert len(spool.failed_mails()) == 1 and restarted.quarantined == 1


class DownService(ClaimsService):
    """The real service whose database is unreachable while ``down`` is set."""

    down = True

    def receive_mail(self, intake: Intake, extra_keys: Any = ()) -> MailOutcome:
        if self.down:
            raise OperationalError("INSERT ...", {}, Exception("connection refused"))
        return super().receive_mail(intake, extra_keys)


def test_an_outage_quarantines_nothing(service: ClaimsService, tmp_path: Path) -> None:
    down = DownService(service.engine, service.extractor, service.evidence_dir, service.zone)
    spool = MailSpool(tmp_path / "spool")
    for n in range(3):
        spool.put(as_bytes(make_mail(f"Course {n}, 4 hours")), NOW)
    worker = worker_for(down, spool, max_attempts=1)
    for _ in range(20):
        with pytest.raises(OperationalError):
            worker.drain()
    assert len(spool.waiting()) == 3 and spool.failed_mails() == []
    assert list(spool.attempts_dir.iterdir()) == []  # an outage is counted against no mail
    down.down = False
    assert worker.drain() == 3 and len(claims(service)) == 3


def test_leftovers_of_a_crash_in_tmp_are_removed(tmp_path: Path) -> None:
    spool = MailSpool(tmp_path / "spool")
    old = spool.tmp / "00000000000000000001-99999-0.eml"
    old.write_bytes(b"half a mail")
    os.utime(old, (time.time() - 60, time.time() - 60))
    being_written = spool.incoming(NOW)
    being_written.write(b"From: jane@example.com\r\n")
    assert MailSpool(tmp_path / "spool").tmp.exists()
    assert not old.exists()
    assert being_written.partial.exists()  # this process's file, still being received
    being_written.discard()


def test_cpd_mail_failed_and_retry(
    service: ClaimsService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPD_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(app, ["mail", "failed"]).stdout == ""
    spool = MailSpool(tmp_path / "spool" / "smtp")
    path = spool.put(as_bytes(make_mail("Course, 1 hour", subject="Stuck")), NOW)
    spool.quarantine(
        path,
        {
            "error": "DataError: boom",
            "attempts": 5,
            "sender": "jane@example.com",
            "subject": "Stuck",
        },  # fmt: skip
    )
    listed = runner.invoke(app, ["mail", "failed"])
    assert listed.exit_code == 0
    (line,) = listed.stdout.splitlines()
    mail_id = path.name.removesuffix(".eml")
    assert line.startswith(mail_id) and "jane@example.com" in line and "DataError: boom" in line
    entries = json.loads(runner.invoke(app, ["mail", "failed", "--json"]).stdout)
    assert [e["id"] for e in entries] == [mail_id]
    unknown = runner.invoke(app, ["mail", "retry", "00000000000000000000-1-1"])
    assert unknown.exit_code == 2
    assert unknown.stderr.count("\n") == 1 and "no quarantined mail" in unknown.stderr
    assert runner.invoke(app, ["mail", "retry"]).exit_code == 2
    retried = runner.invoke(app, ["mail", "retry", mail_id])
    assert retried.exit_code == 0, retried.output
    assert [p.name for p in spool.waiting()] == [path.name] and spool.failed_mails() == []
    assert SpoolWorker(service, spool, auth=AUTH_OFF).drain() == 1 and len(claims(service)) == 1


def test_attachments_over_the_cap_are_named_in_the_receipt(
    service: ClaimsService, tmp_path: Path
) -> None:
    files = tuple((bytes([n]) * 2000, "image/png", f"photo{n}.png") for n in range(1, 6))
    spool = MailSpool(tmp_path / "spool")
    spool.put(as_bytes(make_mail("Boat show, 3 hours", attachments=files)), NOW)
    assert worker_for(service, spool, max_attachments=3).drain() == 1
    with service.engine.connect() as connection:
        (count,) = connection.execute(text("SELECT count(*) FROM evidence_file")).one()
    assert count == 3
    (receipt,) = [json.loads(p) if isinstance(p, str) else p for _, p in outbox(service)[:1]]
    assert "not kept: photo4.png, photo5.png" in receipt["text"]


def refuse_poison_as_operational(engine: Engine) -> None:
    """On PostgreSQL, a trigger that fails POISON claims with an operational-class error
    (SQLSTATE 53100, disk full) — the class that usually means an outage."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
                "IF NEW.raw_text LIKE '%POISON%' THEN "
                "RAISE EXCEPTION 'no room for this one' USING ERRCODE = '53100'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER poison BEFORE INSERT ON claim FOR EACH ROW "
                "EXECUTE FUNCTION refuse_poison()"
            )
        )


class PoisonOperational(ClaimsService):
    """On SQLite: the real service, failing POISON mails with an OperationalError."""

    def receive_mail(self, intake: Intake, extra_keys: Any = ()) -> MailOutcome:
        if "POISON" in intake.text:
            raise OperationalError("INSERT ...", {}, Exception("disk I/O error"))
        return super().receive_mail(intake, extra_keys)


def test_an_operational_error_of_one_mail_is_not_an_outage(
    any_service: ClaimsService, tmp_path: Path
) -> None:
    service = any_service
    if service.engine.dialect.name == "postgresql":
        refuse_poison_as_operational(service.engine)
    else:
        service = PoisonOperational(
            service.engine, service.extractor, service.evidence_dir, service.zone
        )
    spool = MailSpool(tmp_path / "spool")
    spool.put(as_bytes(make_mail("POISON course, 2 hours")), NOW)
    for n in range(3):
        spool.put(as_bytes(make_mail(f"Course {n}, 1 hour")), NOW)
    worker = worker_for(service, spool)
    assert worker.drain() == 3  # the mails behind it were stored
    (waiting,) = spool.waiting()
    assert spool.attempts(waiting.name).count == 1  # type: ignore[union-attr]
    with pytest.raises(OperationalError):  # alone, it looks like an outage: not counted
        time.sleep(0.02)
        worker.drain()
    assert spool.attempts(waiting.name).count == 1  # type: ignore[union-attr]
    sent = 3
    while spool.waiting() and sent < 40:  # with traffic behind it, it is judged the mail's own
        spool.put(as_bytes(make_mail(f"Course {sent}, 1 hour")), NOW)
        sent += 1
        time.sleep(0.03)
        worker.drain()
    (failed,) = spool.failed_mails()
    assert "OperationalError" in failed.error and failed.attempts == 3
    assert len(claims(any_service)) == sent
