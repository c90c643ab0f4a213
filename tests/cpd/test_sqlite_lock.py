"""A second `cpd run` on one SQLite database file refuses to start, in one line; a SIGKILLed
holder leaves the file free."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

from cpd.storage.locks import hold_sqlite_file
from tests.cpd.test_cli import assert_one_line_error
from tests.support.cli import CPD_COMMAND, cpd_process
from tests.support.waiting import wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPD_")}
    env.update({"CPD_DATA_DIR": str(data), "CPD_SMTP_LISTEN": f"127.0.0.1:{_free_port()}"})
    return env


def test_a_second_cpd_run_on_the_same_sqlite_file_refuses(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log = tmp_path / "first.log"
    with log.open("w") as out:
        first = subprocess.Popen(
            [*CPD_COMMAND, "run"], env=_env(data), cwd=tmp_path, stdout=out, stderr=out
        )
    try:
        wait_until(lambda: "running;" in log.read_text(), 60, what="the first cpd run")
        second = cpd_process("run", env=_env(data), cwd=tmp_path, timeout=60)
        assert_one_line_error(second, "another cpd run", f"pid {first.pid}", "cpd.sqlite3")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    handle = hold_sqlite_file(f"sqlite:///{data / 'cpd.sqlite3'}")  # the kernel let it go
    assert handle is not None
    handle.close()
