"""The `cpd` command line: contracts, exit codes, one-line errors. In-process through typer's
CliRunner (tests/support/cli.py); one test runs the installed console script as a real
process."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import CliResult, cpd_process, run_cpd

MEMBERS_CSV = """membership_no,name,email,scheme,grade,joined,role
M1,Jane Surveyor,Jane@Example.com,iims,member,2019-05-01,member
M2,Sam Secretary,sec@example.com,,,2015-01-01,secretary
M3,Ivy Info,ivy@example.com,iim,professional,2020-02-01,member
"""


def cpd(tmp_path: Path, *args: str, stdin: str | None = None, **env: str) -> CliResult:
    """``cpd ARGS`` in-process, data under ``tmp_path/data``, run in ``tmp_path``."""
    return run_cpd(*args, data_dir=tmp_path / "data", cwd=tmp_path, stdin=stdin, env=env)


def assert_one_line_error(
    result: CliResult | subprocess.CompletedProcess[str], *words: str
) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cpd: error:"), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def evaluate_input(**changes: object) -> dict[str, object]:
    document: dict[str, object] = {
        "scheme": "iim",
        "as_of": "2026-11-23",
        "member": {"joined": "2019-05-01", "grade": "professional", "dispensations": [2024]},
        "claims": [
            {
                "id": "c1",
                "kind": "training",
                "hours": 3,
                "date": "2026-02-01",
                "provider": "institute",
                "has_test": False,
                "co_authors": None,
                "title": "Records retention workshop",
                "category": None,
                "points": None,
                "reflections": {"new_knowledge": "...", "behaviour": None, "impact": None},
                "status": "accepted",
            }
        ],
    }
    document.update(changes)
    return document


def test_rules_evaluate_prints_the_contract(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text(json.dumps(evaluate_input()))
    result = cpd(tmp_path, "rules", "evaluate", "--input", str(path))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["period"] == {"start": "2026-01-01", "end": "2026-12-31"}
    assert (output["target"], output["earned"], output["total"], output["remaining"]) == (
        20,
        3,
        3,
        17,
    )
    assert output["met"] is False and output["diploma"] is None
    assert output["claims"] == [
        {
            "id": "c1",
            "category": "iim-2",
            "points": 3,
            "counted": True,
            "note": output["claims"][0]["note"],
        }
    ]


def test_rules_evaluate_reads_stdin(tmp_path: Path) -> None:
    result = cpd(tmp_path, "rules", "evaluate", "--input", "-", stdin=json.dumps(evaluate_input()))
    assert result.returncode == 0 and json.loads(result.stdout)["earned"] == 3


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (
            '{"scheme": "nope", "as_of": "2026-01-01", "member": {"joined": "2020-01-01"}}',
            ("unknown scheme", "nope"),
        ),
        ("{not json", ("malformed JSON",)),
        (
            json.dumps(
                evaluate_input(
                    claims=[{"id": "a", "kind": "training", "hours": -3, "date": "2026-01-01"}]
                )
            ),
            ("hours", "negative"),
        ),
        (
            json.dumps(
                evaluate_input(
                    claims=[{"id": "a", "kind": "training", "hours": 25, "date": "2026-01-01"}]
                )
            ),
            ("hours", "24"),
        ),
        (
            json.dumps(
                evaluate_input(claims=[{"id": "a", "kind": "juggling", "date": "2026-01-01"}])
            ),
            ("unknown kind",),
        ),
        (
            json.dumps(
                evaluate_input(claims=[{"id": "a", "kind": "reading", "date": "31/02/2026"}])
            ),
            ("not a date",),
        ),
        (json.dumps(evaluate_input(as_of="yesterday")), ("as_of",)),
    ],
    ids=[
        "unknown scheme",
        "malformed JSON",
        "negative hours",
        "25 hours in a day",
        "unknown kind",
        "unparsable date",
        "bad as_of",
    ],
)
def test_rules_evaluate_bad_input_is_one_line_exit_2(
    tmp_path: Path, document: str, words: tuple[str, ...]
) -> None:
    assert_one_line_error(cpd(tmp_path, "rules", "evaluate", "-i", "-", stdin=document), *words)


def test_missing_input_file_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(cpd(tmp_path, "rules", "evaluate", "-i", "absent.json"), "cannot read")


def test_members_import_show_and_invite(tmp_path: Path) -> None:
    csv = tmp_path / "members.csv"
    csv.write_text(MEMBERS_CSV)
    first = cpd(tmp_path, "members", "import", str(csv))
    assert first.returncode == 0 and first.stdout.strip() == "3 created, 0 updated, 0 unchanged"
    again = cpd(tmp_path, "members", "import", str(csv))
    assert again.stdout.strip() == "0 created, 0 updated, 3 unchanged"
    assert (tmp_path / "data" / "cpd.sqlite3").is_file()

    shown = cpd(tmp_path, "members", "show", "M1", "--as-of", "2026-11-23")
    assert shown.returncode == 0, shown.stderr
    assert "jane@example.com" in shown.stdout
    assert "you need 10 more by 31 December 2026" in shown.stdout

    invite = cpd(tmp_path, "members", "invite", "M1", CPD_TELEGRAM_BOT_NAME="cpd_test_bot")
    token, link = invite.stdout.split()
    assert invite.returncode == 0 and len(token) >= 20
    assert link == f"https://t.me/cpd_test_bot?start={token}"


def test_members_show_unknown_member(tmp_path: Path) -> None:
    assert_one_line_error(cpd(tmp_path, "members", "show", "NOPE"), "NOPE")


def test_members_import_bad_row_names_line_and_column_and_imports_nothing(tmp_path: Path) -> None:
    csv = tmp_path / "members.csv"
    csv.write_text(MEMBERS_CSV + "M4,Bad Date,bad@example.com,iims,,2020-13-01,member\n")
    assert_one_line_error(cpd(tmp_path, "members", "import", str(csv)), "line 5", "joined")
    shown = cpd(tmp_path, "members", "show", "M1")
    assert_one_line_error(shown, "M1")


def test_bad_setting_names_the_setting(tmp_path: Path) -> None:
    result = cpd(tmp_path, "members", "show", "M1", CPD_TIMEZONE="Mars/Base")
    assert_one_line_error(result, "CPD_TIMEZONE", "Mars/Base")


def test_schemes_list_and_show(tmp_path: Path) -> None:
    listed = cpd(tmp_path, "schemes", "list")
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "ibms",
        "iim",
        "iims",
        "imi",
    ]
    shown = json.loads(cpd(tmp_path, "schemes", "show", "imi").stdout)
    assert shown["target"] == 90 and shown["period"]["years"] == 3
    assert_one_line_error(cpd(tmp_path, "schemes", "show", "xyz"), "unknown scheme")


def test_export_csv_and_pdf(tmp_path: Path) -> None:
    csv = tmp_path / "members.csv"
    csv.write_text(MEMBERS_CSV)
    cpd(tmp_path, "members", "import", str(csv))
    result = cpd(tmp_path, "export", "--member", "M1", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("claim_id,start_date,end_date,kind,title")
    pdf = tmp_path / "m1.pdf"
    result = cpd(
        tmp_path, "export", "--member", "M1", "--format", "pdf", "--period", "all", "-o", str(pdf)
    )
    assert result.returncode == 0, result.stderr
    assert pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--member", "NOPE"], "NOPE"),
        (["--member", "M1", "--format", "docx"], "csv or pdf"),
        (["--member", "M1", "--period", "ever"], "current or all"),
        (["--member", "M1", "--format", "pdf"], "-o FILE"),
    ],
)
def test_export_bad_input(tmp_path: Path, args: list[str], words: str) -> None:
    csv = tmp_path / "members.csv"
    csv.write_text(MEMBERS_CSV)
    cpd(tmp_path, "members", "import", str(csv))
    assert_one_line_error(cpd(tmp_path, "export", *args), words)


def test_classify_one_text(tmp_path: Path) -> None:
    result = cpd(
        tmp_path, "classify", "--today", "2026-11-23", "boat show southampton today 4hrs 📸"
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert set(output) >= {
        "kind",
        "hours",
        "start_date",
        "end_date",
        "title",
        "provider",
        "has_test",
        "co_authors",
        "confidence",
    }
    assert (output["kind"], output["hours"], output["start_date"]) == (
        "exhibition",
        4.0,
        "2026-11-23",
    )


def test_classify_jsonl_keeps_ids_and_per_line_dates(tmp_path: Path) -> None:
    lines = [{"id": i, "text": "IIM webinar yesterday 10:00-12:30"} for i in range(300)]
    lines.append({"id": "last", "text": "read a journal on the 3rd, 1 hour", "today": "2026-03-10"})
    stdin = "\n".join(json.dumps(line) for line in lines) + "\n"
    result = cpd(tmp_path, "classify", "--jsonl", "--today", "2026-11-23", stdin=stdin)
    assert result.returncode == 0, result.stderr
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in outputs] == [*range(300), "last"]
    assert outputs[0]["start_date"] == "2026-11-22" and outputs[0]["hours"] == 2.5
    assert outputs[-1]["start_date"] == "2026-03-03"


@pytest.mark.parametrize(
    ("args", "stdin", "words"),
    [
        (["--jsonl"], "{bad\n", "malformed JSON"),
        (["--jsonl"], '{"id": 1}\n', "expected"),
        (["--today", "soon", "text"], None, "not a date"),
        ([], None, "either TEXT or --jsonl"),
    ],
)
def test_classify_bad_input(tmp_path: Path, args: list[str], stdin: str | None, words: str) -> None:
    assert_one_line_error(cpd(tmp_path, "classify", *args, stdin=stdin), words)


def test_the_console_script_in_a_real_process(tmp_path: Path) -> None:
    """`cpd run` with nothing configured, as a real process (run sets up logging for the
    process: not something to do inside the test runner's)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CPD_")}
    environment.update({"CPD_DATA_DIR": str(tmp_path / "data"), "CPD_WEB_LISTEN": ""})
    environment["CPD_SMTP_LISTEN"] = ""
    assert_one_line_error(cpd_process("run", env=environment, cwd=tmp_path), "nothing to run")


def test_standings_period_end_and_audit_commands(tmp_path: Path) -> None:
    csv = tmp_path / "members.csv"
    csv.write_text(MEMBERS_CSV)
    cpd(tmp_path, "members", "import", str(csv))
    standings = cpd(tmp_path, "standings", "--scheme", "iims", "--as-of", "2026-11-23")
    assert standings.returncode == 0, standings.stderr
    lines = standings.stdout.splitlines()
    assert lines[0].startswith("membership_no,scheme,period_start") and len(lines) == 3
    assert_one_line_error(
        cpd(tmp_path, "period-end", "--now", "2099-01-01T00:05"), "later than the real time"
    )
    dry = cpd(tmp_path, "period-end", "--now", "2099-01-01T00:05", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[-1] == (
        "dry run: periods closing on 2098-12-31: 3 member(s) would be told (0 already told)"
    )
    assert sum(line.startswith("would tell M") for line in dry.stdout.splitlines()) == 3
    first = cpd(tmp_path, "period-end", "--now", "2026-01-01T00:05", CPD_RETENTION_DAYS="3650")
    second = cpd(tmp_path, "period-end", "--now", "2026-01-01T00:05", CPD_RETENTION_DAYS="3650")
    assert first.stdout == second.stdout == ("periods closing on 2025-12-31: 3 member(s) told\n")
    sample = cpd(tmp_path, "audit", "sample", "--scheme", "imi", "--cycle", "2025", "--seed", "5")
    assert json.loads(sample.stdout)["seed"] == 5
    assert_one_line_error(
        cpd(tmp_path, "audit", "sample", "--scheme", "imi", "--cycle", "2025", "--fraction", "0"),
        "--fraction",
    )
    assert_one_line_error(cpd(tmp_path, "period-end", "--now", "new year"), "--now")
    assert_one_line_error(cpd(tmp_path, "standings", "--scheme", "xyz"), "unknown scheme")
