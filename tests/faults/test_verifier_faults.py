"""Faults of the verifier process inside `cpd run` (CPD_MAIL_AUTH=verify, local DNS).

* the verifier SIGKILLed three times while 31 signed mails arrive: every mail is still
  verified (pass) and filed once;
* the verifier stopped (SIGSTOP: a hang) after a first mail: the second is held as ``none``
  with the reason after lifetime + 5 s, never passed; the third passes with a new verifier;
* `cpd run` SIGKILLed: no verifier is left behind; SIGTERM: exit 0, and none either.
"""

from __future__ import annotations

import os
import signal
import smtplib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.conftest import Report
from tests.mail_ingest.support_servers import CLAIMS_ADDRESS, CpdRun, RelaySink, wait_until
from tests.mail_verdicts.support import JANE, mail, signed
from tests.support.dns_server import DkimKey, LocalDNS
from tests.support.processes import children_of, wait_gone

VERIFIER = "cpd.mail_ingest.verify_child"
TOPICS = (
    "hull surveys", "ballast water treatment", "marine engine diagnostics", "cargo hold cleaning",
    "fire safety on ferries", "yacht osmosis repair", "steering gear maintenance",
    "corrosion of steel decks", "cargo damage surveys", "lifesaving appliances",
    "electrical faults in small craft", "gas systems on boats", "composite laminate testing",
    "port state control", "towage and salvage", "dry docking procedures", "rigging and masts",
    "marine diesel overhauls", "insurance condition reports", "stability calculations",
    "container lashing", "deck fittings inspection", "outboard motor servicing",
    "hull painting systems", "bilge pumping arrangements", "anchoring equipment",
    "pollution prevention rules", "superyacht refits", "navigation lights regulations",
    "moisture meters for GRP", "lithium batteries afloat",
)  # fmt: skip
"""31 courses one member claims: distinct activities, so none is held as a duplicate of
another (titles at most 71 alike by claims/duplicates.py's measure, its threshold is 85; the
model reads each as training with 2 hours at a confidence of 0.58 or more)."""


@pytest.fixture
def relay() -> Iterator[RelaySink]:
    with RelaySink.running() as sink:
        yield sink


@pytest.fixture
def run(tmp_path: Path, relay: RelaySink, mail_zone: LocalDNS) -> Iterator[CpdRun]:
    host, port = mail_zone.address
    settings = {"CPD_MAIL_AUTH": "verify", "CPD_DNS_SERVERS": f"{host}:{port}"}
    cpd = CpdRun.configure(tmp_path / "data", relay_port=relay.port, extra=settings)
    cpd.start()
    try:
        yield cpd
    finally:
        cpd.kill()


def verifier_of(run: CpdRun, other_than: int | None = None) -> int:
    """The pid of the run's verifier process (waits for one, other than ``other_than``)."""
    assert run.process is not None
    parent = run.process.pid

    def found() -> int | None:
        pids = [p for p, cmd in children_of(parent).items() if VERIFIER in cmd]
        assert len(pids) <= 1, f"more than one verifier: {pids}"
        return pids[0] if pids and pids[0] != other_than else None

    return wait_until(found, timeout=20, what="the verifier process")  # type: ignore[return-value]


def deliver(run: CpdRun, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", run.smtp_port, local_hostname="mx.example.com") as client:
        client.sendmail(JANE, [CLAIMS_ADDRESS], raw)


def verdicts(run: CpdRun) -> list[tuple[object, ...]]:
    return run.query("SELECT status, verification, verification_reasons FROM claim ORDER BY id")


def test_the_verifier_killed_three_times_under_load_every_mail_is_verified_once(
    run: CpdRun, dkim_key: DkimKey, fault_report: Report
) -> None:
    """Three rounds of 10 mails, the verifier killed while each round arrives, then one more
    mail (the last kill is seen by a mail even if its round was already verified)."""
    started = time.monotonic()
    texts = [f"Course on {topic}, 2 hours" for topic in TOPICS]
    mails = [signed(dkim_key, mail(text)) for text in texts]
    errors: list[BaseException] = []

    def send_all(batch: list[bytes]) -> None:
        try:
            for raw in batch:
                deliver(run, raw)
        except BaseException as exc:  # reported below
            errors.append(exc)

    killed: int | None = None
    for round_ in range(3):
        sender = threading.Thread(target=send_all, args=(mails[10 * round_ : 10 * round_ + 10],))
        sender.start()
        pid = verifier_of(run, other_than=killed)  # a new one, started for this round's mail
        time.sleep(0.3)
        os.kill(pid, signal.SIGKILL)
        killed = pid
        sender.join(timeout=60)
        expected = 10 * round_ + 10
        wait_until(lambda: len(run.claims()) >= expected, timeout=60, what="a round")  # noqa: B023
    send_all(mails[30:])
    wait_until(lambda: len(run.claims()) >= 31, timeout=60, what="31 claims")
    assert not errors
    time.sleep(0.5)
    rows = verdicts(run)
    keys = [row[1] for row in run.claims()]
    figures = fault_report(
        "mail: 31 signed mails, the verifier process SIGKILLed 3 times",
        sent=31,
        accepted=31,
        stored=len(rows),
        lost=31 - len(set(keys)),
        repeated=len(keys) - len(set(keys)),
        verdicts_pass=sum(1 for row in rows if row[1] == "pass"),
        restarts_logged=run.log_text.count("starting another"),
        seconds=round(time.monotonic() - started, 1),
    )
    assert figures.stored == 31 and figures.lost == 0 and figures.repeated == 0
    assert [row[:2] for row in rows] == [("pending", "pass")] * 31
    assert figures.extra["restarts_logged"] == 3


def test_a_hung_verifier_holds_the_mail_as_none_and_the_next_one_passes(
    run: CpdRun, dkim_key: DkimKey, fault_report: Report
) -> None:
    started = time.monotonic()
    deliver(run, signed(dkim_key, mail("Course on surveying, 1 hour")))
    wait_until(lambda: len(run.claims()) == 1, timeout=30, what="the first claim")
    hung = verifier_of(run)  # it has answered: a stop now is a hang, not a slow start
    os.kill(hung, signal.SIGSTOP)
    deliver(run, signed(dkim_key, mail("Course on stability, 3 hours")))
    time.sleep(4)  # within the DNS lifetime (5 s): nothing decided yet, and never a pass
    assert len(run.claims()) == 1
    wait_until(lambda: len(run.claims()) == 2, timeout=20, what="the held claim")
    wait_gone(hung)
    deliver(run, signed(dkim_key, mail("Course on rigging, 2 hours")))
    wait_until(lambda: len(run.claims()) == 3, timeout=30, what="the third claim")
    rows = verdicts(run)
    figures = fault_report(
        "mail: the verifier process hung (SIGSTOP) for the second of three mails",
        sent=3,
        accepted=3,
        stored=len(rows),
        lost=3 - len(rows),
        repeated=0,
        verdicts="/".join(f"{row[0]}:{row[1]}" for row in rows),
        seconds=round(time.monotonic() - started, 1),
    )
    assert figures.stored == 3
    assert [row[:2] for row in rows] == [
        ("pending", "pass"),
        ("unverified", "none"),
        ("pending", "pass"),
    ]
    assert "verification did not finish within 10 s" in str(rows[1][2])
    assert "verifier process" in run.log_text and "hung" in run.log_text


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_stopping_cpd_run_leaves_no_verifier_behind(
    run: CpdRun, dkim_key: DkimKey, sig: signal.Signals, fault_report: Report
) -> None:
    started = time.monotonic()
    deliver(run, signed(dkim_key, mail("Course on hull surveys, 3 hours")))
    wait_until(lambda: len(run.claims()) == 1, timeout=20, what="the claim")
    pid = verifier_of(run)
    status = run.stop(sig)
    assert status == (-signal.SIGKILL if sig == signal.SIGKILL else 0)
    wait_gone(pid, timeout=4)
    figures = fault_report(
        f"mail: cpd run stopped by {sig.name} with its verifier process running",
        sent=1,
        accepted=1,
        stored=len(run.claims()),
        lost=1 - len(run.claims()),
        repeated=0,
        verifier_left=0,
        seconds=round(time.monotonic() - started, 1),
    )
    assert figures.stored == 1
