"""What the Telegram fault cases share (tests/faults/test_telegram_*faults.py): members
seeded straight into the database, `cpd run` against the local Bot API server started, killed
and restarted (``BotRun``), the kill loop, and `cpd run` with mail and the bot for the
Bot-API-down case.

``FAULT_KILLS`` sets the number of kills (tests/faults/conftest.py; default 30, 10 in
``.ci/run``); the figures name the count used. With 10, 300 updates in 11 waves of 28 still
give every kill a wave in flight. Kills land 0.05-0.8 s after a wave of updates was injected,
which is when PTB's own Updater lost updates (it confirms a batch before handling it). Seed
data goes straight into the database before `cpd run` starts, to keep each case near a minute
and a half.
"""

from __future__ import annotations

import os
import random
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import update

from cpd.claims.members import import_members, parse_members_csv
from cpd.storage import Member, make_engine, migrate, transaction
from tests.faults.conftest import KILLS
from tests.mail_ingest.support_servers import CLAIMS_ADDRESS, as_bytes, make_mail
from tests.support.mail_auth import AUTH_OFF_ENV, MANY_CLAIMS_ENV
from tests.support.telegram_api import FakeTelegramServer
from tests.support.waiting import wait_until

TOKEN = "555111:FAULT-token_secret-part"
SAM = 900  # the secretary; the secretary "chat" is Sam's private chat (no group pacing)
MEMBERS = 10
TOTAL = 300
WAVE = TOTAL // (KILLS + 1) + 1  # updates injected per run of `cpd run`


def _members_csv() -> str:
    rows = ["membership_no,name,email,scheme,grade,joined,role"]
    rows += [
        f"M{i:02d},Member {i},m{i}@example.com,iims,member,2019-05-01,member"
        for i in range(MEMBERS)
    ]
    rows.append("S1,Sam Secretary,sam@example.com,iims,,2015-01-01,secretary")
    return "\n".join(rows) + "\n"


def _user(i: int) -> int:
    return 1000 + i


def _seed(data_dir: Path) -> None:
    """Members imported and linked to Telegram users (as `/start` would do)."""
    engine = make_engine(f"sqlite:///{data_dir / 'cpd.sqlite3'}")
    try:
        migrate(engine)
        import_members(engine, parse_members_csv(_members_csv(), "iims"))
        with transaction(engine) as session:
            for i in range(MEMBERS):
                session.execute(
                    update(Member)
                    .where(Member.membership_no == f"M{i:02d}")  # type: ignore[arg-type]
                    .values(telegram_user_id=_user(i))
                )
            session.execute(
                update(Member)
                .where(Member.membership_no == "S1")  # type: ignore[arg-type]
                .values(telegram_user_id=SAM)
            )
    finally:
        engine.dispose()


def _query(data_dir: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(f"file:{data_dir / 'cpd.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()


@dataclass
class BotRun:
    """`cpd run` against the fake Bot API; started, killed and restarted by the test."""

    server: FakeTelegramServer
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)
    startups: list[float] = field(default_factory=list)

    def start(self) -> None:
        """Start and wait until the bot is up (its command list set)."""
        assert self.process is None
        log = self.data_dir / f"cpd-run-{len(self.logs)}.log"
        self.logs.append(log)
        mark, began = len(self.server.sent), time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from cpd.cli import main; main()", "run"],
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
        )
        try:
            self.server.wait_for(lambda c: c.method == "setMyCommands", timeout=60, after=mark)
        except TimeoutError:
            raise AssertionError(f"cpd run did not start:\n{log.read_text()}") from None
        self.startups.append(time.monotonic() - began)

    def kill(self) -> None:
        """SIGKILL, as a power cut would."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> int:
        """SIGTERM; the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            self.process = None

    @property
    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())


def _wait(check: Callable[[], bool], timeout: float, what: str, run: BotRun) -> None:
    wait_until(check, timeout, what=what, interval=0.1, detail=lambda: run.log_text[-3000:])


def _run_to_the_end(
    run: BotRun,
    server: FakeTelegramServer,
    inject: Callable[[int], None],
    rng: random.Random,
    done: Callable[[], bool],
) -> None:
    """The kills, then a wait until ``done`` and every injected update confirmed and handled,
    then SIGTERM (exit 0). The bot run is killed and the server stopped whatever happened."""
    unhandled_sql = "SELECT count(*) FROM telegram_inbox WHERE handled_at IS NULL"
    try:
        _with_kills(run, inject, rng)
        _wait(
            lambda: (
                done()
                and not server.unconfirmed()
                and _query(run.data_dir, unhandled_sql)[0][0] == 0
            ),
            90,
            "every update handled",
            run,
        )
        assert run.stop() == 0
    finally:
        if run.process is not None:
            run.kill()
        server.stop_thread()


def _with_kills(run: BotRun, inject: Callable[[int], None], rng: random.Random) -> None:
    """KILLS runs each killed at random after a wave of updates, then a last clean run."""
    for wave in range(KILLS):
        run.start()
        inject(wave)
        time.sleep(rng.uniform(0.05, 0.8))
        run.kill()
    run.start()
    inject(KILLS)


def _server() -> FakeTelegramServer:
    server = FakeTelegramServer(rate_limits=False)
    server.start_in_thread()
    for i in range(MEMBERS):
        server.add_user(_user(i), f"Member{i}")
    server.add_user(SAM, "Sam")
    return server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mail_env(data_dir: Path, api_port: int, token: str) -> tuple[dict[str, str], int]:
    smtp_port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPD_")}
    env.update(
        {
            "CPD_DATA_DIR": str(data_dir),
            "CPD_TELEGRAM_TOKEN": token,
            "CPD_TELEGRAM_API_URL": f"http://127.0.0.1:{api_port}/bot",
            "CPD_TELEGRAM_FILE_URL": f"http://127.0.0.1:{api_port}/file/bot",
            "CPD_TELEGRAM_RETRY_MAX": "1",
            "CPD_WEB_LISTEN": "",
            "CPD_SMTP_LISTEN": f"127.0.0.1:{smtp_port}",
            "CPD_MAIL_FROM": "CPD Claims <claims@example.com>",
            **AUTH_OFF_ENV,  # today's intake: From: believed (tests/support/mail_auth.py)
            **MANY_CLAIMS_ENV,  # 25 claims by mail from Jane within the hour, on purpose
        }
    )
    return env, smtp_port


def _spawn(env: dict[str, str], data_dir: Path, name: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = data_dir / name
    process = subprocess.Popen(
        [sys.executable, "-c", "from cpd.cli import main; main()", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        cwd=data_dir,
    )
    return process, log


def _log_has(log: Path, words: str, count: int = 1) -> bool:
    return log.read_text(errors="replace").count(words) >= count


def _until(check: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    wait_until(check, timeout, what=what, detail=lambda: log.read_text()[-3000:])


def _send_mails(port: int, count: int, tag: str) -> int:
    accepted = 0
    for i in range(count):
        mail = make_mail(
            f"Boat show at Southampton yesterday, {1 + i % 3} hours ({tag} {i})",
            sender="Jane Surveyor <jane@example.com>",
            message_id=f"<{tag}-{i}@example.com>",
        )
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.sendmail("jane@example.com", [CLAIMS_ADDRESS], as_bytes(mail))
        accepted += 1
    return accepted
