"""Three `cpd run` on one throwaway PostgreSQL, one SIGKILLed at random three times.

The local Bot API server delivers every update by webhook, round-robin over the three
instances' web servers (every 7th update to two of them); members claim by chat and by mail
(each mail to one instance's SMTP listener, another one when it is down), the secretary accepts
every card; outbound mail goes to a local SMTP sink as relay. Mail and Telegram nudges fire
every minute on every instance (the job ledger lets one run each).

What must hold: every claim stored once and decided; every member told each thing once (a
message sent twice is allowed only when an instance was killed within ``REPEAT_WINDOW`` after
the first copy left: it died between the API's OK and its commit; such repeats are counted and
printed); each scheduled run of a nudge job by one instance only, and each member's reminders
delivered once.
"""

from __future__ import annotations

import collections
import datetime as dt
import email
import itertools
import os
import queue
import random
import re
import subprocess
import sys
import threading
import time
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import text

from cpd.claims.members import create_invite, import_members, parse_members_csv
from cpd.claims.service import ClaimsService
from cpd.storage import make_engine, migrate
from tests.conftest import _fresh_postgres_database
from tests.faults.conftest import Report
from tests.mail_ingest.support_servers import as_bytes, free_port, make_mail
from tests.support.extractor import StubExtractor
from tests.support.mail_auth import AUTH_OFF_ENV, MANY_CLAIMS_ENV
from tests.support.outbox import address
from tests.support.telegram_api import Call, FakeTelegramServer

TOKEN = "123456:TEST-token_for-instances"
SECRET = "hook-Secret_1"
SAM = 9000  # the secretary; the secretaries' chat is her private chat (no group rate limit)
CHAT_MEMBERS, MAIL_MEMBERS, CLAIMS_EACH = 30, 20, 6  # 50 members, 300 claims
KILLS = 3
REPEAT_WINDOW = 2.0
"""A repeat is excused when a kill came at most this long after the first copy was sent."""
DEADLINE = 150.0
SHOWS = ("southampton", "dusseldorf", "amsterdam", "barcelona", "birmingham", "helsinki")
COURSES = (
    "hull surveys", "ballast water treatment", "marine engine diagnostics",
    "fire safety on ferries", "stability calculations", "lifesaving appliances",
)  # fmt: skip
"""Each member's CLAIMS_EACH claims are distinct activities (a boat show in another city, a
course on another subject): claims/duplicates.py would hold a repeat of the same activity as a
duplicate (titles here at most 72 alike by its measure; its threshold is 85)."""


def _daytime_zone() -> str:
    """A time zone where it is now between 10:00 and 17:00 (no quiet hours, no 09:00 job)."""
    zones = [
        "Pacific/Kiritimati", "Pacific/Auckland", "Australia/Brisbane", "Asia/Tokyo",
        "Asia/Shanghai", "Asia/Bangkok", "Asia/Dhaka", "Asia/Karachi", "Asia/Dubai",
        "Europe/Moscow", "Europe/Athens", "Europe/Berlin", "Europe/London", "Atlantic/Azores",
        "America/Noronha", "America/Sao_Paulo", "America/Halifax", "America/New_York",
        "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Anchorage",
        "Pacific/Honolulu", "Pacific/Pago_Pago",
    ]  # fmt: skip
    for name in zones:
        if 10 <= dt.datetime.now(zoneinfo.ZoneInfo(name)).hour < 17:
            return name
    raise AssertionError("no daytime zone")


def _members() -> str:
    lines = ["membership_no,name,email,scheme,grade,joined,role"]
    lines += [f"C{n},Chat Member {n},,iims,member,2019-05-01,member" for n in range(CHAT_MEMBERS)]
    lines += [
        f"E{n},Mail Member {n},mail{n}@example.com,iims,member,2019-05-01,member"
        for n in range(MAIL_MEMBERS)
    ]
    lines.append("S1,Sam Secretary,sam@example.com,iims,member,2015-01-01,secretary")
    return "\n".join(lines) + "\n"


@dataclass
class Received:
    """One mail the relay sink got."""

    at: float
    to: str
    subject: str
    body: str


class Sink:
    """An aiosmtpd relay sink that keeps every mail with the time it came."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mails: list[Received] = []
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.original_content or b"", policy=policy.default)
        part = parsed.get_body(("plain",)) if isinstance(parsed, EmailMessage) else None
        body = part.get_content() if part is not None else ""
        with self.lock:
            for to in envelope.rcpt_tos:
                self.mails.append(Received(time.monotonic(), to, str(parsed["Subject"]), body))
        return "250 OK"


@dataclass
class Instance:
    """One `cpd run`: its environment, ports, process and logs."""

    number: int
    env: dict[str, str]
    web_port: int
    smtp_port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    def start(self) -> None:
        log = self.data_dir / f"run-{len(self.logs)}.log"
        self.logs.append(log)
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from cpd.cli import main; main()", "run"],
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
        )

    def running(self) -> bool:
        log = self.logs[-1].read_text(errors="replace") if self.logs else ""
        return "running; stop it" in log and "Telegram bot @" in log

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(30)
            self.process = None

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs)


class Calls:
    """Routes the Bot API server's accepted calls to per-chat queues (one reader thread)."""

    def __init__(self, server: FakeTelegramServer) -> None:
        self.server = server
        self.queues: dict[int, queue.Queue[Call]] = collections.defaultdict(queue.Queue)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._route, daemon=True)
        self.thread.start()

    def _route(self) -> None:
        seen = 0
        while not self.stop.is_set():
            with self.server._changed:
                self.server._changed.wait(0.2)
                new = self.server.sent[seen:]
                seen += len(new)
            for call in new:
                if isinstance(call.chat_id, int) and call.method in ("sendMessage", "sendPhoto"):
                    self.queues[call.chat_id].put(call)

    def next(self, chat: int, words: str, timeout: float) -> Call:
        deadline = time.monotonic() + timeout
        while True:
            try:
                call = self.queues[chat].get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"nothing with {words!r} to {chat} in {timeout} s") from None
            if words in (call.text or ""):
                return call


def _button(call: Call, label: str) -> str | None:
    for row in (call.reply_markup or {}).get("inline_keyboard", []):
        for key in row:
            if label in key["text"]:
                return str(key["callback_data"])
    return None


def _first_button(call: Call) -> str | None:
    rows = (call.reply_markup or {}).get("inline_keyboard", [])
    return str(rows[0][0]["callback_data"]) if rows and rows[0] else None


def _claim_no(call: Call) -> int:
    found = re.search(r"Claim #(\d+)", call.text or "")
    assert found, call.text
    return int(found.group(1))


@pytest.fixture
def world(tmp_path: Path, postgres_cluster: str) -> Iterator[tuple[str, FakeTelegramServer, Sink]]:
    url = _fresh_postgres_database(postgres_cluster)
    server = FakeTelegramServer(rate_limits=False)
    server.start_in_thread()
    server.webhook_twice = 7
    sink = Sink()
    sink.controller.start()
    try:
        yield url, server, sink
    finally:
        sink.controller.stop()
        server.stop_thread()


def _seed(url: str, server: FakeTelegramServer, tmp_path: Path) -> dict[str, int]:
    """Members imported, the chat members and the secretary linked to Telegram users."""
    engine = make_engine(url)
    migrate(engine)
    import_members(engine, parse_members_csv(_members(), "iims"))
    service = ClaimsService(
        engine, StubExtractor(), tmp_path / "evidence", zoneinfo.ZoneInfo("UTC")
    )
    users = {f"C{n}": 5000 + n for n in range(CHAT_MEMBERS)} | {"S1": SAM}
    for number, user in users.items():
        server.add_user(user, number)
        service.link_telegram(create_invite(engine, number, dt.timedelta(days=1))[0], user)
    engine.dispose()
    return users


def _instances(url: str, server: FakeTelegramServer, sink: Sink, tmp_path: Path) -> list[Instance]:
    zone = _daytime_zone()
    made = []
    for n in range(3):
        web, smtp = free_port(), free_port()
        data = tmp_path / f"instance-{n}"
        data.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CPD_")}
        env |= {
            "CPD_DATA_DIR": str(data),
            "CPD_DATABASE_URL": url,
            "CPD_TELEGRAM_TOKEN": TOKEN,
            "CPD_TELEGRAM_API_URL": server.api_url,
            "CPD_TELEGRAM_FILE_URL": server.file_url,
            "CPD_SECRETARY_CHAT_ID": str(SAM),
            "CPD_TELEGRAM_WEBHOOK_URL": "https://cpd.example.org/telegram",
            "CPD_TELEGRAM_WEBHOOK_SECRET": SECRET,
            "CPD_WEB_LISTEN": f"127.0.0.1:{web}",
            "CPD_SMTP_LISTEN": f"127.0.0.1:{smtp}",
            "CPD_SMTP_RECIPIENTS": "claims@example.com",
            "CPD_SMTP_RELAY": f"127.0.0.1:{sink.port}",
            "CPD_SMTP_RELAY_TLS": "none",
            "CPD_MAIL_FROM": "CPD Claims <claims@example.com>",
            "CPD_MAIL_RATE": "0",
            "CPD_OUTBOX_LEASE_SECONDS": "10",
            "CPD_NUDGE_CRON": "* * * * *",
            "CPD_MAIL_NUDGE_CRON": "* * * * *",
            "CPD_TIMEZONE": zone,
            "CPD_INSTANCE_ID": f"instance-{n}",
            **AUTH_OFF_ENV,
            **MANY_CLAIMS_ENV,
        }
        made.append(Instance(n, env, web, smtp, data))
    server.webhook_targets = [f"http://127.0.0.1:{i.web_port}/telegram" for i in made]
    return made


def _send_mail(instances: list[Instance], raw: bytes, sender: str, deadline: float) -> None:
    """To one instance after another until one answers 250 (an MTA's retry)."""
    import smtplib

    for attempt in itertools.count():
        port = instances[attempt % len(instances)].smtp_port
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                client.sendmail(sender, ["claims@example.com"], raw)
            return
        except (smtplib.SMTPException, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _repeats(
    copies: dict[tuple[object, ...], list[float]], kills: list[float]
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """(excused, unexcused) repeated messages."""
    excused, unexcused = [], []
    for key, times in copies.items():
        for _ in times[1:]:
            near = any(0 <= k - times[0] <= REPEAT_WINDOW for k in kills)
            (excused if near else unexcused).append(key)
    return excused, unexcused


def test_three_instances_one_killed_three_times(
    world: tuple[str, FakeTelegramServer, Sink], tmp_path: Path, fault_report: Report
) -> None:
    url, server, sink = world
    began = time.monotonic()
    users = _seed(url, server, tmp_path)
    instances = _instances(url, server, sink, tmp_path)
    for instance in instances:
        instance.start()
    calls = Calls(server)
    deadline = time.monotonic() + DEADLINE
    errors: list[BaseException] = []
    kills: list[float] = []
    try:
        _wait(lambda: all(i.running() for i in instances), 90, "three instances running",
              instances)  # fmt: skip
        started = time.monotonic()

        def member(user: int, n: int) -> None:
            try:
                seen: set[int] = set()
                for k in range(CLAIMS_EACH):
                    server.send_text(user, f"boat show {SHOWS[k]} today {k % 3 + 2} hours")
                    while True:
                        card = calls.next(user, "here is what I understood", DEADLINE)
                        if _claim_no(card) in seen:
                            continue  # an earlier card sent again
                        data = _button(card, "Submit")
                        if data is not None:
                            break
                        first = _first_button(card)  # the bot asks the kind: take the first
                        assert first is not None and card.message_id is not None, card.text
                        server.press_button(user, card.message_id, first)
                    seen.add(_claim_no(card))
                    assert card.message_id is not None
                    server.press_button(user, card.message_id, data)
                    calls.next(user, "will be verified soon", DEADLINE)
            except BaseException as exc:
                errors.append(exc)

        def mailer(n: int) -> None:
            try:
                address = f"mail{n}@example.com"
                for k in range(CLAIMS_EACH):
                    mail = make_mail(
                        f"Course on {COURSES[k]}, {k % 3 + 1} hours",
                        sender=f"Mail Member {n} <{address}>",
                    )
                    _send_mail(instances, as_bytes(mail), address, deadline)
            except BaseException as exc:
                errors.append(exc)

        def secretary() -> None:
            pressed: set[int] = set()
            try:
                while len(pressed) < CLAIMS_TOTAL and time.monotonic() < deadline:
                    try:
                        card = calls.queues[SAM].get(timeout=0.5)
                    except queue.Empty:
                        continue
                    data = _button(card, "Accept")
                    if data is None or card.message_id is None:
                        continue
                    claim = _claim_no(card)
                    if claim not in pressed:
                        pressed.add(claim)
                        server.press_button(SAM, card.message_id, data)
            except BaseException as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=member, args=(users[f"C{n}"], n), daemon=True)
            for n in range(CHAT_MEMBERS)
        ]
        threads += [
            threading.Thread(target=mailer, args=(n,), daemon=True) for n in range(MAIL_MEMBERS)
        ]
        threads.append(threading.Thread(target=secretary, daemon=True))
        for thread in threads:
            thread.start()
        engine = make_engine(url)
        rng = random.Random(14)

        def accepted() -> int:
            with engine.connect() as c:
                return int(
                    c.execute(
                        text("SELECT count(*) FROM claim WHERE status='accepted'")
                    ).scalar_one()
                )

        for share in (0.15, 0.4, 0.65):  # a kill at these shares of the claims decided
            _wait(lambda s=share: accepted() >= s * CLAIMS_TOTAL, DEADLINE, "progress", instances)
            victim = rng.choice(instances)
            time.sleep(rng.uniform(0, 0.5))
            kills.append(time.monotonic())
            victim.kill()
            victim.start()

        def settled() -> bool:
            with engine.connect() as c:
                pending = c.execute(text("SELECT count(*) FROM outbox WHERE status='pending'"))
                return accepted() == CLAIMS_TOTAL and pending.scalar_one() == 0

        _wait(settled, DEADLINE, "every claim decided and every notice delivered", instances,
              errors)  # fmt: skip
        decided = time.monotonic() - started

        def nudged() -> bool:  # a minute boundary passed: both nudge jobs ran somewhere
            with engine.connect() as c:
                jobs = c.execute(text("SELECT DISTINCT job FROM job_run")).scalars().all()
            return {"weekly-nudges", "mail-nudges"} <= set(jobs)

        _wait(nudged, 75, "a nudge run", instances, errors)
        _wait(settled, DEADLINE, "the nudges delivered", instances, errors)
        for thread in threads:
            thread.join(10)
        assert not errors, errors[:3]
        with engine.connect() as c:
            claims = c.execute(text("SELECT source_key, status FROM claim")).all()
            ledger = c.execute(
                text("SELECT job, scheduled_for, owner FROM job_run ORDER BY scheduled_for")
            ).all()
            reminders = [
                (channel, address(engine, channel, recipient, SAM), payload)
                for channel, recipient, payload in c.execute(
                    text("SELECT channel, recipient, payload FROM outbox WHERE template='reminder'")
                )
            ]
            sent_by = dict(
                c.execute(
                    text("SELECT lease_owner, count(*) FROM outbox WHERE status='sent' GROUP BY 1")
                ).all()
            )
        engine.dispose()
    finally:
        calls.stop.set()
        for instance in instances:
            instance.kill()

    # every claim stored once, every claim decided
    assert len(claims) == CLAIMS_TOTAL and len({k for k, _ in claims}) == CLAIMS_TOTAL
    assert {s for _, s in claims} == {"accepted"}
    # every member told each thing once (repeats only next to a kill)
    with server._lock:
        sent = [c for c in server.sent if c.method in ("sendMessage", "sendPhoto")]
    copies: dict[tuple[object, ...], list[float]] = collections.defaultdict(list)
    for call in sent:
        copies[("telegram", call.chat_id, call.text)].append(call.time)
    with sink.lock:
        for mail in sink.mails:
            copies[("mail", mail.to, mail.subject, mail.body)].append(mail.at)
    excused, unexcused = _repeats(copies, kills)
    for key in excused:
        print("repeat next to a kill:", key)
    assert not unexcused, unexcused[:5]
    accepted_notices = sum(1 for k in copies if "accepted" in str(k[2]) and k[1] != SAM)
    assert accepted_notices >= CLAIMS_TOTAL  # telegram and mail decisions reached everyone
    # each scheduled nudge run by one instance, each member's reminders delivered once
    runs = collections.Counter((job, at) for job, at, _ in ledger)
    assert runs and max(runs.values()) == 1
    nudge_runs = [r for r in ledger if r[0] in ("weekly-nudges", "mail-nudges")]
    assert nudge_runs, ledger
    logged = sum(i.log_text().count("reminders (email)") for i in instances)
    assert logged <= sum(1 for r in nudge_runs if r[0] == "mail-nudges")
    with sink.lock:
        mails = collections.Counter((m.to, m.subject) for m in sink.mails)
    for channel, recipient, payload in reminders:
        if channel == "telegram":
            got = len(copies[("telegram", int(recipient), payload["text"])])
        else:
            got = mails[(recipient, payload["subject"])]
        assert got >= 1, (channel, recipient, payload)
        assert (
            got == 1
            or ("telegram", int(recipient), payload["text"]) in excused
            or (
                channel == "email"
                and any(k[:3] == ("mail", recipient, payload["subject"]) for k in excused)
            )
        ), (channel, recipient, got)
    reminded = {(channel, recipient) for channel, recipient, _ in reminders}
    assert len(reminded) >= (CHAT_MEMBERS + MAIL_MEMBERS) // 2, reminded  # most are behind
    fault_report(
        "three instances on PostgreSQL, webhooks round-robin",
        sent=CLAIMS_TOTAL,
        accepted=CLAIMS_TOTAL,
        stored=len(claims),
        lost=CLAIMS_TOTAL - len(claims),
        repeated=len(excused),
        kills=len(kills),
        webhook_posts=len(server.webhook_posts),
        nudge_runs=len(nudge_runs),
        delivered_by=";".join(f"{k}={v}" for k, v in sorted(sent_by.items(), key=str)),
        seconds=f"{decided:.1f} (whole case {time.monotonic() - began:.1f})",
    )


CLAIMS_TOTAL = (CHAT_MEMBERS + MAIL_MEMBERS) * CLAIMS_EACH


def _wait(
    check: object,
    timeout: float,
    what: str,
    instances: list[Instance],
    errors: list[BaseException] | None = None,
) -> None:
    assert callable(check)
    end = time.monotonic() + timeout
    while not check():
        if errors:
            raise AssertionError(f"{what}: {errors[:3]}")
        if time.monotonic() > end:
            tails = "\n".join(f"--- {i.number}\n{i.log_text()[-2500:]}" for i in instances)
            raise AssertionError(f"timed out waiting for {what}\n{tails}")
        time.sleep(0.2)
