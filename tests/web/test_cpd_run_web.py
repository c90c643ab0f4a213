"""``cpd run`` serves the web desk on CPD_WEB_LISTEN: ``cpd web link`` signs in, SIGTERM stops
it cleanly; a taken port is a one-line error."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.cli import run_cpd
from tests.support.waiting import wait_until

MEMBERS = """membership_no,name,email,scheme,grade,joined,role
S1,Sam Secretary,sam@example.com,iims,member,2015-01-01,secretary
"""
CLI = [sys.executable, "-c", "from cpd.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data_dir: Path, listen: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPD_")}
    env.update({"CPD_DATA_DIR": str(data_dir), "CPD_SMTP_LISTEN": "", "CPD_WEB_LISTEN": listen})
    return env


def test_cpd_run_serves_the_web_desk_and_a_link_signs_in(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = _free_port()
    env = _env(data_dir, f"127.0.0.1:{port}")
    members = tmp_path / "members.csv"
    members.write_text(MEMBERS)
    settings = {"CPD_SMTP_LISTEN": "", "CPD_WEB_LISTEN": f"127.0.0.1:{port}"}
    imported = run_cpd("members", "import", str(members), data_dir=data_dir, env=settings)
    assert imported.returncode == 0, imported.stderr
    process = subprocess.Popen(
        [*CLI, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            assert process.poll() is None, process.communicate()[1]
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, 60, what="the web desk's /healthz", interval=0.2)
        link = run_cpd("web", "link", "S1", data_dir=data_dir, env=settings)
        assert link.returncode == 0, link.stderr
        url = link.stdout.strip()
        assert url.startswith(f"{base}/signin/")
        with httpx.Client(timeout=10) as client:
            assert client.get(url).status_code == 303
            me = client.get(f"{base}/api/me")
            assert me.status_code == 200 and me.json()["role"] == "secretary"
        # the cookie key is in the database (every instance on it signs alike), no file
        assert not (data_dir / "web-secret").exists()
        with sqlite3.connect(data_dir / "cpd.sqlite3") as db:
            [(key,)] = db.execute("SELECT value FROM app_secret WHERE name = 'web-session'")
        assert len(key) >= 32
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
        assert process.returncode == 0, err
        assert time.monotonic() - started < 10
        assert "web desk: listening on 127.0.0.1" in err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_a_taken_web_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*CLI, "run"],
            env=_env(tmp_path / "data", f"127.0.0.1:{port}"),
            timeout=60,
            capture_output=True,
            text=True,
        )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("cpd: error: CPD_WEB_LISTEN: cannot listen on"), result.stderr
    assert "Traceback" not in result.stderr


def test_cpd_web_link_for_an_unknown_member_is_one_line(tmp_path: Path) -> None:
    settings = {"CPD_SMTP_LISTEN": "", "CPD_WEB_LISTEN": "127.0.0.1:1"}
    result = run_cpd("web", "link", "NOPE", data_dir=tmp_path / "d", env=settings)
    assert result.returncode == 2
    assert result.stderr.strip() == "cpd: error: no member with membership number 'NOPE'"
