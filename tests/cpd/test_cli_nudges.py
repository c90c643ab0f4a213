"""``cpd nudges send`` in process: a dry run lists who would be told what and queues nothing;
a real run queues; a second run for the same moment queues nothing new."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cpd.cli import main
from tests.cpd.test_cli_bad_input_table import _environment

MEMBERS = """membership_no,name,email,scheme,grade,joined,role
M1,Jane Surveyor,jane@example.com,iims,member,2019-05-01,member
T1,Tom Technician,tom@example.com,imi,member,2024-05-01,member
N1,No Address,,iims,member,2019-05-01,member
"""
MOMENT = "2025-12-01T09:00"  # 30 days before the end of the IIMS year 2025, in the past
# (further back than the default CPD_RETENTION_DAYS: the test keeps its outbox rows for ever)


def cpd(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    captured = capsys.readouterr()
    return int(done.value.code or 0), captured.out, captured.err


def outbox_keys(work: Path) -> list[str]:
    engine = create_engine(f"sqlite:///{work / 'data' / 'cpd.sqlite3'}")
    with engine.connect() as connection:
        keys = list(connection.execute(text("SELECT dedup_key FROM outbox")).scalars())
    engine.dispose()
    return sorted(keys)


def test_dry_run_then_real_run_then_nothing_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"CPD_SMTP_RECIPIENTS": "claims@iims.example", "CPD_RETENTION_DAYS": "36500"}
    _environment(monkeypatch, tmp_path, env)
    (tmp_path / "members.csv").write_text(MEMBERS)
    assert cpd(capsys, "members", "import", str(tmp_path / "members.csv"))[0] == 0

    code, out, err = cpd(capsys, "nudges", "send", "--dry-run", "--now", MOMENT)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == "M1 email countdown: 0 of 10 points, 10 to go, 30 days left"
    assert lines[1].startswith("T1 email progress: 0 of 90 credits, 90 to go, ")
    assert len(lines) == 2  # N1 has no address: counted, not listed
    assert "dry run: would queue 2 reminder(s)" in err and "1 member(s) with no channel" in err
    assert outbox_keys(tmp_path) == []

    code, out, err = cpd(capsys, "nudges", "send", "--now", MOMENT)
    assert code == 0, err
    keys = outbox_keys(tmp_path)
    assert len(keys) == 2 and "queued 2 reminder(s)" in err
    assert any(k.endswith(":countdown:2025:30") for k in keys)

    code, out, err = cpd(capsys, "nudges", "send", "--now", MOMENT)
    assert code == 0 and "queued 0 reminder(s)" in err and "2 already queued" in err
    assert out.count("(already queued)") == 2
    assert outbox_keys(tmp_path) == keys
