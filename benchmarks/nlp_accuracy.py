"""Score the shipped NLP pipeline on a labelled JSONL file (default: the shared dev set).

    python benchmarks/nlp_accuracy.py [--data FILE] [--model DIR] [--errors]

Prints per-field accuracy (kind; hours within 0.01; start_date+end_date exact; has_test;
provider; co_authors) against the bars, and a confusion table of kinds. Only measures: it
never trains on the file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path

from cpd.nlp import KINDS, load_extractor

DEFAULT_DATA = (Path(__file__).resolve().parents[1].parent / "shared" / "dev-set"
                / "claims-dev.jsonl")
BARS = {"kind": 0.95, "hours": 0.97, "dates": 0.95, "has_test": 0.97, "provider": 0.90}
SHORT = {k: k[:5] for k in KINDS} | {"work_project": "workp", "qualification": "quali",
                                    "site_visit": "sitev", "volunteering": "volun",
                                    "conference": "confe", "exhibition": "exhib"}


def _hours_ok(got: float | None, want: float | None) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return abs(got - want) <= 0.01


def _find_default() -> Path:
    for cand in (DEFAULT_DATA, Path("/work/shared/dev-set/claims-dev.jsonl"),
                 Path.cwd().parent / "shared" / "dev-set" / "claims-dev.jsonl"):
        if cand.exists():
            return cand
    return DEFAULT_DATA


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 0 (it reports, it does not gate)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="labelled JSONL (default: dev set)")
    ap.add_argument("--model", type=Path, default=None, help="pipeline dir (default: shipped)")
    ap.add_argument("--errors", action="store_true", help="list every wrong field")
    args = ap.parse_args(argv)
    data = args.data or _find_default()
    records = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()
               if line.strip()]
    extractor = load_extractor(args.model)
    acts = extractor.extract_many(
        (r["text"], dt.date.fromisoformat(r["today"])) for r in records
    )
    right: Counter[str] = Counter()
    counted: Counter[str] = Counter()
    confusion: Counter[tuple[str, str]] = Counter()
    errors: list[str] = []
    for r, a in zip(records, acts, strict=True):
        got = a.to_json()
        checks = {
            "kind": got["kind"] == r["kind"],
            "hours": _hours_ok(got["hours"], r.get("hours")),
            "dates": (got["start_date"], got["end_date"]) == (r.get("start_date"),
                                                              r.get("end_date")),
            "has_test": got["has_test"] == bool(r.get("has_test")),
            "provider": got["provider"] == r.get("provider"),
            "co_authors": got["co_authors"] == r.get("co_authors"),
        }
        confusion[(r["kind"], got["kind"])] += 1
        for name, ok in checks.items():
            counted[name] += 1
            right[name] += ok
            if not ok:
                want = {"dates": (r.get("start_date"), r.get("end_date")),
                        "has_test": r.get("has_test")}.get(name, r.get(name))
                have = {"dates": (got["start_date"], got["end_date"])}.get(name, got.get(name))
                errors.append(f"{r.get('id')} {name}: got {have!r} want {want!r} | "
                              f"{r['text'][:100]!r}")

    print(f"data: {data} ({len(records)} records)")
    print(f"{'field':<11} {'accuracy':>8} {'right':>6} {'bar':>6}")
    for name in ("kind", "hours", "dates", "has_test", "provider", "co_authors"):
        acc = right[name] / max(1, counted[name])
        bar = BARS.get(name)
        mark = "" if bar is None else (" ok" if acc >= bar else " BELOW")
        bar_s = f"{bar:.2f}" if bar is not None else "-"
        print(f"{name:<11} {acc:8.3f} {right[name]:>3}/{counted[name]:<3}{bar_s:>6}{mark}")

    kinds = [k for k in KINDS if any(g == k or p == k for g, p in confusion)]
    print("\nconfusion (rows gold, columns predicted)")
    print(" " * 13 + " ".join(f"{SHORT[k]:>5}" for k in kinds))
    for g in kinds:
        row = " ".join(f"{confusion[(g, p)] or '.':>5}" for p in kinds)
        print(f"{g:<13}{row}")
    if args.errors:
        print("\nerrors")
        for line in errors:
            print(" ", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
