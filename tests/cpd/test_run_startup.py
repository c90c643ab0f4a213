"""`cpd run` start-up failures an operator can cause are one line on stderr and exit 2, with
no traceback and no secret."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.cpd.test_cli import assert_one_line_error, cpd


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_uncreatable_data_directory_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = cpd(
        tmp_path,
        "run",
        CPD_DATA_DIR=str(blocker / "data"),
        CPD_SMTP_LISTEN=f"127.0.0.1:{_closed_port()}",
    )
    assert_one_line_error(result, "CPD_DATA_DIR", str(blocker / "data"))


def test_an_unreachable_postgresql_is_one_line_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://cpd:Pw-n0t-sh0wn@127.0.0.1:{_closed_port()}/cpd"
    result = cpd(
        tmp_path, "run", CPD_DATABASE_URL=url, CPD_SMTP_LISTEN=f"127.0.0.1:{_closed_port()}"
    )
    assert_one_line_error(result, "cannot use the database", "127.0.0.1")
    assert "Pw-n0t-sh0wn" not in result.stderr and "***" in result.stderr
