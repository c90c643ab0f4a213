"""Read ``mypy`` output on stdin and gate on the packages that are already strict-clean.

    python3 .ci/mypy_gate.py "cpd cpd.rules cpd.nlp cpd.web" "cpd.bot cpd.claims" < mypy.txt

The first argument lists the packages that must have no error (a package stands for its own
modules and its subpackages, unless a subpackage is listed itself: the longest name wins);
the second, the packages still being fixed, whose errors are counted and printed only. Exits 1
when a clean package has an error or when mypy did not finish its check (no summary line).
"""

from __future__ import annotations

import re
import sys
from collections import Counter

ERROR = re.compile(r"^(?P<path>[^:\s]+\.pyi?):\d+: error: ")
SUMMARY = re.compile(r"^(Found \d+ errors? in \d+ files?|Success: no issues found)")


def module_of(path: str) -> str:
    """``site/cpd/nlp/dates.py`` -> ``cpd.nlp.dates`` (``__init__`` names its package)."""
    parts = path.removesuffix(".pyi").removesuffix(".py").split("/")
    if "cpd" in parts:
        parts = parts[parts.index("cpd") :]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def owner(module: str, packages: list[str]) -> str | None:
    """The longest listed package that ``module`` is in (None: in none of them)."""
    inside = [p for p in packages if module == p or module.startswith(p + ".")]
    return max(inside, key=len) if inside else None


def main(clean: list[str], pending: list[str], lines: list[str]) -> int:
    """Print the counts; 1 if a clean package has errors or mypy gave no summary."""
    counts: Counter[str] = Counter()
    failing: list[str] = []
    for line in lines:
        match = ERROR.match(line)
        if match is None:
            continue
        package = owner(module_of(match["path"]), clean + pending) or "(unlisted)"
        counts[package] += 1
        if package not in pending:
            failing.append(line.rstrip())
    finished = any(SUMMARY.match(line) for line in lines)
    gated = sum(counts[p] for p in clean) + counts["(unlisted)"]
    print(f"mypy --strict: {gated} error(s) in the strict-clean packages ({' '.join(clean)})")
    for package in pending:
        print(f"mypy --strict: {counts[package]} error(s) in {package} (not gated yet)")
    for line in failing:
        print(line)
    if not finished:
        print("mypy did not finish its check:", *lines[-20:], sep="\n")
    return 1 if failing or not finished else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sys.exit(main(sys.argv[1].split(), sys.argv[2].split(), sys.stdin.readlines()))
