"""Fault injection on the mail channel: 8 parallel 24 MB mails to `cpd run` as a subprocess
over real SMTP; the peak RSS (VmHWM) of `cpd run` stays under 400 MB and every mail is stored
once."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from tests.faults.conftest import Report
from tests.mail_ingest.support_servers import CpdRun, as_bytes, make_mail, send_until_accepted


def source_keys(run: CpdRun) -> list[str]:
    return [str(row[1]) for row in run.claims()]


def vm_hwm_kb(pid: int) -> int:
    """The peak resident set size of process ``pid`` (VmHWM), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


# -- 8 parallel 24 MB mails -----------------------------------------------------------------


def test_8_parallel_24_mb_mails_stay_under_400_mb(tmp_path: Path, fault_report: Report) -> None:
    started = time.monotonic()
    run = CpdRun.configure(tmp_path / "data")
    run.start()
    assert run.process is not None
    pid = run.process.pid
    baseline = vm_hwm_kb(pid)
    photo = b"\xff\xd8\xff\xe0" + os.urandom(17 * 1024 * 1024)
    files = ((photo, "image/jpeg", "p.jpg"),)
    mails = [as_bytes(make_mail(f"Conference {n}, 6 hours", attachments=files)) for n in range(8)]
    del photo, files
    sizes = {len(raw) for raw in mails}
    deadline = time.monotonic() + 80
    errors: list[BaseException] = []

    def send(raw: bytes) -> None:
        try:
            send_until_accepted(run.smtp_port, raw, deadline)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(raw,)) for raw in mails]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        assert not errors, errors
        run.wait_claims(8, timeout=60)
        peak = vm_hwm_kb(pid)
        keys = source_keys(run)
    finally:
        run.kill()
    figures = fault_report(
        "mail: 8 parallel 24 MB mails",
        sent=8,
        accepted=8,
        stored=len(set(keys)),
        lost=8 - len(set(keys)),
        repeated=len(keys) - len(set(keys)),
        mail_mb=f"{max(sizes) / 2**20:.1f}",
        baseline_rss_mb=f"{baseline / 1024:.0f}",
        peak_rss_mb=f"{peak / 1024:.0f}",
        wall_s=f"{time.monotonic() - started:.0f}",
    )
    print(f"cpd run peak RSS (VmHWM): {peak / 1024:.0f} MB (baseline {baseline / 1024:.0f} MB)")
    assert min(sizes) > 23 * 2**20
    assert figures.stored == 8 and figures.repeated == 0
    assert peak < 400 * 1024
