"""Telegram under faults, against `cpd run` as a subprocess and the local Bot API server.

- 300 secretary Accept presses with 30 SIGKILLs of `cpd run` (a restart after each): every
  press confirmed to Telegram is applied exactly once.
- 300 member claims by text with 30 SIGKILLs: every message becomes exactly one claim.

``FAULT_KILLS`` sets the number of kills (tests/faults/conftest.py; default 30, 10 in
``.ci/run``); the figures name the count used. With 10, 300 updates in 11 waves of 28 still
give every kill a wave in flight.
- The Bot API down at start: mail claims are stored meanwhile, the bot starts when the API
  comes up, SIGTERM during the retry stops within 10 s; a rejected token never reaches stderr.

Kills land 0.05-0.8 s after a wave of updates was injected, which is when PTB's own Updater
lost updates (it confirms a batch before handling it). Seed data goes straight into the
database before `cpd run` starts, to keep each case near a minute and a half.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
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
from sqlmodel import select

from cpd.claims.members import import_members, parse_members_csv
from cpd.storage import Claim, Member, OutboxMessage, make_engine, migrate, transaction
from tests.faults.conftest import KILLS, Report, kills_label
from tests.mail_ingest.support_servers import CLAIMS_ADDRESS, as_bytes, make_mail
from tests.support.cpd_run import cpd_run_env
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


def test_secretary_decisions_survive_30_sigkills(tmp_path: Path, fault_report: Report) -> None:
    began = time.monotonic()
    rng = random.Random(20261201)
    data_dir = tmp_path / "data"
    _seed(data_dir)
    server = _server()
    engine = make_engine(f"sqlite:///{data_dir / 'cpd.sqlite3'}")
    today = dt.date.today()
    cards: list[tuple[int, int]] = []  # (claim id, card message id)
    with transaction(engine) as session:
        members = {m.membership_no: m.id for m in session.exec(select(Member))}
        for i in range(TOTAL):
            claim = Claim(
                member_id=members[f"M{i % MEMBERS:02d}"],
                channel="telegram",
                source_key=f"seed:{i}",
                raw_text=f"boat show {i}",
                kind="exhibition",
                hours=2,
                start_date=today - dt.timedelta(days=i % 20),
                title=f"Boat show {i}",
                status="pending",
                proposed_points=1,
                submitted_at=dt.datetime.now(dt.UTC),
            )
            session.add(claim)
            session.flush()
            assert claim.id is not None
            markup = {
                "inline_keyboard": [[{"text": "Accept", "callback_data": f"s:{claim.id}:accept"}]]
            }
            message_id = server.add_bot_message(SAM, f"Claim #{claim.id}", markup)
            claim.card_chat_id, claim.card_message_id = SAM, message_id
            cards.append((claim.id, message_id))
        session.execute(update(OutboxMessage).values(status="sent"))
    engine.dispose()
    presses: dict[int, int] = {}  # update_id -> claim id

    def inject(wave: int) -> None:
        for claim_id, message_id in cards[wave * WAVE : (wave + 1) * WAVE]:
            data = f"s:{claim_id}:accept"
            presses[server.press_button(SAM, message_id, data, chat_id=SAM)] = claim_id

    run = BotRun(server, data_dir, cpd_run_env(server, data_dir, TOKEN, SAM))
    accepted_sql = "SELECT count(*) FROM claim WHERE status = 'accepted'"
    notices_sql = "SELECT count(*) FROM outbox WHERE channel = 'telegram' AND recipient != ?"

    def done() -> bool:
        accepted = _query(data_dir, accepted_sql)[0][0] == TOTAL
        return accepted and _query(data_dir, notices_sql, "secretaries")[0][0] == TOTAL

    _run_to_the_end(run, server, inject, rng, done)
    statuses = dict(_query(data_dir, "SELECT id, status FROM claim"))
    decisions = _query(
        data_dir,
        "SELECT claim_id, count(*) FROM audit_log WHERE action = 'claim.accepted' "
        "GROUP BY claim_id",
    )
    notices = _query(data_dir, notices_sql, "secretaries")[0][0]
    confirmed = [u for u in presses if u not in set(server.unconfirmed())]
    stored = sum(1 for claim_id in set(presses.values()) if statuses[claim_id] == "accepted")
    lost = sum(1 for u in confirmed if statuses[presses[u]] != "accepted")
    repeated = sum(count - 1 for _, count in decisions if count > 1)
    unhandled = _query(data_dir, "SELECT count(*) FROM telegram_inbox WHERE handled_at IS NULL")
    answered = len(server.answered_callbacks)
    fault_report(
        f"telegram: 300 secretary decisions, {KILLS} SIGKILLs",
        sent=len(presses),
        accepted=len(confirmed),
        stored=stored,
        lost=lost,
        repeated=repeated,
        kills=kills_label(),
        answered=answered,
        member_notices=notices,
        inbox_unhandled=unhandled[0][0],
        startup_s=f"mean {sum(run.startups) / len(run.startups):.2f} max {max(run.startups):.2f}",
        wall_s=round(time.monotonic() - began, 1),
    )
    assert len(presses) == TOTAL and len(confirmed) == TOTAL
    assert stored == TOTAL and lost == 0 and repeated == 0
    assert len(decisions) == TOTAL and unhandled[0][0] == 0 and notices == TOTAL


def test_member_claims_survive_30_sigkills(tmp_path: Path, fault_report: Report) -> None:
    began = time.monotonic()
    rng = random.Random(1201)
    data_dir = tmp_path / "data"
    _seed(data_dir)
    server = _server()
    sent: dict[int, str] = {}  # update_id -> the claim's source key
    counter = iter(range(TOTAL))

    def inject(wave: int) -> None:
        for _ in range(WAVE):
            i = next(counter, None)
            if i is None:
                return
            user = _user(i % MEMBERS)
            text = f"boat show southampton yesterday {1 + i % 5} hours, visit {i}"
            update_id = server.send_text(user, text)
            message = server.update(update_id)["message"]
            sent[update_id] = f"telegram:message:{user}:{message['message_id']}"

    run = BotRun(server, data_dir, cpd_run_env(server, data_dir, TOKEN, SAM))
    count_sql = "SELECT count(*) FROM claim WHERE source_key LIKE 'telegram:%'"

    def drafts() -> list[str]:
        return [
            c.text or ""
            for c in server.sent
            if c.method == "sendMessage" and "understood" in (c.text or "")
        ]

    def answered_keys() -> set[str]:
        shown = {int(m) for text in drafts() for m in re.findall(r"Claim #(\d+): here is", text)}
        claim_of = dict(_query(data_dir, "SELECT source_key, id FROM claim"))
        return {key for key in sent.values() if claim_of.get(key) in shown}

    def done() -> bool:  # every message claimed and its draft answered (both asserted below)
        return _query(data_dir, count_sql)[0][0] >= TOTAL and len(answered_keys()) == TOTAL

    _run_to_the_end(run, server, inject, rng, done)
    keys = [row[0] for row in _query(data_dir, "SELECT source_key FROM claim")]
    confirmed = [u for u in sent if u not in set(server.unconfirmed())]
    stored = sum(1 for key in set(sent.values()) if key in set(keys))
    lost = sum(1 for u in confirmed if sent[u] not in set(keys))
    repeated = len(keys) - len(set(keys)) + sum(1 for k in keys if k not in set(sent.values()))
    answered = answered_keys()
    fault_report(
        f"telegram: 300 member claims, {KILLS} SIGKILLs",
        sent=len(sent),
        accepted=len(confirmed),
        stored=stored,
        lost=lost,
        repeated=repeated,
        kills=kills_label(),
        draft_answers=len(drafts()),
        unanswered=TOTAL - len(answered),
        startup_s=f"mean {sum(run.startups) / len(run.startups):.2f} max {max(run.startups):.2f}",
        wall_s=round(time.monotonic() - began, 1),
    )
    assert len(sent) == TOTAL and len(confirmed) == TOTAL
    assert stored == TOTAL and lost == 0 and repeated == 0
    assert len(answered) == TOTAL  # a message handled again after a crash is answered too


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


def test_the_bot_api_down_at_start_keeps_mail_running(tmp_path: Path, fault_report: Report) -> None:
    from tests.mail_ingest.support_servers import prepare_data_dir

    began = time.monotonic()
    data_dir = tmp_path / "data"
    prepare_data_dir(data_dir)
    api_port = _free_port()
    env, smtp_port = _mail_env(data_dir, api_port, TOKEN)
    # 1. nothing listens on the Bot API port: mail is taken and stored while the bot retries
    process, log = _spawn(env, data_dir, "down.log")
    server = FakeTelegramServer(rate_limits=False, port=api_port)
    try:
        _until(lambda: _log_has(log, "listening for claim mail on"), 60, "the SMTP listener", log)
        _until(lambda: _log_has(log, "not started (attempt", 2), 30, "two bot retries", log)
        accepted = _send_mails(smtp_port, 20, "down")
        claims_sql = "SELECT count(*) FROM claim WHERE source_key LIKE 'email:%'"
        _until(lambda: _query(data_dir, claims_sql)[0][0] >= accepted, 30, "20 mail claims", log)
        stored_while_down = _query(data_dir, claims_sql)[0][0]
        # 2. the API comes up: the bot starts without a restart
        server.start_in_thread()
        up = time.monotonic()
        server.wait_for(lambda c: c.method == "setMyCommands", timeout=30)
        bot_started_after = time.monotonic() - up
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        server.stop_thread()
    startup_text = log.read_text()
    assert "database sqlite:///" in startup_text and "SMTP claim mail: listening on" in startup_text
    assert "stop it with Ctrl-C or SIGTERM" in startup_text
    assert "CPD_SECRETARY_CHAT_ID is not set" in startup_text
    assert "Traceback" not in startup_text and TOKEN not in startup_text

    # 3. SIGTERM while the bot is still retrying stops everything within 10 s
    process, log = _spawn(env, data_dir, "sigterm.log")
    try:
        _until(lambda: _log_has(log, "not started (attempt", 2), 60, "two bot retries", log)
        t = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
        stop_seconds = time.monotonic() - t
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 0 and stop_seconds < 10

    # 4. a token Telegram rejects: one line per attempt, never the token; mail keeps running
    rejected = "bad-token-Sup3rSecret"
    server = FakeTelegramServer(rate_limits=False, port=api_port)
    server.start_in_thread()
    env_bad, smtp_bad = _mail_env(data_dir, api_port, rejected)
    process, log = _spawn(env_bad, data_dir, "rejected.log")
    try:
        _until(lambda: _log_has(log, "check CPD_TELEGRAM_TOKEN"), 60, "the rejected token", log)
        accepted += _send_mails(smtp_bad, 5, "rejected")
        _until(lambda: _query(data_dir, claims_sql)[0][0] >= accepted, 30, "25 mail claims", log)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        server.stop_thread()
    rejected_text = log.read_text()
    assert rejected not in rejected_text and "Sup3rSecret" not in rejected_text
    assert "Traceback" not in rejected_text
    stored = _query(data_dir, claims_sql)[0][0]
    fault_report(
        "telegram: Bot API down at start (mail meanwhile), SIGTERM in retry, rejected token",
        sent=accepted,
        accepted=accepted,
        stored=stored,
        lost=accepted - stored,
        repeated=max(0, stored - accepted),
        stored_while_down=stored_while_down,
        bot_started_after_api_up_s=round(bot_started_after, 1),
        sigterm_during_retry_s=round(stop_seconds, 2),
        token_on_stderr="no",
        wall_s=round(time.monotonic() - began, 1),
    )
    assert stored == accepted == 25 and stored_while_down == 20
