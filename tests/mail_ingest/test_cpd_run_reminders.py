"""End to end, mail only: `cpd nudges send --now <a past moment>` queues reminders and the
`cpd run` already running delivers them to the relay (aiosmtpd), with a text and an HTML part."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.mail_ingest.support_servers import CpdRun, RelaySink, wait_until

MOMENT = "2025-11-03T09:00"  # a Monday in the past: Jane (no claim, mail only) is behind


def test_a_past_run_queues_and_the_relay_gets_the_reminder(tmp_path: Path) -> None:
    started = time.monotonic()
    with RelaySink.running() as relay:
        run = CpdRun.configure(
            tmp_path / "data",
            relay_port=relay.port,
            extra={"CPD_SMTP_RECIPIENTS": "claims@example.com", "CPD_RETENTION_DAYS": "36500"},
        )
        run.start()
        try:
            done = subprocess.run(
                [sys.executable, "-c", "from cpd.cli import main; main()"]
                + ["nudges", "send", "--now", MOMENT],
                env=run.env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            assert "M1 email progress: 0 of 10 points, 10 to go, 58 days left" in done.stdout
            mails = wait_until(
                lambda: relay.to("jane@example.com"), timeout=30, what="Jane's reminder"
            )
            again = subprocess.run(
                [sys.executable, "-c", "from cpd.cli import main; main()"]
                + ["nudges", "send", "--now", MOMENT],
                env=run.env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert again.returncode == 0 and "queued 0 reminder(s)" in again.stderr
        finally:
            run.kill()
    (mail,) = mails
    assert mail.message["Subject"] == "IIMS CPD: 10 points still needed by 31 December 2025"
    text = mail.message.get_body(("plain",))
    assert text is not None and "claims@example.com" in text.get_content()
    assert "10 points to go by 31 December 2025 (58 days)" in text.get_content()
    assert len(relay.to("jane@example.com")) == 1  # the second run sent nothing
    print(f"end to end reminders: {time.monotonic() - started:.1f}s")
    html = mail.message.get_body(("html",))
    assert html is not None and "<p>" in html.get_content()
