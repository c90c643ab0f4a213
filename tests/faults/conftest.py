"""The fault-injection suite: each case runs `cpd run` as a subprocess against the local
servers, injects a fault (SIGKILL, a refusal, an outage, a full disk) and counts what survived.

Every case records its figures with the ``fault_report`` fixture; they are printed together at
the end of the run by the hooks in ``tests/conftest.py`` (and written to
``benchmarks/results/faults.txt`` when that folder exists), so that a run's output is the
evidence quoted in a closing note.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

FULL_KILLS = 30
"""The SIGKILLs of the kill-and-restart cases (300 mails, 300 presses, 300 messages)."""

KILLS = int(os.environ.get("FAULT_KILLS", FULL_KILLS))
"""``FAULT_KILLS`` (default the full 30): ``.ci/run`` sets 10 to keep within its time budget,
since each kill costs a `cpd run` start-up (about 4 s here); the figures name the count."""


def kills_label() -> str:
    """The kill count for a case's figures, saying when it is not the full one."""
    return str(KILLS) if KILLS == FULL_KILLS else f"{KILLS} (full {FULL_KILLS}: FAULT_KILLS=30)"


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


FIGURES_PROPERTY = "fault_figures"
"""The name under which a case's summary line travels in its test report (so that the figures
reach the terminal summary also when the tests run in pytest-xdist workers)."""

Report = Callable[..., FaultFigures]


@pytest.fixture
def fault_report(request: pytest.FixtureRequest) -> Report:
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
        request.node.user_properties.append((FIGURES_PROPERTY, figures.line()))
        return figures

    return record
