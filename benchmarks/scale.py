"""Claims per second end to end with 1, 2 and 4 `cpd run` on one PostgreSQL, in one run.

    python benchmarks/scale.py [--claims 240] [--instances 1,2,4] [--members 40]

For each instance count, in a fresh database of one throwaway PostgreSQL cluster
(tests/support/postgres.py): ``--members`` members (by mail) and a secretary are imported,
that many `cpd run` subprocesses start (mail in on SMTP, the web desk, outbound mail to one
local relay sink; no Telegram), and then, all at once:

* **mail in**: ``--claims`` claim mails over SMTP, round-robin over the instances, from 4
  sending threads (each retried on another instance if refused);
* **decision**: 4 secretary threads accept every pending claim through the web API
  (``POST /api/claims/{id}/decision``), each thread signed in on its own instance;
* **notice out**: the instances' mail senders deliver the receipts and the decisions (the outbox
  leased row by row) to the relay sink.

The figure is claims/s from the first mail sent to the last decision notice received, and its
ratio to one instance (the baseline of the same run). Bar: 2 instances >= 1.3 x one on this
2-core machine. Where the time goes: the CPU seconds of the `cpd run` processes and of the
PostgreSQL server processes over the run (database), the NLP pipeline's own time for the same
texts measured in this process (NLP), and the wait from the last decision to the last notice
(delivery tail). Exit status 0: it reports, it does not gate. Run it on a quiet machine
(``uptime`` load < 2) or under ``chrt -f 10``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email
import itertools
import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import SMTP, Envelope, Session  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from cpd.claims.members import import_members, parse_members_csv  # noqa: E402
from cpd.claims.web_access import create_link  # noqa: E402
from cpd.storage import make_engine, migrate  # noqa: E402
from tests.support.postgres import throwaway_postgres  # noqa: E402

CLAIMS_ADDRESS = "claims@example.com"
THREADS = 4
PENDING_SHARE = text("SELECT id FROM claim WHERE status = 'pending' AND id % :n = :j ORDER BY id")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sink:
    """The relay: counts receipts and decision notices as they come."""

    def __init__(self) -> None:
        self.port = free_port()
        self.lock = threading.Lock()
        self.decisions = 0
        self.receipts = 0
        self.last = 0.0
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        subject = str(email.message_from_bytes(envelope.original_content or b"")["Subject"])
        with self.lock:
            if "accepted" in subject:
                self.decisions += 1
                self.last = time.monotonic()
            elif "received" in subject:
                self.receipts += 1
        return "250 OK"

    def reset(self) -> None:
        with self.lock:
            self.decisions = self.receipts = 0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> float:
    """CPU seconds of every postgres process on the machine (the benchmark's cluster)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == "postgres":
                    total += cpu_seconds(int(proc.name))
            except OSError:
                pass
    return total


def fresh_database(cluster: str, name: str) -> str:
    url = make_url(cluster)
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
    ) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def members_csv(count: int) -> str:
    lines = ["membership_no,name,email,scheme,grade,joined,role"]
    lines += [
        f"E{n},Member {n},m{n}@example.com,iims,member,2019-05-01,member" for n in range(count)
    ]
    lines.append("S1,Sam Secretary,sam@example.com,iims,member,2015-01-01,secretary")
    return "\n".join(lines) + "\n"


COURSES = (
    "hull surveys", "ballast water treatment", "marine engine diagnostics",
    "fire safety on ferries", "stability calculations", "lifesaving appliances",
    "corrosion of steel hulls", "yacht rigging", "cargo lashing", "diesel exhaust cleaning",
)  # fmt: skip
"""A member's claims are distinct activities: the product holds a repeat of the same activity
(same kind and date, a close title) as a possible duplicate, which nobody would decide here."""


WARM_UP_BASE = 10**6


def claim_text(n: int, members: int) -> str:
    """Claim ``n``'s words: member ``n % members``'s ``n // members``-th course (the warm-up's
    claims, ``n`` from a million, are a webinar no measured claim repeats)."""
    if n >= WARM_UP_BASE:
        return f"Webinar on survey reporting software yesterday, {n % 3 + 1} hours"
    topic = COURSES[(n // members) % len(COURSES)]
    return f"Course on {topic} yesterday, {n % 3 + 1} hours"


def claim_mail(n: int, members: int) -> tuple[str, bytes]:
    sender = f"m{n % members}@example.com"
    message = EmailMessage()
    message["From"] = f"Member {n % members} <{sender}>"
    message["To"] = CLAIMS_ADDRESS
    message["Subject"] = "CPD claim"
    message["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = make_msgid(idstring=f"bench{n}", domain="example.com")
    message.set_content(claim_text(n, members))
    return sender, message.as_bytes(policy=policy.SMTP)


def start_instances(
    count: int, url: str, sink: Sink, base: Path
) -> list[tuple[subprocess.Popen[bytes], int, int, Path]]:
    started = []
    for n in range(count):
        data = base / f"instance-{n}"
        data.mkdir(parents=True)
        web, smtp = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CPD_")}
        env |= {
            "CPD_DATA_DIR": str(data),
            "CPD_DATABASE_URL": url,
            "CPD_WEB_LISTEN": f"127.0.0.1:{web}",
            "CPD_SMTP_LISTEN": f"127.0.0.1:{smtp}",
            "CPD_SMTP_RECIPIENTS": CLAIMS_ADDRESS,
            "CPD_SMTP_RELAY": f"127.0.0.1:{sink.port}",
            "CPD_SMTP_RELAY_TLS": "none",
            "CPD_MAIL_FROM": f"CPD Claims <{CLAIMS_ADDRESS}>",
            "CPD_MAIL_RATE": "0",
            "CPD_MAIL_AUTH": "off",
            "CPD_MAIL_CLAIMS_PER_HOUR": "100000",
            "CPD_INSTANCE_ID": f"bench-{n}",
        }
        log = data / "run.log"
        process = subprocess.Popen(
            [sys.executable, "-c", "from cpd.cli import main; main()", "run"],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=data,
        )
        started.append((process, web, smtp, log))
    deadline = time.monotonic() + 120
    for process, _, _, log in started:
        while "running; stop it" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"cpd run did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
    return started


def warm_up(
    instances: list[tuple[subprocess.Popen[bytes], int, int, Path]],
    clients: list[httpx.Client],
    engine: Engine,
    sink: Sink,
    members: int,
) -> None:
    """One claim through each instance (its NLP pipeline loaded, its connections made), decided
    and told; then the sink's counts start again."""
    for n, (_, _, port, _) in enumerate(instances):
        address, raw = claim_mail(WARM_UP_BASE + n, members)
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            smtp.sendmail(address, [CLAIMS_ADDRESS], raw)
    deadline = time.monotonic() + 120
    while True:
        with engine.connect() as c:
            ids = c.execute(text("SELECT id FROM claim WHERE status = 'pending'")).scalars().all()
        if len(ids) == len(instances):
            break
        if time.monotonic() > deadline:
            raise SystemExit("the warm-up claims were not stored")
        time.sleep(0.05)
    for n, claim_id in enumerate(ids):
        clients[n % len(clients)].post(
            f"/api/claims/{claim_id}/decision", json={"action": "accept"}
        )
    while sink.decisions < len(instances) and time.monotonic() < deadline:
        time.sleep(0.05)
    sink.reset()


def one_run(cluster: str, count: int, claims: int, members: int, sink: Sink) -> dict[str, float]:
    url = fresh_database(cluster, f"scale_{count}_{os.getpid()}")
    engine = make_engine(url)
    migrate(engine)
    import_members(engine, parse_members_csv(members_csv(members), "iims"))
    mails = [claim_mail(n, members) for n in range(claims)]
    sink.reset()
    with tempfile.TemporaryDirectory(prefix="cpd-scale-") as base:
        instances = start_instances(count, url, sink, Path(base))
        try:
            clients = []
            for n in range(THREADS):
                web = instances[n % count][1]
                client = httpx.Client(base_url=f"http://127.0.0.1:{web}", timeout=60)
                token, _ = create_link(engine, "S1")
                assert client.get(f"/signin/{token}").status_code == 303
                client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf"]
                clients.append(client)
            warm_up(instances, clients, engine, sink, members)
            cpu_before = sum(cpu_seconds(p.pid) for p, _, _, _ in instances)
            pg_before = postgres_cpu()
            began = time.monotonic()
            marks: dict[str, float] = {}
            todo = iter(range(claims))
            todo_lock = threading.Lock()

            def sender(j: int) -> None:
                for attempt in itertools.count(j):
                    with todo_lock:
                        n = next(todo, None)
                    if n is None:
                        return
                    address, raw = mails[n]
                    for tries in itertools.count(attempt):
                        port = instances[tries % count][2]
                        try:
                            with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
                                smtp.sendmail(address, [CLAIMS_ADDRESS], raw)
                            break
                        except (smtplib.SMTPException, OSError):
                            time.sleep(0.1)

            def decider(j: int) -> None:
                client = clients[j]
                done = 0
                while time.monotonic() - began < 600:
                    with engine.connect() as c:
                        ids = c.execute(PENDING_SHARE, {"n": THREADS, "j": j}).scalars().all()
                    for claim_id in ids:
                        answer = client.post(
                            f"/api/claims/{claim_id}/decision", json={"action": "accept"}
                        )
                        done += answer.status_code == 200
                    with engine.connect() as c:
                        left = c.execute(
                            text("SELECT count(*) FROM claim WHERE status <> 'accepted'")
                        ).scalar_one()
                        stored = c.execute(text("SELECT count(*) FROM claim")).scalar_one()
                        stored -= count  # the warm-up claims
                    if stored >= claims and "stored" not in marks:
                        marks["stored"] = time.monotonic()
                    if stored >= claims and left == 0:
                        marks.setdefault("decided", time.monotonic())
                        return
                    if not ids:
                        time.sleep(0.05)

            threads = [threading.Thread(target=sender, args=(j,)) for j in range(THREADS)]
            threads += [threading.Thread(target=decider, args=(j,)) for j in range(THREADS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            while sink.decisions < claims and time.monotonic() - began < 600:
                time.sleep(0.01)
            ended = sink.last
            cpu = sum(cpu_seconds(p.pid) for p, _, _, _ in instances) - cpu_before
            pg = postgres_cpu() - pg_before
            for client in clients:
                client.close()
        finally:
            for process, _, _, _ in instances:
                process.terminate()
            for process, _, _, _ in instances:
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
    engine.dispose()
    elapsed = ended - began
    return {
        "claims/s": claims / elapsed,
        "seconds": elapsed,
        "stored": marks.get("stored", ended) - began,
        "decided": marks.get("decided", ended) - began,
        "tail": ended - marks.get("decided", ended),
        "cpd_cpu": cpu,
        "pg_cpu": pg,
        "notices": float(sink.decisions),
        "receipts": float(sink.receipts),
    }


def nlp_seconds(claims: int, members: int) -> float:
    """The NLP pipeline's time for the benchmark's texts, in this process."""
    from cpd.nlp import load_extractor

    extractor = load_extractor()
    today = dt.date.today()
    texts = [claim_text(n, members) for n in range(claims)]
    extractor.extract(texts[0], today)
    began = time.perf_counter()
    for line in texts:
        extractor.extract(line, today)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--claims", type=int, default=240)
    parser.add_argument("--members", type=int, default=40)
    parser.add_argument("--instances", default="1,2,4")
    args = parser.parse_args()
    counts = [int(n) for n in args.instances.split(",")]
    load = os.getloadavg()[0]
    print(f"scale: {args.claims} claims from {args.members} members; load average {load:.2f}")
    nlp = nlp_seconds(args.claims, args.members)
    sink = Sink()
    sink.controller.start()
    results: dict[int, dict[str, float]] = {}
    try:
        with throwaway_postgres() as cluster:
            for count in counts:
                results[count] = one_run(cluster, count, args.claims, args.members, sink)
    finally:
        sink.controller.stop()
    base = results[counts[0]]["claims/s"]
    print(
        "instances  claims/s  ratio  all stored s  all decided s  delivery tail s  "
        "cpd CPU s  postgres CPU s  notices"
    )
    for count, r in results.items():
        print(
            f"{count:>9}  {r['claims/s']:8.1f}  {r['claims/s'] / base:5.2f}  {r['stored']:12.1f}  "
            f"{r['decided']:13.1f}  {r['tail']:15.2f}  {r['cpd_cpu']:9.1f}  {r['pg_cpu']:14.1f}  "
            f"{int(r['notices'])}/{args.claims} (+{int(r['receipts'])} receipts)"
        )
    print(
        f"NLP: {1000 * nlp / args.claims:.1f} ms a claim in this process "
        f"({nlp:.1f} s of the cpd CPU above for {args.claims} claims)"
    )
    for count, r in results.items():
        cpu = r["cpd_cpu"]
        print(
            f"where the time goes ({count}): cpd run CPU {cpu:.1f} s = NLP {nlp:.1f} s + the rest "
            f"{cpu - nlp:.1f} s (mail parsing, web, ORM, delivery); database {r['pg_cpu']:.1f} s "
            f"CPU; delivery tail {r['tail']:.2f} s after the last decision"
        )
    if 2 in results and 1 in results:
        ratio = results[2]["claims/s"] / results[1]["claims/s"]
        verdict = "meets" if ratio >= 1.3 else "misses"
        print(f"bar: 2 instances = {ratio:.2f} x one ({verdict} the 1.3 x bar)")


if __name__ == "__main__":
    main()
