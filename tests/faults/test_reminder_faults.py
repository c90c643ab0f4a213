"""Fault injection on outbound reminder mail: `cpd run` SIGKILLed while it sends a run of
reminders at an unlimited rate (twice), restarted each time.

The crash guarantee of ``cpd.mail_ingest.delivery_log``: at a kill, at most
``MAX_UNRECORDED`` mails the relay has are not yet recorded as sent; those (and only those)
go out again after the restart. Nothing is lost.
"""

from __future__ import annotations

import time
from pathlib import Path

from cpd.mail_ingest.delivery_log import MAX_UNRECORDED
from cpd.storage import OutboxMessage, make_engine, transaction
from tests.faults.conftest import Report
from tests.mail_ingest.support_servers import CpdRun, RelaySink, wait_until

REMINDERS = 450
KILLS = 2


def queue_reminders(data_dir: Path, count: int) -> None:
    """Reminder rows as the reminder planner writes them, one recipient each."""
    engine = make_engine(f"sqlite:///{data_dir / 'cpd.sqlite3'}")
    rows = [
        {
            "dedup_key": f"reminder:{index}:2026-11-26",
            "channel": "email",
            "recipient": f"member{index}@members.example.com",
            "template": "reminder",
            "payload": {
                "subject": "Your CPD progress",
                "text": f"CPD progress: {index % 20} of 20 points.",
                "html": f"<p>CPD progress: <b>{index % 20}</b> of 20 points.</p>",
                "sender_name": "IIMS CPD",
                "kind": "reminder",
                "member_id": index + 1,
            },
        }
        for index in range(count)
    ]
    try:
        with transaction(engine) as session:
            session.bulk_insert_mappings(OutboxMessage, rows)  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_reminders_with_sigkills_mid_run_resend_at_most_the_unrecorded_bound(
    tmp_path: Path, fault_report: Report
) -> None:
    started = time.monotonic()
    with RelaySink.running() as relay:
        run = CpdRun.configure(
            tmp_path / "data", relay_port=relay.port, extra={"CPD_MAIL_RATE": "unlimited"}
        )
        queue_reminders(run.data_dir, REMINDERS)

        def distinct() -> int:
            with relay.lock:
                return len({tuple(d.rcpt_tos) for d in relay.delivered})

        def sent_rows() -> int:
            return int(run.query("SELECT count(*) FROM outbox WHERE status = 'sent'")[0][0])

        unrecorded_at_kills: list[int] = []
        try:
            for kill in range(1, KILLS + 1):
                run.start()
                target = REMINDERS * kill // (KILLS + 1)
                wait_until(lambda n=target: distinct() >= n, timeout=60, interval=0.002)
                run.kill()  # SIGKILL while the sender is mid-run
                unrecorded_at_kills.append(distinct() - sent_rows())
            run.start()
            wait_until(lambda: sent_rows() >= REMINDERS, timeout=60, what="every row sent")
            time.sleep(0.3)  # nothing more should come
        finally:
            run.kill()
        pending = run.query("SELECT count(*) FROM outbox WHERE status != 'sent'")[0][0]
    delivered = len(relay.delivered)
    lost = REMINDERS - distinct()
    repeated = delivered - distinct()
    elapsed = time.monotonic() - started
    fault_report(
        f"{REMINDERS} reminders with {KILLS} SIGKILLs mid-run",
        sent=REMINDERS,
        accepted=delivered,
        stored=sent_rows(),
        lost=lost,
        repeated=repeated,
        unrecorded_at_kills=unrecorded_at_kills,
        bound=MAX_UNRECORDED,
        seconds=round(elapsed, 1),
    )
    assert lost == 0 and pending == 0
    assert all(0 <= n <= MAX_UNRECORDED for n in unrecorded_at_kills), unrecorded_at_kills
    assert max(unrecorded_at_kills) > 0, "no kill left mail unrecorded: the kills tested nothing"
    assert repeated <= sum(unrecorded_at_kills)  # only what was unrecorded went out again
