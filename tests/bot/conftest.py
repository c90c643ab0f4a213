"""End-to-end fixtures: the local Bot API server and `cpd run` as a real subprocess."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cpd.claims.members import create_invite, import_members, parse_members_csv
from cpd.claims.notifications import waiting
from cpd.storage import make_engine, migrate
from tests.support.cpd_run import cpd_run_env
from tests.support.telegram_api import Call, FakeTelegramServer

TOKEN = "123456:TEST-token_for-e2e"
SECRETARY_CHAT = -100777
MEMBERS = """membership_no,name,email,scheme,grade,joined,role
M1,Jane Surveyor,jane@example.com,iims,member,2019-05-01,member
I1,Ivy Records,ivy@example.com,iim,professional,2019-05-01,member
T1,Tom Technician,tom@example.com,imi,member,2024-05-01,member
B1,Bea Scientist,bea@example.com,ibms,,2019-05-01,member
S1,Sam Secretary,sam@example.com,iims,,2015-01-01,secretary
"""
USERS = {"M1": 101, "I1": 102, "T1": 103, "B1": 104, "S1": 201}
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 8 + b"\xff\xd9"


@dataclass
class BotWorld:
    """The server, the data directory, and the running `cpd run` process."""

    server: FakeTelegramServer
    data_dir: Path
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def start(self) -> None:
        """Start `cpd run` and wait until it polls."""
        assert self.process is None
        self.log = self.data_dir / f"cpd-run-{time.monotonic_ns()}.log"
        handle = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from cpd.cli import main; main()", "run"],
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
        )
        mark = len(self.server.sent)
        try:
            self.server.wait_for(lambda c: c.method == "setMyCommands", timeout=60, after=mark)
        except TimeoutError:
            raise AssertionError(f"cpd run did not start:\n{self.log.read_text()}") from None

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Stop `cpd run` with ``sig``; its exit status."""
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=30)
        finally:
            self.process = None
        return code

    def wait_outbox_drained(self, timeout: float = 20) -> None:
        """Wait until `cpd run` has recorded every notification as delivered."""
        engine = make_engine(f"sqlite:///{self.data_dir / 'cpd.sqlite3'}")
        deadline = time.monotonic() + timeout
        try:
            while waiting(engine, "telegram"):
                if time.monotonic() > deadline:
                    raise AssertionError("the outbox was not drained")
                time.sleep(0.05)
        finally:
            engine.dispose()

    def link(self, number: str) -> None:
        """The member sends /start with their invite token."""
        user = USERS[number]
        mark = len(self.server.sent)
        self.server.send_text(user, f"/start {self.tokens[number]}")
        self.expect(user, "Welcome", after=mark)

    def expect(self, chat_id: int, words: str, after: int = 0, timeout: float = 20) -> Call:
        """The next message to ``chat_id`` containing ``words`` (the run log on a timeout)."""

        def wanted(c: Call) -> bool:
            return (
                c.chat_id == chat_id
                and c.method in ("sendMessage", "sendPhoto")
                and words in (c.text or "")
            )

        try:
            return self.server.wait_for(wanted, timeout=timeout, after=after)
        except TimeoutError as exc:
            log = self.log.read_text()[-3000:] if self.log else ""
            raise AssertionError(f"{exc}\n--- cpd run log ---\n{log}") from None

    def button(self, call: Call, label: str) -> str:
        """The callback data of the button labelled ``label`` on a sent message."""
        rows = (call.reply_markup or {}).get("inline_keyboard", [])
        for row in rows:
            for button in row:
                if label in button["text"]:
                    return button["callback_data"]
        raise AssertionError(f"no button {label!r} in {rows}")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[BotWorld]:
    """Members imported and invited, a Bot API server, an environment for `cpd run`."""
    data_dir = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data_dir / 'cpd.sqlite3'}")
    migrate(engine)
    import_members(engine, parse_members_csv(MEMBERS, "iims"))
    tokens = {n: create_invite(engine, n, dt.timedelta(days=1))[0] for n in USERS}
    engine.dispose()
    server = FakeTelegramServer(rate_limits=False)
    server.start_in_thread()
    for number, user in USERS.items():
        server.add_user(user, number)
    server.add_group(SECRETARY_CHAT, "CPD secretaries")
    env = cpd_run_env(server, data_dir, TOKEN, SECRETARY_CHAT)
    world = BotWorld(server, data_dir, env, tokens)
    try:
        yield world
    finally:
        if world.process is not None:
            world.process.kill()
            world.process.wait(timeout=30)
        server.stop_thread()
