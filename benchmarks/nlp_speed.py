"""Speed of the shipped NLP pipeline: load time, messages per second in batch, peak RSS.

    python benchmarks/nlp_speed.py [--n 5000] [--model DIR]

Runs on one core (thread pools pinned to 1 before spaCy is imported). Messages are made up
here from templates in several shapes (chat lines, mails, long rambles), not read from any
data set. Bars: >= 1,000 msg/s, load < 2 s, peak RSS < 400 MB.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

BARS = {"msg_per_s": 1000.0, "load_s": 2.0, "peak_rss_mb": 400.0}

_WHAT = ["hull survey webinar", "EV high-voltage course", "records retention workshop",
         "committee meeting", "boat show", "journal article on troponin", "mentoring call",
         "site visit to the paint plant", "marking diploma scripts", "volunteering at the fair",
         "book chapter on wiring", "talk to apprentices", "MSc coursework"]
_WHO = ["", " run by the IIMS", " at Bosch", " with the Institute", " at work", " in-house",
        " at Solent University", " organised by Age UK"]
_WHEN = ["", " yesterday", " today", " on Tuesday", " last Friday", " on the 3rd", " 12/03",
         " last weekend", " 2-4 March"]
_HOW_LONG = ["", " 3 hrs", " 9-12:30", " from 9am to 5pm with an hour for lunch", " half a day",
             " 2 x 90 min", " 1h30", " a full day", " two and a half hours"]
_EXTRA = ["", " passed the test", " 📸", " co-wrote with two colleagues", " no hours recorded"]


def make_messages(n: int, seed: int = 0) -> list[tuple[str, dt.date]]:
    """``n`` synthetic (text, today) pairs with a realistic mix of lengths."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        text = (rng.choice(_WHAT) + rng.choice(_WHO) + rng.choice(_WHEN)
                + rng.choice(_HOW_LONG) + rng.choice(_EXTRA))
        if i % 10 == 0:
            text = f"Dear CPD team,\n\nPlease log: {text}.\n\nKind regards,\nSam"
        if i % 50 == 0:
            text = text + " and then " + " ".join(rng.choice(_WHAT) for _ in range(60))
        out.append((text, dt.date(2026, 3, 12) - dt.timedelta(days=rng.randrange(400))))
    return out


def main(argv: list[str] | None = None) -> int:
    """Measure and print; exit status 0 (it reports, it does not gate)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000, help="messages to classify (default 5000)")
    ap.add_argument("--model", type=Path, default=None, help="pipeline dir (default: shipped)")
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args(argv)

    start = time.perf_counter()
    from cpd.nlp import load_extractor

    import_s = time.perf_counter() - start
    start = time.perf_counter()
    extractor = load_extractor(args.model)
    model_s = time.perf_counter() - start
    load_s = import_s + model_s

    messages = make_messages(args.n)
    extractor.extract_many(messages[:200])  # warm-up
    start = time.perf_counter()
    acts = extractor.extract_many(messages, batch_size=args.batch_size)
    elapsed = time.perf_counter() - start
    rate = len(acts) / elapsed
    single_start = time.perf_counter()
    for text, today in messages[:500]:
        extractor.extract(text, today)
    single_rate = 500 / (time.perf_counter() - single_start)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    figures = {"msg_per_s": rate, "load_s": load_s, "peak_rss_mb": peak_mb}
    print(f"messages: {len(acts)} in {elapsed:.2f} s (batch size {args.batch_size})")
    print(f"{'measure':<24} {'value':>10} {'bar':>10}")
    rows = [("throughput (msg/s)", "msg_per_s", ">="),
            ("load incl. imports (s)", "load_s", "<"),
            ("peak RSS (MB)", "peak_rss_mb", "<")]
    for label, key, op in rows:
        ok = figures[key] >= BARS[key] if op == ">=" else figures[key] < BARS[key]
        print(f"{label:<28} {figures[key]:>8.2f} {op}{BARS[key]:>7.0f} {'ok' if ok else 'BELOW'}")
    print(f"  of which imports {import_s:.2f} s, spacy.load of the model {model_s:.2f} s")
    print(f"one at a time (msg/s)        {single_rate:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
