"""`cpd members show` lists a held claim by mail with its status and sender verdict."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cpd.storage import make_engine, migrate
from tests.mail_verdicts.support import NORA, Desk, mail
from tests.support.dns_server import LocalDNS


def test_members_show_lists_a_held_claim(tmp_path: Path, local_dns: LocalDNS) -> None:
    data = tmp_path / "data"
    data.mkdir()
    engine = make_engine(f"sqlite:///{data / 'cpd.sqlite3'}")
    migrate(engine)
    desk = Desk(engine, tmp_path, local_dns)
    try:
        assert desk.send(mail(sender=NORA), mail_from=NORA, helo="plain.example") == 250
    finally:
        desk.close()
        engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPD_")}
    env["CPD_DATA_DIR"] = str(data)
    shown = subprocess.run(
        [sys.executable, "-c", "from cpd.cli import main; main()", "members", "show", "M2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    claims = shown.stdout.split("Claims:", 1)[1]
    assert " unverified " in claims and "not accepted (unverified)" in claims
    assert "[mail sender: none plain.example] (held until the member confirms it)" in claims
    assert not claims.strip().startswith("+")  # a held claim counts for nothing
