"""Throughput of reminder mail: the product's mail sender against a bare aiosmtplib loop.

    python benchmarks/nudges.py [--mails 20000] [--rate unlimited] [--batch 200]

``--mails`` reminder rows (payload as the reminder planner writes them: subject, text, HTML,
sender name, ``kind: "reminder"``, member id) are queued in a fresh SQLite database in a
temporary directory. A local relay (aiosmtpd in a subprocess, counting mails and connections)
receives, in the same run:

1. **product**: ``cpd.mail_ingest.outbound.MailSender`` delivering the whole outbox batch after
   batch, at ``--rate`` mails a second (``CPD_MAIL_RATE``; default ``unlimited``), as
   ``cpd run`` does: due rows read, reminder headers, HTML part and VERP return path composed,
   each row marked sent after the relay's ``250`` (by the writer thread, in groups);
2. **bare**: the same mails, composed beforehand by the product's composer, sent by a plain
   loop of ``aiosmtplib.SMTP.send_message`` over one connection, nothing recorded.

Prints mails/s for each, the SMTP connections each used (counted at the relay), and the ratio
product/bare (bar: >= 0.8 at an unlimited rate). Exit status 0: it reports, it does not gate.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import socket
import subprocess
import sys
import tempfile
import time
import zoneinfo
from pathlib import Path
from typing import Any

import aiosmtplib
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cpd.claims.notifications import Notification  # noqa: E402
from cpd.claims.service import ClaimsService  # noqa: E402
from cpd.mail_ingest.outbound import MailSender, compose_for_relay  # noqa: E402
from cpd.mail_ingest.pacer import parse_rate  # noqa: E402
from cpd.storage import Member, OutboxMessage, make_engine, migrate, transaction  # noqa: E402

MAIL_FROM = "IIMS CPD <cpd@claims.example.org>"
WEB_URL = "https://cpd.example.org"
RELAY = """
import asyncio, sys, threading
from aiosmtpd.smtp import SMTP

counts = {"messages": 0, "connections": 0}

class Count:
    async def handle_DATA(self, server, session, envelope):
        counts["messages"] += 1
        return "250 OK"

def factory():
    counts["connections"] += 1
    return SMTP(Count(), hostname="relay")

def answer():
    for line in sys.stdin:
        print(counts["messages"], counts["connections"], flush=True)

async def main(port):
    loop = asyncio.get_running_loop()
    await loop.create_server(factory, "127.0.0.1", port)
    threading.Thread(target=answer, daemon=True).start()
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main(int(sys.argv[1])))
"""
TEXT = (
    "CPD progress: {done} of 20 points. {left} points to go by 31 December 2026 "
    "(35 days): about 3 a week.\n\nTo claim, mail what you did to claims@claims.example.org."
)
HTML = (
    "<p>CPD progress: <b>{done}</b> of 20 points.</p><p>{left} points to go by "
    "31 December 2026 (35 days): about 3 a week.</p>"
    '<p>To claim, mail what you did to <a href="mailto:claims@claims.example.org">'
    "claims@claims.example.org</a>.</p>"
)


class NoExtractor:
    """The sender extracts nothing; the service needs an extractor object."""

    def extract(self, text: str, today: dt.date) -> Any:
        raise NotImplementedError


class Relay:
    """The counting relay subprocess."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.process = subprocess.Popen(
            [sys.executable, "-c", RELAY, str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None and self.process.stdin is not None
        assert self.process.stdout.readline().strip() == "ready"

    def counts(self) -> tuple[int, int]:
        """(messages, connections) so far."""
        assert self.process.stdout is not None and self.process.stdin is not None
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        messages, connections = self.process.stdout.readline().split()
        return int(messages), int(connections)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def queue(engine: Any, count: int) -> None:
    """The members, and one reminder row each addressed to the member (a role, as the
    planner writes it: the sender resolves the address at delivery)."""
    now = dt.datetime.now(dt.UTC)
    members = [
        {
            "id": index + 1,
            "membership_no": f"N{index}",
            "name": f"Member {index}",
            "email": f"member{index}@members.example.com",
            "scheme": "iims",
            "joined": dt.date(2019, 5, 1),
            "role": "member",
            "nudges_muted": False,
            "created_at": now,
            "updated_at": now,
        }
        for index in range(count)
    ]
    rows = [
        {
            "dedup_key": f"reminder:{index}:2026-11-26",
            "channel": "email",
            "recipient": f"member:{index + 1}",
            "template": "reminder",
            "payload": {
                "subject": "Your CPD progress",
                "text": TEXT.format(done=index % 20, left=20 - index % 20),
                "html": HTML.format(done=index % 20, left=20 - index % 20),
                "sender_name": "IIMS CPD",
                "kind": "reminder",
                "member_id": index + 1,
            },
        }
        for index in range(count)
    ]
    with transaction(engine) as session:
        session.execute(insert(Member), members)
        session.bulk_insert_mappings(OutboxMessage, rows)  # type: ignore[arg-type]


async def product(sender: MailSender) -> int:
    sent = 0
    while True:
        sent += await sender.deliver_due()
        if not sender.more_due:
            return sent


async def bare(port: int, mails: list[tuple[Any, str, str]]) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, use_tls=False, start_tls=False)
    await client.connect()
    for message, sender, recipient in mails:
        if isinstance(message, bytes):  # reminders are rendered as bytes
            await client.sendmail(sender, [recipient], message)
        else:
            await client.send_message(message, sender=sender, recipients=[recipient])
    await client.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=20_000)
    parser.add_argument("--rate", default="unlimited", help="CPD_MAIL_RATE (default unlimited)")
    parser.add_argument("--batch", type=int, default=200, help="due rows read at a time")
    args = parser.parse_args()
    rate = parse_rate(args.rate)
    relay = Relay()
    try:
        with tempfile.TemporaryDirectory(prefix="cpd-nudges-") as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'cpd.sqlite3'}")
            migrate(engine)
            started = time.perf_counter()
            queue(engine, args.mails)
            queued_s = time.perf_counter() - started
            service = ClaimsService(
                engine, NoExtractor(), Path(tmp) / "evidence", zoneinfo.ZoneInfo("Europe/London")
            )
            sender = MailSender(
                service,
                "127.0.0.1",
                relay.port,
                MAIL_FROM,
                tls="none",
                rate=rate,
                web_url=WEB_URL,
                batch_size=args.batch,
            )
            # the same mails, composed beforehand by the product's composer, for the bare loop
            tokens = service.reminder_tokens()
            composed = []
            due = service.due_notifications("email", args.mails)
            addresses = service.addresses("email", due)
            for row in due:
                note = Notification(
                    row.id, row.channel, row.recipient, row.template, row.payload, 0
                )
                to = addresses[row.recipient] or ""
                message, envelope = compose_for_relay(note, MAIL_FROM, tokens, WEB_URL, to)
                composed.append((message, envelope, to))

            before = relay.counts()
            started, cpu = time.perf_counter(), time.process_time()
            sent = asyncio.run(product(sender))
            product_s = time.perf_counter() - started
            product_cpu = time.process_time() - cpu
            after = relay.counts()
            waiting = service.due_notifications("email", 1)

            started, cpu = time.perf_counter(), time.process_time()
            asyncio.run(bare(relay.port, composed))
            bare_s = time.perf_counter() - started
            bare_cpu = time.process_time() - cpu
            final = relay.counts()
            engine.dispose()
    finally:
        relay.stop()
    product_rate = sent / product_s
    bare_rate = len(composed) / bare_s
    print(f"reminder mails: {args.mails} (queued in {queued_s:.1f} s), rate {args.rate}")
    print(
        f"product (MailSender, SQLite outbox): {sent} sent in {product_s:.1f} s = "
        f"{product_rate:.0f} mails/s over {after[1] - before[1]} SMTP connection(s); "
        f"relay got {after[0] - before[0]}; left in the outbox {len(waiting)}; "
        f"CPU {product_cpu / max(sent, 1) * 1000:.2f} ms/mail"
    )
    print(
        f"bare aiosmtplib loop:                {len(composed)} sent in {bare_s:.1f} s = "
        f"{bare_rate:.0f} mails/s over {final[1] - after[1]} SMTP connection(s); "
        f"relay got {final[0] - after[0]}; CPU {bare_cpu / len(composed) * 1000:.2f} ms/mail"
    )
    recorder = sender.recorder
    print(
        f"product recorded deliveries in {recorder.transactions} transaction(s), groups of "
        f"{recorder.group}; at most {recorder.max_unrecorded} accepted mails unrecorded "
        "at any moment (what a SIGKILL could resend)"
    )
    ratio = product_rate / bare_rate
    print(f"ratio product/bare: {ratio:.2f} (bar >= 0.8 at an unlimited rate)")


if __name__ == "__main__":
    main()
