"""Benchmark: every member's standing evaluated from the database.

Builds a SQLite database (through the shipped migrations) with N members of the four schemes
and 20 claims each, then evaluates every member with ``claims.standing.all_standings`` (two
ordered cursors merged, the rules engine per member), split over worker processes by member
id range. Prints members/s, the cost per member and peak memory, at each size asked for, so
that the per-member cost can be compared between 10,000 and 100,000 members.

    python benchmarks/rules.py                      # 10,000 and 100,000 members
    python benchmarks/rules.py --sizes 2000 --workers 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import random
import resource
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from cpd.claims.standing import all_standings
from cpd.rules import KINDS
from cpd.storage import Claim, Member, make_engine, migrate
from cpd.storage.queries import member_id_bounds

AS_OF = dt.date(2026, 11, 23)
SCHEMES = ("iims", "iim", "imi", "ibms")
GRADES = ("member", "professional", "fellow", "affiliate", None)
STATUSES = ("accepted",) * 8 + ("pending", "declined")
REFLECTION = {"new_knowledge": "Learnt the new procedure.", "behaviour": None, "impact": None}


def build_database(path: Path, members: int, claims_each: int, seed: int = 7) -> float:
    """Create and fill the database; return the seconds it took."""
    started = time.perf_counter()
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    rnd = random.Random(seed)
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    batch = 5_000
    claim_id = 0
    with engine.begin() as connection:
        for first in range(1, members + 1, batch):
            ids = range(first, min(first + batch, members + 1))
            connection.execute(
                insert(Member),
                [
                    {
                        "id": i,
                        "membership_no": f"M{i:07d}",
                        "name": f"Member {i}",
                        "email": f"m{i}@example.com",
                        "scheme": SCHEMES[i % 4],
                        "grade": rnd.choice(GRADES),
                        "joined": dt.date(2012, 1, 1) + dt.timedelta(days=rnd.randrange(5000)),
                        "role": "member",
                        "nudges_muted": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            rows = []
            for i in ids:
                for _ in range(claims_each):
                    claim_id += 1
                    start = dt.date(2024, 1, 1) + dt.timedelta(days=rnd.randrange(1060))
                    rows.append(
                        {
                            "id": claim_id,
                            "member_id": i,
                            "channel": "telegram",
                            "source_key": f"bench:{claim_id}",
                            "raw_text": "",
                            "kind": rnd.choice(KINDS),
                            "hours": rnd.choice((1.0, 2.0, 3.5, 7.5)),
                            "start_date": start,
                            "end_date": start,
                            "title": "Activity",
                            "provider": rnd.choice(("institute", "external", None)),
                            "has_test": rnd.random() < 0.2,
                            "co_authors": None,
                            "confidence": 0.9,
                            "extracted": {},
                            "reflections": REFLECTION if rnd.random() < 0.8 else {},
                            "status": rnd.choice(STATUSES),
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
            connection.execute(insert(Claim), rows)
    engine.dispose()
    return time.perf_counter() - started


def _evaluate_range(args: tuple[str, int, int]) -> tuple[int, float, int]:
    """Worker: evaluate members in an id range; return count, points total and peak RSS (KB)."""
    url, first, last = args
    engine = make_engine(url)
    count, points = 0, 0.0
    for standing in all_standings(engine, AS_OF, first, last):
        count += 1
        points += standing.evaluation.total
    engine.dispose()
    return count, points, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def evaluate_all(path: Path, workers: int) -> tuple[int, float, float, int]:
    """Evaluate every member; return count, points, seconds and the peak worker RSS (KB)."""
    url = f"sqlite:///{path}"
    bounds = member_id_bounds(make_engine(url))
    assert bounds is not None
    low, high = bounds
    step = (high - low + workers) // workers
    ranges = [(url, a, min(a + step - 1, high)) for a in range(low, high + 1, step)]
    started = time.perf_counter()
    if workers == 1:
        results = [_evaluate_range(ranges[0])]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_evaluate_range, ranges)
    seconds = time.perf_counter() - started
    count = sum(r[0] for r in results)
    return count, sum(r[1] for r in results), seconds, max(r[2] for r in results)


def main() -> None:
    """Run the benchmark at each size and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="member counts, comma-separated")
    parser.add_argument("--claims", type=int, default=20, help="claims per member")
    parser.add_argument("--workers", type=int, default=2, help="processes (default: 2 cores)")
    args = parser.parse_args()
    per_member: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="cpd-bench-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"bench-{size}.sqlite3"
            build = build_database(path, size, args.claims)
            count, points, seconds, rss_kb = evaluate_all(path, args.workers)
            assert count == size, (count, size)
            per_member[size] = seconds / size * 1e6 * args.workers
            print(
                f"{size:>7} members x {args.claims} claims: built in {build:.1f} s; evaluated in "
                f"{seconds:.2f} s with {args.workers} worker(s) = {size / seconds:,.0f} members/s, "
                f"{per_member[size]:.0f} us CPU per member, peak RSS per worker "
                f"{rss_kb / 1024:.0f} MB (points total {points:,.0f})"
            )
            path.unlink()
    sizes = sorted(per_member)
    if len(sizes) > 1:
        ratio = per_member[sizes[-1]] / per_member[sizes[0]]
        print(f"per-member cost at {sizes[-1]:,} / at {sizes[0]:,} members: {ratio:.2f}")


if __name__ == "__main__":
    main()
