"""Throughput of claim mail over SMTP: `cpd run` against aiosmtpd's bare ``Sink``.

    python benchmarks/mail_ingest.py [--mails 1000] [--jpeg-kb 200] [--connections 4]

``--mails`` mails, each from a different known member (imported first, so every mail becomes a
claim) with a ``--jpeg-kb`` KB JPEG attached (distinct bytes per mail), are built in memory
first and then sent over SMTP on 127.0.0.1 by the same client twice:

1. to `cpd run` (a subprocess, mail only, its own temporary data directory, SQLite): mails/s
   from the first connection to the last ``250`` (accepted: spooled durably, as `cpd run`
   does); then, still running, until every claim is in the database (stored: end to end);
   then the claims are counted (bar: all of them, no duplicate source key);
2. to a bare aiosmtpd server with the ``aiosmtpd.handlers.Sink`` handler (a subprocess too,
   created the same way on its own loop): mails/s.

The client is ``--connections`` threads, each sending its share over one persistent smtplib
connection (``sendmail`` per mail), as a sending MTA with parallel deliveries does.
Bar: `cpd run` mails/s >= 0.3 x Sink mails/s.

The mails are DKIM-signed for example.com with a key of the benchmark's own, and `cpd run`
takes them twice: with ``CPD_MAIL_AUTH=off`` (the figures above) and with ``verify`` against
a local DNS server (tests/support/dns_server.py, dnslib on 127.0.0.1) publishing SPF, the
DKIM key and DMARC ``p=reject`` for example.com: SPF, DKIM and DMARC are checked for every
mail (in `cpd run`'s verifier process: its CPU and memory are printed too). Bar: stored
mails/s with verification >= 0.8 x without, in the same run.

Prints one block of figures; exit status 0 (it reports, it does not gate).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLAIMS_ADDRESS = "claims@example.com"
SINK_SERVER = """
import asyncio, sys
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import SMTP

async def main(port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Sink(), data_size_limit=25 * 1024 * 1024, hostname="sink", loop=loop),
        "127.0.0.1", port)
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main(int(sys.argv[1])))
"""
TEXTS = (
    "Boat show at Southampton yesterday, {h} hours",
    "Webinar on hull corrosion, {h} hours, certificate attached",
    "Course on stability assessment last week, {h} hours",
    "Read an article on rigging surveys, {h} hours",
    "Conference on marine insurance in London, {h} hours",
)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def jpeg(size: int, seed: int) -> bytes:
    """``size`` bytes that start and end like a JPEG, distinct per ``seed``."""
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    body = bytearray(os.urandom(size - len(head) - 2))
    body[:8] = seed.to_bytes(8, "big")
    return head + bytes(body) + b"\xff\xd9"


def build_mails(count: int, jpeg_bytes: int, sign: Any = None) -> list[tuple[str, bytes]]:
    """(sender, wire bytes) for ``count`` mails, member ``n`` sending mail ``n`` (each signed
    with ``sign(raw, domain)`` when given)."""
    mails = []
    for n in range(count):
        sender = f"member{n}@example.com"
        message = EmailMessage()
        message["From"] = f"Member {n} <{sender}>"
        message["To"] = CLAIMS_ADDRESS
        message["Subject"] = "CPD claim"
        message["Message-ID"] = make_msgid(idstring=f"bench{n}", domain="example.com")
        message.set_content(TEXTS[n % len(TEXTS)].format(h=n % 6 + 1) + "\n\nSent from my phone")
        message.add_attachment(
            jpeg(jpeg_bytes, n), maintype="image", subtype="jpeg", filename=f"IMG_{n:04d}.JPG"
        )
        raw = message.as_bytes(policy=policy.SMTP)
        mails.append((sender, sign(raw, "example.com") if sign else raw))
    return mails


def send_all(port: int, mails: list[tuple[str, bytes]], connections: int) -> tuple[float, int]:
    """Send every mail; (seconds from first connection to last 250, refusals)."""
    errors: list[str] = []
    barrier = threading.Barrier(connections + 1)

    def client(share: list[tuple[str, bytes]]) -> None:
        barrier.wait()
        with smtplib.SMTP("127.0.0.1", port, local_hostname="bench", timeout=120) as smtp:
            for sender, raw in share:
                try:
                    smtp.sendmail(sender, [CLAIMS_ADDRESS], raw)
                except smtplib.SMTPException as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")

    threads = [
        threading.Thread(target=client, args=(mails[k::connections],)) for k in range(connections)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for error in errors[:5]:
        print("  refused:", error[:200])
    return elapsed, len(errors)


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """A process's resident memory in MB (Linux /proc; 0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def verifier_pids(parent: int) -> list[int]:
    """The verifier processes (cpd.mail_ingest.verify_child) whose parent is ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # not a process, or gone meanwhile
        if int(stat.rpartition(")")[2].split()[1]) == parent and b"verify_child" in command:
            found.append(int(entry.name))
    return found


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until something accepts connections on ``port``."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(100).startswith(b"220"):
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listened on {port}:\n{log.read_text()[-3000:]}")


def prepare(data_dir: Path, count: int) -> None:
    """A migrated SQLite database with ``count`` members (member<n>@example.com)."""
    sys.path.insert(0, str(ROOT))
    from cpd.claims.members import import_members, parse_members_csv
    from cpd.storage import make_engine, migrate

    lines = ["membership_no,name,email,scheme,grade,joined,role"]
    lines += [
        f"B{n},Member {n},member{n}@example.com,iims,member,2019-05-01,member" for n in range(count)
    ]
    engine = make_engine(f"sqlite:///{data_dir / 'cpd.sqlite3'}")
    migrate(engine)
    import_members(engine, parse_members_csv("\n".join(lines) + "\n", "iims"))
    engine.dispose()


def run_cpd(
    mails: list[tuple[str, bytes]], connections: int, work: Path, auth: dict[str, str]
) -> dict[str, float]:
    """Mails/s into `cpd run` (with the ``auth`` settings) and what it stored."""
    name = "-".join(auth.values()).replace(":", "_")
    data_dir = work / f"cpd-data-{name}"
    prepare(data_dir, len(mails))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPD_")}
    env.update(
        {
            "CPD_DATA_DIR": str(data_dir),
            "CPD_SMTP_LISTEN": f"127.0.0.1:{port}",
            "CPD_WEB_LISTEN": "",
            **auth,
        }
    )
    log = work / f"cpd-run-{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-c", "from cpd.cli import main; main()", "run"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=work,
    )
    database = f"file:{data_dir / 'cpd.sqlite3'}?mode=ro"

    def counts() -> tuple[int, int, int]:
        connection = sqlite3.connect(database, uri=True, timeout=30)
        try:
            claims, distinct = connection.execute(
                "SELECT count(*), count(DISTINCT source_key) FROM claim WHERE channel = 'email'"
                " AND status = 'pending'"  # filed, not held: with verification, every one passed
            ).fetchone()
            evidence = connection.execute("SELECT count(*) FROM evidence_file").fetchone()[0]
        finally:
            connection.close()
        return claims, distinct, evidence

    try:
        wait_for_port(port, process, log)
        started = time.perf_counter()
        elapsed, refused = send_all(port, mails, connections)
        last, last_change = -1, time.monotonic()
        while (stored := counts()[0]) < len(mails) - refused:
            if stored != last:
                last, last_change = stored, time.monotonic()
            elif time.monotonic() - last_change > 60:
                print("  no progress for 60 s: giving up waiting", flush=True)
                break
            time.sleep(0.2)
        stored_seconds = time.perf_counter() - started
        cpu_seconds = process_cpu_seconds(process.pid)
        verifiers = verifier_pids(process.pid)
        verifier_cpu = sum(process_cpu_seconds(pid) for pid in verifiers)
        verifier_rss = sum(rss_mb(pid) for pid in verifiers)
        parent_rss = rss_mb(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    claims, distinct, evidence = counts()
    return {
        "seconds": elapsed,
        "stored_seconds": stored_seconds,
        "cpu_seconds": cpu_seconds,
        "verifiers": len(verifiers),
        "verifier_cpu_seconds": verifier_cpu,
        "verifier_rss_mb": verifier_rss,
        "rss_mb": parent_rss,
        "refused": refused,
        "claims": claims,
        "distinct": distinct,
        "evidence": evidence,
    }


def run_sink(mails: list[tuple[str, bytes]], connections: int, work: Path) -> dict[str, float]:
    """Mails/s into a bare aiosmtpd Sink."""
    port = free_port()
    log = work / "sink.log"
    process = subprocess.Popen(
        [sys.executable, "-c", SINK_SERVER, str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process, log)
        elapsed, refused = send_all(port, mails, connections)
    finally:
        process.kill()
        process.wait(timeout=30)
    return {"seconds": elapsed, "refused": refused}


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mails", type=int, default=1000)
    ap.add_argument("--jpeg-kb", type=int, default=200)
    ap.add_argument("--connections", type=int, default=4)
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from tests.support.dns_server import DkimKey, LocalDNS, publish_example_com

    key = DkimKey.generate()
    print(f"building {args.mails} signed mails with a {args.jpeg_kb} KB JPEG each...", flush=True)
    mails = build_mails(args.mails, args.jpeg_kb * 1024, key.sign)
    wire = sum(len(raw) for _, raw in mails)
    digest = hashlib.sha256(b"".join(raw[:64] for _, raw in mails)).hexdigest()[:8]
    print(f"  {wire / 1e6:.0f} MB on the wire (set {digest})", flush=True)
    with tempfile.TemporaryDirectory(prefix="cpd-mail-bench-") as tmp:
        work = Path(tmp)
        print("sending to cpd run (CPD_MAIL_AUTH=off)...", flush=True)
        cpd = run_cpd(mails, args.connections, work, {"CPD_MAIL_AUTH": "off"})
        with LocalDNS() as dns:
            publish_example_com(dns.zone, key)
            print("sending to cpd run (CPD_MAIL_AUTH=verify, local DNS)...", flush=True)
            host, dns_port = dns.address
            verified = run_cpd(
                mails,
                args.connections,
                work,
                {"CPD_MAIL_AUTH": "verify", "CPD_DNS_SERVERS": f"{host}:{dns_port}"},
            )
        print("sending to aiosmtpd Sink...", flush=True)
        sink = run_sink(mails, args.connections, work)

    cpd_rate = args.mails / cpd["seconds"]
    sink_rate = args.mails / sink["seconds"]
    ratio = cpd_rate / sink_rate
    complete = cpd["claims"] == cpd["distinct"] == args.mails
    print()
    print(
        f"mail ingest: {args.mails} mails x {args.jpeg_kb} KB JPEG, "
        f"{args.connections} client connections, {os.cpu_count()} CPUs"
    )
    print(
        f"  cpd run:       {cpd_rate:7.1f} mails/s accepted ({cpd['seconds']:.1f} s, "
        f"{cpd['refused']} refused)"
    )
    print(
        f"                 {args.mails / cpd['stored_seconds']:7.1f} mails/s stored "
        f"(all claims in the database after {cpd['stored_seconds']:.1f} s)"
    )
    print(
        f"  aiosmtpd Sink: {sink_rate:7.1f} mails/s  ({sink['seconds']:.1f} s, "
        f"{sink['refused']} refused)"
    )
    print(f"  ratio:         {ratio:7.2f}  (bar >= 0.30: {'met' if ratio >= 0.3 else 'NOT met'})")
    print(
        f"  claims stored: {cpd['claims']} ({cpd['distinct']} distinct source keys, "
        f"{cpd['evidence']} evidence files; bar all {args.mails}, no duplicates: "
        f"{'met' if complete else 'NOT met'})"
    )
    off_stored = args.mails / cpd["stored_seconds"]
    on_stored = args.mails / verified["stored_seconds"]
    on_ratio = on_stored / off_stored
    print(
        f"  verification:  {on_stored:7.1f} mails/s stored with CPD_MAIL_AUTH=verify "
        f"(SPF+DKIM+DMARC, local DNS; {verified['claims']} claims filed), "
        f"{off_stored:.1f} with off: ratio {on_ratio:.2f} "
        f"(bar >= 0.80: {'met' if on_ratio >= 0.8 else 'NOT met'})"
    )
    print(
        f"  cpd run CPU:   {cpd['cpu_seconds'] / args.mails * 1000:7.1f} ms/mail off, "
        f"{verified['cpu_seconds'] / args.mails * 1000:.1f} ms/mail with verify "
        f"(+ {verified['verifier_cpu_seconds'] / args.mails * 1000:.1f} ms/mail in the "
        f"verifier process)"
    )
    off_cpu = cpd["cpu_seconds"]
    on_cpu = verified["cpu_seconds"] + verified["verifier_cpu_seconds"]
    print(
        f"  CPU ratio:     {off_cpu / on_cpu:7.2f}  (CPU per mail of cpd run with off / of cpd "
        f"run and its verifier with verify: less sensitive to other load than mails/s)"
    )
    print(
        f"  verifier:      {verified['verifiers']} process(es) of cpd run, "
        f"{verified['verifier_rss_mb']:.0f} MB RSS (cpd run itself {verified['rss_mb']:.0f} MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
