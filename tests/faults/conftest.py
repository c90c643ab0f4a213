"""The fault-injection suite: each case runs `cpd run` as a subprocess against the local
servers, injects a fault (SIGKILL, a refusal, an outage, a full disk) and counts what survived.

Every case records its figures with the ``fault_report`` fixture; they are printed together at
the end of the run (and written to ``benchmarks/results/faults.txt`` when that folder exists),
so that a run's output is the evidence quoted in a closing note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPORT_FILE = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "faults.txt"


@dataclass
class FaultFigures:
    """What one fault case sent in and what came out of it."""

    case: str
    sent: int
    accepted: int
    stored: int
    lost: int
    repeated: int
    extra: dict[str, object] = field(default_factory=dict)

    def line(self) -> str:
        """One line for the summary."""
        extras = "".join(f", {key} {value}" for key, value in self.extra.items())
        return (
            f"{self.case}: sent {self.sent}, accepted {self.accepted}, stored {self.stored}, "
            f"lost {self.lost}, repeated {self.repeated}{extras}"
        )


_FIGURES: list[FaultFigures] = []

Report = Callable[..., FaultFigures]


@pytest.fixture
def fault_report() -> Report:
    """``fault_report(case, sent=, accepted=, stored=, lost=, repeated=, **extra)`` records a
    case's figures for the end-of-run summary and returns them."""

    def record(
        case: str,
        *,
        sent: int,
        accepted: int,
        stored: int,
        lost: int,
        repeated: int,
        **extra: object,
    ) -> FaultFigures:
        figures = FaultFigures(case, sent, accepted, stored, lost, repeated, dict(extra))
        _FIGURES.append(figures)
        return figures

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print every fault case's figures after the run."""
    if not _FIGURES:
        return
    terminalreporter.section("fault injection figures")
    lines = [figures.line() for figures in _FIGURES]
    for line in lines:
        terminalreporter.write_line(line)
    if REPORT_FILE.parent.is_dir():
        REPORT_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")
