"""The web desk under load: ``GET /api/claims?status=pending`` (a page of 50) and the queue
page, with 10,000 claims stored, against a bare Starlette endpoint in the same run.

    python benchmarks/web.py [--claims 10000] [--requests 400] [--concurrency 4] [--page /desk]

A fresh SQLite database in a temporary directory gets ``--claims`` claims (60 % pending, the
rest accepted or declined, over 500 members) by one bulk insert. The product's app
(``cpd.web.app.create_app`` on a ``ClaimsService``) is served by uvicorn on 127.0.0.1 as
``cpd run`` serves it; so is a bare Starlette app whose one endpoint returns, from memory, the
JSON the API answered. The load comes from another process: ``--concurrency`` httpx clients,
signed in as the secretary by a real sign-in link, ``--requests`` requests per target after a
warm-up. Prints requests per second and p50/p95 latency per target, and the ratio
product/bare. Bar: p95 under 100 ms for a page of 50. ``--page`` is the queue page (the desk's
``/desk``); when this tree has no such page it says so and measures nothing for it. Exit
status 0: it reports, it does not gate.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import subprocess
import sys
import tempfile
import threading
import zoneinfo
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from cpd.claims.members import import_members, parse_members_csv  # noqa: E402
from cpd.claims.service import ClaimsService  # noqa: E402
from cpd.claims.web_access import create_link  # noqa: E402
from cpd.storage import Claim, make_engine, migrate, transaction  # noqa: E402
from cpd.web.app import create_app  # noqa: E402
from cpd.web.config import WebConfig  # noqa: E402
from cpd.web.server import WebServer, start_web  # noqa: E402

API = "/api/claims?status=pending&limit=50"
KINDS = [
    ("exhibition", "Boat show at Southampton", 4.0),
    ("training", "Records retention workshop", 3.0),
    ("conference", "Annual surveyors' conference", 7.0),
    ("reading", "Survey practice journal", 1.0),
]
LOAD = r"""
import asyncio, json, sys, time
import httpx

base, signin, targets = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
requests, concurrency = int(sys.argv[4]), int(sys.argv[5])

async def main():
    results = {}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        assert (await client.get(signin)).status_code == 303
        for name, url in targets:
            for _ in range(20):  # warm-up
                await client.get(url)
            latencies, statuses = [], set()
            todo = iter(range(requests))
            async def worker():
                for _ in todo:
                    started = time.perf_counter()
                    answer = await client.get(url)
                    latencies.append(time.perf_counter() - started)
                    statuses.add(answer.status_code)
            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            wall = time.perf_counter() - began
            latencies.sort()
            results[name] = {
                "rps": requests / wall,
                "p50": latencies[len(latencies) // 2] * 1000,
                "p95": latencies[int(len(latencies) * 0.95) - 1] * 1000,
                "statuses": sorted(statuses),
            }
    print(json.dumps(results))

asyncio.run(main())
"""


class Served:
    """Apps served by uvicorn from a loop in a thread of their own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers: list[WebServer] = []

    def serve(self, app: Any) -> str:
        """Serve ``app`` on a free port; its base URL."""
        future = asyncio.run_coroutine_threadsafe(start_web(app, "127.0.0.1", 0), self.loop)
        server = future.result(15)
        self.servers.append(server)
        return f"http://127.0.0.1:{server.port}"

    def close(self) -> None:
        """Stop every server and the loop."""
        for server in self.servers:
            asyncio.run_coroutine_threadsafe(server.stop(5), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def fill(engine: Any, claims: int, members: int = 500) -> None:
    """Members and ``claims`` claims, in bulk (one transaction)."""
    rows = ["membership_no,name,email,scheme,grade,joined,role"]
    rows += [
        f"M{n},Member {n},m{n}@example.org,iims,member,2019-05-01,member" for n in range(members)
    ]
    rows.append("S1,Sam Secretary,sam@example.org,iims,member,2015-01-01,secretary")
    import_members(engine, parse_members_csv("\n".join(rows) + "\n", "iims"))
    rng = random.Random(13)
    start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    with transaction(engine) as session:
        for n in range(claims):
            kind, title, hours = KINDS[n % len(KINDS)]
            status = "pending" if n % 10 < 6 else ("accepted" if n % 10 < 9 else "declined")
            submitted = start + dt.timedelta(minutes=37 * n)
            session.add(
                Claim(
                    member_id=1 + rng.randrange(members),
                    channel=("telegram", "email", "web")[n % 3],
                    source_key=f"bench:{n}",
                    raw_text=f"{title}, {hours:g} hours",
                    kind=kind,
                    hours=hours,
                    start_date=submitted.date(),
                    title=title,
                    provider="institute" if n % 2 else None,
                    status=status,
                    proposed_points=hours,
                    awarded_points=hours if status == "accepted" else None,
                    decided_by=members + 1 if status != "pending" else None,
                    decided_at=submitted + dt.timedelta(days=1) if status != "pending" else None,
                    decision_reason="no certificate" if status == "declined" else None,
                    submitted_at=submitted,
                )
            )


def bare_app(body: bytes) -> Starlette:
    """One endpoint returning ``body`` (the API's JSON) from memory."""

    async def claims(request: Request) -> Response:
        return Response(body, media_type="application/json")

    async def signin(request: Request) -> Response:
        return Response(status_code=303, headers={"location": "/"})

    return Starlette(routes=[Route("/api/claims", claims), Route("/signin/{token}", signin)])


def load(
    base: str, signin: str, targets: list[tuple[str, str]], requests: int, concurrency: int
) -> dict[str, Any]:
    """Run the load process against ``base``; its results by target name."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            LOAD,
            base,
            signin,
            json.dumps(targets),
            str(requests),
            str(concurrency),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the load process failed: {done.stderr.strip()[-500:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    """Fill, serve, load, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--page", default="/desk", help="the queue page's path")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cpd-web-bench-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'cpd.sqlite3'}")
        migrate(engine)
        fill(engine, args.claims)
        service = ClaimsService(
            engine, None, Path(tmp) / "evidence", zoneinfo.ZoneInfo("Europe/London"), None
        )
        config = WebConfig("127.0.0.1", 0, "http://127.0.0.1", "k" * 48)
        served = Served()
        try:
            product = served.serve(create_app(service, config))
            token, _ = create_link(engine, "S1")
            import httpx

            with httpx.Client(base_url=product, timeout=30) as probe:
                assert probe.get(f"/signin/{token}").status_code == 303
                body = probe.get(API)
                page = probe.get(args.page)
            assert body.status_code == 200 and len(body.json()) == 50, body.text[:200]
            targets = [("api", API)]
            if page.status_code == 200:
                targets.append(("page", args.page))
            bare = served.serve(bare_app(body.content))
            token, _ = create_link(engine, "S1")
            measured = load(product, f"/signin/{token}", targets, args.requests, args.concurrency)
            baseline = load(bare, "/signin/x", [("bare", API)], args.requests, args.concurrency)[
                "bare"
            ]
        finally:
            served.close()
            engine.dispose()
    print(
        f"web: {args.claims} claims stored, {args.requests} requests per target, "
        f"{args.concurrency} concurrent clients in another process; page of 50 "
        f"({len(body.content)} bytes of JSON)"
    )
    rows = [("bare Starlette (same JSON from memory)", baseline)]
    rows += [(f"product GET {API}", measured["api"])]
    if "page" in measured:
        rows.append((f"product GET {args.page} (queue page)", measured["page"]))
    for label, found in rows:
        print(
            f"  {label:<58} {found['rps']:8.1f} req/s   p50 {found['p50']:6.1f} ms   "
            f"p95 {found['p95']:6.1f} ms   status {found['statuses']}"
        )
    for name in ("api", "page"):
        if name in measured:
            m = measured[name]
            print(
                f"  ratio {name}/bare: {m['rps'] / baseline['rps']:.2f} (req/s), "
                f"p95 {m['p95'] / baseline['p95']:.1f}x; bar p95 < 100 ms: "
                f"{'met' if m['p95'] < 100 else 'NOT met'}"
            )
    if "page" not in measured:
        print(f"  queue page {args.page}: answered {page.status_code} in this tree, not measured")


if __name__ == "__main__":
    main()
