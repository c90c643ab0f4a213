"""OCR of certificates: the share read right and seconds per page, against bare Tesseract.

    python benchmarks/ocr.py [--n 60] [--seed 15]

Certificates are drawn here (``tests/support/certificates.py``: four layouts, four DejaVu
fonts, six variants: clean PNG; JPEG turned 90 and 180 degrees; skewed 2-4 degrees; noisy;
photographed at an angle with uneven light), each stating a kind, hours, a date and an issuer.
Each is read by the product's reader (``cpd.claims.ocr.read_file``: OSD, deskew, bounds) and
its text handed to the shipped NLP step as evidence for the one-word message "certificate";
the baseline is the same image through bare ``pytesseract.image_to_string`` (no orientation,
no deskew) and the same NLP step. Bars: each share >= 0.9, seconds per page <= 3.
Tesseract runs with one OpenMP thread, as ``cpd run`` sets it.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import io  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytesseract  # noqa: E402
from PIL import Image  # noqa: E402

from cpd.claims.ocr import read_file  # noqa: E402
from cpd.nlp import load_extractor  # noqa: E402
from tests.support import certificates as certs  # noqa: E402

BARS = {"share": 0.9, "seconds_per_page": 3.0}
FIELDS = ("kind", "hours", "date", "provider")
TODAY = dt.date(2026, 11, 30)


def _score(activity: object, cert: certs.Certificate) -> dict[str, bool]:
    return {
        "kind": getattr(activity, "kind", None) == cert.kind,
        "hours": getattr(activity, "hours", None) == cert.hours,
        "date": getattr(activity, "start_date", None) == cert.date,
        "provider": getattr(activity, "provider", None) == cert.provider,
    }


def main() -> int:
    """Run the benchmark; exit status 1 when a bar is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    samples = [certs.distorted(rng, certs.VARIANTS[i % len(certs.VARIANTS)]) for i in range(args.n)]
    extractor = load_extractor()
    ours = {f: 0 for f in FIELDS}
    bare = {f: 0 for f in FIELDS}
    ours_seconds = bare_seconds = 0.0
    misses: list[str] = []
    for index, (cert, data) in enumerate(samples):
        variant = certs.VARIANTS[index % len(certs.VARIANTS)]
        started = time.perf_counter()
        result = read_file(data, "image/jpeg")
        ours_seconds += time.perf_counter() - started
        got = _score(extractor.extract("certificate", TODAY, evidence_text=result.text), cert)
        for field, right in got.items():
            ours[field] += right
        if not all(got.values()):
            wrong = ",".join(f for f, ok in got.items() if not ok)
            misses.append(f"  #{index} {variant}/{cert.layout}: {wrong} wrong")

        started = time.perf_counter()
        text = pytesseract.image_to_string(Image.open(io.BytesIO(data)))
        bare_seconds += time.perf_counter() - started
        for field, right in _score(
            extractor.extract("certificate", TODAY, evidence_text=text), cert
        ).items():
            bare[field] += right

    n = len(samples)
    per_page = ours_seconds / n
    load = os.getloadavg()[0]
    print(f"certificates: {n} ({len(certs.LAYOUTS)} layouts, {len(certs.FONTS)} fonts, "
          f"variants {', '.join(certs.VARIANTS)}); load average {load:.2f}")  # fmt: skip
    print(f"{'field':<10}{'ours':>8}{'bare':>8}")
    failed = False
    for field in FIELDS:
        share = ours[field] / n
        failed |= share < BARS["share"]
        print(f"{field:<10}{share:>8.3f}{bare[field] / n:>8.3f}")
    failed |= per_page > BARS["seconds_per_page"]
    baseline = bare_seconds / n
    print(f"seconds per page: ours {per_page:.2f}, bare Tesseract {baseline:.2f} "
          f"(ratio {per_page / baseline:.2f}); bar <= {BARS['seconds_per_page']:g} s")  # fmt: skip
    if misses:
        print("misses:")
        print("\n".join(misses))
    print("bars:", "missed" if failed else "met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
