"""Every user mistake at the `cpd` command line is one line on stderr and exit 2, with no
traceback and no secret. The table runs the CLI in-process (``main(argv)``); a few rows whose
failure only shows in a real process run `cpd` as a subprocess."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cpd.cli import main
from tests.support.cli import cpd_process

SECRET = "secretpw"
UNREACHABLE_PG = f"postgresql+psycopg://u:{SECRET}@127.0.0.1:1/x"
MEMBERS = """membership_no,name,email,scheme,grade,joined,role
M1,Jane Surveyor,Jane@Example.com,iims,member,2019-05-01,member
T1,Tom Technician,tom@example.com,imi,member,2024-05-01,member
"""
FUTURE = (dt.datetime.now() + dt.timedelta(days=31)).strftime("%Y-%m-%dT%H:%M")
LONG_AGO = (dt.datetime.now() - dt.timedelta(days=200)).strftime("%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class Row:
    """One command line, what stderr's one line must match, and the environment it runs in."""

    name: str
    args: tuple[str, ...]
    expect: str  # a regular expression searched in the one stderr line
    env: dict[str, str] = field(default_factory=dict)
    stdin: str | None = None
    code: int = 2


def row(name: str, command: str, expect: str, stdin: str | None = None, **env: str) -> Row:
    """A row; ``command`` is split on spaces (``{d}`` is the prepared work directory)."""
    return Row(name, tuple(command.split(" ")), expect, env, stdin)


ROWS = [
    # settings and the environment
    row(
        "config names a missing file",
        "members show M1",
        r"CPD_CONFIG: '.*nope\.toml': no such file",
        CPD_CONFIG="{d}/nope.toml",
    ),
    row(
        "config names a missing file, for a command that reads no other setting",
        "schemes list",
        r"CPD_CONFIG: '.*nope\.toml': no such file",
        CPD_CONFIG="{d}/nope.toml",
    ),
    row(
        "config names a directory",
        "members show M1",
        r"CPD_CONFIG: .*: is a directory",
        CPD_CONFIG="{d}",
    ),
    row(
        "config has an unknown key",
        "members show M1",
        r"unknown setting 'colour'",
        CPD_CONFIG="{d}/bad.toml",
    ),
    row(
        "unknown time zone",
        "members show M1",
        r"CPD_TIMEZONE: unknown time zone 'Mars/Base'",
        CPD_TIMEZONE="Mars/Base",
    ),
    row(
        "unknown default scheme", "members show M1", r"CPD_SCHEME: unknown scheme", CPD_SCHEME="xyz"
    ),
    row(
        "unsupported database",
        "members show M1",
        r"CPD_DATABASE_URL: only sqlite",
        CPD_DATABASE_URL="mysql://a/b",
    ),
    row("retention days not a number", "purge", r"CPD_RETENTION_DAYS", CPD_RETENTION_DAYS="ninety"),
    row(
        "draft retention of 0 days",
        "purge",
        r"CPD_DRAFT_RETENTION_DAYS",
        CPD_DRAFT_RETENTION_DAYS="0",
    ),
    row("invite days of 0", "members invite M1", r"CPD_INVITE_DAYS", CPD_INVITE_DAYS="0"),
    row(
        "data dir under a file",
        "members show M1",
        r"CPD_DATA_DIR: cannot create the directory .*afile.*: Not a directory",
        CPD_DATA_DIR="{d}/afile/data",
    ),
    row(
        "data dir is a file",
        "standings",
        r"CPD_DATA_DIR: .*it is a file, not a directory",
        CPD_DATA_DIR="{d}/afile",
    ),
    row(
        "data dir under a file, cpd run",
        "run",
        r"CPD_DATA_DIR: cannot create",
        CPD_DATA_DIR="{d}/afile/data",
    ),
    row(
        "data dir under a file, cpd purge",
        "purge",
        r"CPD_DATA_DIR: cannot create",
        CPD_DATA_DIR="{d}/afile/data",
    ),
    row(
        "sqlite url under a file",
        "members show M1",
        r"CPD_DATABASE_URL: cannot create the directory",
        CPD_DATABASE_URL="sqlite:///{d}/afile/x.db",
    ),
    row(
        "postgres unreachable",
        "members show M1",
        r"CPD_DATABASE_URL: cannot use the database "
        r"postgresql\+psycopg://u:\*\*\*@127\.0\.0\.1:1/x: .*refused",
        CPD_DATABASE_URL=UNREACHABLE_PG,
    ),
    row(
        "postgres unreachable, period-end",
        "period-end --dry-run",
        r"cannot use the database .*u:\*\*\*@",
        CPD_DATABASE_URL=UNREACHABLE_PG,
    ),
    row(
        "postgres with a data dir under a file",
        "members show M1",
        r"CPD_DATA_DIR: .* is a file",
        CPD_DATABASE_URL=UNREACHABLE_PG,
        CPD_DATA_DIR="{d}/afile/data",
    ),
    row("bad IMAP URL for cpd run", "run", r"CPD_IMAP_URL", CPD_IMAP_URL="ftp://x"),
    row("nothing to run", "run", r"nothing to run", CPD_SMTP_LISTEN=""),
    # usage errors (typer/click): one line, not a box
    row("no such command", "nope", r"No such command 'nope'\. \(see cpd --help\)"),
    row(
        "cycle not a number",
        "audit sample --scheme imi --cycle abc",
        r"Invalid value for '--cycle'",
    ),
    row("missing option", "audit sample --cycle 2025", r"Missing option '--scheme'"),
    row(
        "missing argument",
        "members show",
        r"Missing argument 'MEMBERSHIP_NO'|Missing argument 'membership_no'",
    ),
    row("no such option", "classify --bogus x", r"No such option: --bogus"),
    row("option without its value", "export --member", r"Option '--member' requires an argument"),
    # export and standings
    row(
        "export pdf into a missing directory",
        "export --member M1 --format pdf -o /missing/dir/x.pdf",
        r"cannot write /missing/dir/x\.pdf: no directory /missing/dir",
    ),
    row(
        "export csv onto a directory",
        "export --member M1 -o {d}",
        r"cannot write .*: it is a directory",
    ),
    row(
        "export an unknown member",
        "export --member NOPE",
        r"no member with membership number 'NOPE'",
    ),
    row("export as docx", "export --member M1 --format docx", r"--format must be csv or pdf"),
    row(
        "export an unknown period",
        "export --member M1 --period last",
        r"--period must be current or all",
    ),
    row("export pdf to stdout", "export --member M1 --format pdf", r"a PDF needs -o FILE"),
    row(
        "export with a bad date",
        "export --member M1 --as-of 2026-13-01",
        r"--as-of: '2026-13-01' is not a date",
    ),
    row(
        "standings into a missing directory",
        "standings -o /missing/dir/x.csv",
        r"cannot write /missing/dir/x\.csv: no directory",
    ),
    row("standings of an unknown scheme", "standings --scheme xyz", r"unknown scheme 'xyz'"),
    row("standings with a bad date", "standings --as-of tomorrow", r"--as-of: 'tomorrow'"),
    # nlp train
    row(
        "train over an existing directory",
        "nlp train -o {d}/model",
        r"-o .*model: already exists; --force replaces it",
    ),
    row("train onto a file", "nlp train -o {d}/afile", r"-o .*afile: is a file"),
    row(
        "train into a missing directory",
        "nlp train -o /missing/dir/model",
        r"-o /missing/dir/model: no directory",
    ),
    # period end and audits
    row(
        "period end in the future",
        f"period-end --now {FUTURE}",
        r"--now: .* is later than the real time; use --dry-run",
    ),
    row(
        "period end long ago",
        f"period-end --now {LONG_AGO}",
        r"--now: .* more than 90 days ago \(CPD_RETENTION_DAYS\)",
    ),
    row(
        "period end, not a date",
        "period-end --now yesterday",
        r"--now: 'yesterday' is not an ISO date-time",
    ),
    row(
        "nudges in the future",
        f"nudges send --now {FUTURE}",
        r"--now: .* is later than the real time",
    ),
    row(
        "nudges dry run in the future",
        f"nudges send --dry-run --now {FUTURE}",
        r"--now: .* is later than the real time",
    ),
    row(
        "nudges long ago",
        f"nudges send --dry-run --now {LONG_AGO}",
        r"--now: .* more than 90 days ago \(CPD_RETENTION_DAYS\)",
    ),
    row(
        "nudges, not a date",
        "nudges send --now monday",
        r"--now: 'monday' is not an ISO date-time",
    ),
    row(
        "mail nudge cron of four fields",
        "nudges send --dry-run",
        r"CPD_MAIL_NUDGE_CRON: expected 5 cron fields",
        CPD_MAIL_NUDGE_CRON="0 9 1-7 MON",
    ),
    row(
        "mail nudge cron with a bad weekday",
        "nudges send --dry-run",
        r"CPD_MAIL_NUDGE_CRON: .*'0 9 1-7 \* MOON'",
        CPD_MAIL_NUDGE_CRON="0 9 1-7 * MOON",
    ),
    row(
        "audit in the future",
        f"audit sample --scheme imi --cycle 2025 --now {FUTURE}",
        r"--now: .* later than the real time",
    ),
    row(
        "audit fraction 0",
        "audit sample --scheme imi --cycle 2025 --fraction 0",
        r"--fraction must be above 0",
    ),
    row(
        "audit fraction 2",
        "audit sample --scheme imi --cycle 2025 --fraction 2",
        r"--fraction must be above 0 and at most 1",
    ),
    row(
        "audit of a cycle not started",
        "audit sample --scheme imi --cycle 2999",
        r"--cycle: 2999 is not a cycle that has started",
    ),
    row(
        "audit of an unknown scheme",
        "audit sample --scheme xyz --cycle 2025",
        r"unknown scheme 'xyz'",
    ),
    row(
        "audit of a scheme without audits",
        "audit sample --scheme iims --cycle 2025",
        r"scheme 'iims' has no audit",
    ),
    # members
    row("import a missing file", "members import {d}/missing.csv", r"cannot read .*missing\.csv"),
    row(
        "import another member's email",
        "members import {d}/steal.csv",
        r"steal\.csv: nothing imported: line 2: email 'jane@example\.com' belongs to member "
        r"M1; line 3: email 'tom@example\.com' belongs to member T1$",
    ),
    row(
        "import with bad rows listed",
        "members import {d}/bad.csv",
        r"bad\.csv: nothing imported: line 2: joined: .*; line 3: role: 'admin'",
    ),
    row(
        "import without columns",
        "members import {d}/nocols.csv",
        r"missing column\(s\) name, email, joined",
    ),
    row(
        "invite an unknown member",
        "members invite NOPE",
        r"no member with membership number 'NOPE'",
    ),
    row("show with a bad date", "members show M1 --as-of 2026-02-30", r"--as-of: '2026-02-30'"),
    # rules, classify, schemes
    row(
        "standings in year 1",
        "standings --as-of 0001-01-01",
        r"--as-of: '0001-01-01' is outside 1900-2999",
    ),
    row(
        "classify in year 9999",
        "classify --today 9999-12-31 tomorrow",
        r"--today: '9999-12-31' is outside",
    ),
    row(
        "classify a line in year 1",
        "classify --jsonl",
        r"line 1 today: '0001-01-01' is outside",
        stdin='{"id": 1, "text": "x", "today": "0001-01-01"}\n',
    ),
    row(
        "period end dry run in year 1",
        "period-end --now 0001-01-01 --dry-run",
        r"--now: '0001-01-01' is outside",
    ),
    row(
        "evaluate in year 9999",
        "rules evaluate --input -",
        r"as_of: '9999-12-31' is outside",
        stdin='{"scheme": "imi", "as_of": "9999-12-31", "member": {"joined": "2000-01-01"}, '
        '"claims": []}',
    ),
    row("evaluate a missing file", "rules evaluate --input {d}/missing.json", r"cannot read"),
    row(
        "evaluate malformed JSON",
        "rules evaluate --input -",
        r"malformed JSON at line 1",
        stdin="{oops",
    ),
    row(
        "classify with a bad date",
        "classify --today 2026-99-01 hello",
        r"--today: '2026-99-01' is not a date",
    ),
    row("classify with text and --jsonl", "classify --jsonl hello", r"give either TEXT or --jsonl"),
    row("show an unknown scheme", "schemes show nope", r"unknown scheme 'nope'"),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data directory with two members, and the files the rows name."""
    work = tmp_path_factory.mktemp("cli-table")
    (work / "members.csv").write_text(MEMBERS)
    (work / "steal.csv").write_text(
        "membership_no,name,email,scheme,grade,joined,role\n"
        "X1,Xavier,JANE@example.com,iims,,2020-01-01,member\n"
        "X2,Xena,tom@EXAMPLE.com,iims,,2020-01-01,member\n"
        "X3,Fine,fine@example.com,iims,,2020-01-01,member\n"
    )
    (work / "bad.csv").write_text(
        "membership_no,name,email,scheme,grade,joined,role\n"
        "B1,Bad Date,b1@example.com,iims,,someday,member\n"
        "B2,Bad Role,b2@example.com,iims,,2020-01-01,admin\n"
    )
    (work / "nocols.csv").write_text("membership_no\nM9\n")
    (work / "long.csv").write_text(
        "membership_no,name,email,scheme,grade,joined,role\n" + "9" * 65 + ",Long,,,,2020-01-01,\n"
    )
    (work / "bad.toml").write_text('colour = "blue"\n')
    (work / "afile").write_text("not a directory")
    (work / "model").mkdir()
    (work / "model" / "meta.json").write_text("{}")
    with pytest.MonkeyPatch.context() as patch:
        _environment(patch, work, {})
        with pytest.raises(SystemExit) as done:
            main(["members", "import", str(work / "members.csv")])
        assert done.value.code == 0
    yield work


def _environment(patch: pytest.MonkeyPatch, work: Path, env: dict[str, str]) -> None:
    for name in [n for n in os.environ if n.startswith("CPD_")]:
        patch.delenv(name)
    patch.chdir(work)
    patch.setenv("CPD_DATA_DIR", str(work / "data"))
    patch.setenv("CPD_WEB_LISTEN", "")
    for name, value in env.items():
        patch.setenv(name, value.replace("{d}", str(work)))


def assert_one_line(stderr: str, stdout: str, code: int | None, expect: str, want: int) -> None:
    """Exit ``want``, exactly one stderr line ``cpd: error: ...`` matching, no secret."""
    assert code == want, (code, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cpd: error: "), stderr
    assert re.search(expect, lines[0]), (expect, lines[0])
    assert "Traceback" not in stderr and SECRET not in stderr + stdout


@pytest.mark.parametrize("case", ROWS, ids=[r.name for r in ROWS])
def test_a_mistake_is_one_line_and_exit_2(
    case: Row, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _environment(monkeypatch, workdir, case.env)
    monkeypatch.setattr(sys, "stdin", io.StringIO(case.stdin or ""))
    args = [a.replace("{d}", str(workdir)) for a in case.args]
    with pytest.raises(SystemExit) as done:
        main(args)
    captured = capsys.readouterr()
    assert_one_line(captured.err, captured.out, done.value.code, case.expect, case.code)


def test_the_table_is_large_enough() -> None:
    assert len(ROWS) >= 35 and len({r.name for r in ROWS}) == len(ROWS)


def test_a_refused_import_imports_nothing(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _environment(monkeypatch, workdir, {})
    for command in (["members", "import", str(workdir / "steal.csv")], ["members", "show", "X3"]):
        with pytest.raises(SystemExit) as done:
            main(command)
        assert done.value.code == 2
    assert "no member with membership number 'X3'" in capsys.readouterr().err


SUBPROCESS_ROWS = [
    (
        "unreachable postgres",
        ["members", "show", "M1"],
        {"CPD_DATABASE_URL": UNREACHABLE_PG},
        r"CPD_DATABASE_URL: cannot use the database postgresql\+psycopg://u:\*\*\*@127\.0\.0\.1:1/x",
    ),
    (
        "unreachable postgres, cpd run",
        ["run"],
        {
            "CPD_DATABASE_URL": UNREACHABLE_PG,
            "CPD_SMTP_LISTEN": "",
            "CPD_SMTP_RELAY": "127.0.0.1:1",
        },
        r"cannot use the database .*u:\*\*\*@",
    ),
    (
        "data dir in /proc",
        ["members", "show", "M1"],
        {"CPD_DATA_DIR": "/proc/x/data"},
        r"CPD_DATA_DIR: cannot create the directory /proc/x",
    ),
    (
        "data dir under a file, cpd run",
        ["run"],
        {"CPD_DATA_DIR": "{d}/afile/data", "CPD_SMTP_LISTEN": "", "CPD_SMTP_RELAY": "127.0.0.1:1"},
        r"CPD_DATA_DIR: cannot create the directory .*afile",
    ),
]


@pytest.mark.parametrize(
    "name,args,env,expect", SUBPROCESS_ROWS, ids=[r[0] for r in SUBPROCESS_ROWS]
)
def test_a_real_cpd_process_fails_in_one_line(
    name: str, args: list[str], env: dict[str, str], expect: str, workdir: Path
) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CPD_")}
    environment["CPD_DATA_DIR"] = str(workdir / "data")
    environment["CPD_WEB_LISTEN"] = ""
    environment.update({k: v.replace("{d}", str(workdir)) for k, v in env.items()})
    result = cpd_process(*args, env=environment, cwd=workdir, timeout=60)
    assert_one_line(result.stderr, result.stdout, result.returncode, expect, 2)
