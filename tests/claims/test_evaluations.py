"""One evaluation per transition: a counting wrapper around the engine's entry point shows how
many times a member's history is evaluated (and loaded) by each step of a claim."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cpd import rules
from cpd.claims import evaluation
from cpd.claims.intake import Intake, Sender
from cpd.claims.service import ClaimsService
from cpd.rules import engine
from tests.claims.conftest import NOW
from tests.support.mail_intake import mail_intake

JANE, SAM = Sender(101), Sender(201)


class Counter:
    """Counts calls of the functions it wraps."""

    def __init__(self) -> None:
        self.calls = 0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return function(*args, **kwargs)

        return counted


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Every evaluation: direct ``rules.evaluate`` calls and those made by ``rules.propose``."""
    counter = Counter()
    counted = counter.wrap(engine.evaluate)
    monkeypatch.setattr(engine, "evaluate", counted)  # what propose calls
    monkeypatch.setattr(rules, "evaluate", counted)  # what callers of the package call
    return counter


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Every load of a member's claims for an evaluation."""
    counter = Counter()
    monkeypatch.setattr(evaluation, "claims_of_member", counter.wrap(evaluation.claims_of_member))
    return counter


def _telegram(text: str, key: str = "telegram:update:1") -> Intake:
    return Intake("telegram", key, JANE, text, NOW)


def _pending(service: ClaimsService, key: str = "telegram:update:1") -> int:
    draft = service.start_claim(_telegram("boat show yesterday 4 hours", key)).claim
    return service.submit(draft.id, JANE).id


def test_a_draft_and_its_submission_evaluate_once_each(
    service: ClaimsService, evaluations: Counter, loads: Counter
) -> None:
    draft = service.start_claim(_telegram("boat show yesterday 4 hours")).claim
    assert (evaluations.calls, loads.calls) == (1, 1)
    service.submit(draft.id, JANE)
    assert (evaluations.calls, loads.calls) == (2, 2)


def test_a_mail_claim_drafted_and_submitted_in_one_transaction_evaluates_once(
    service: ClaimsService, evaluations: Counter, loads: Counter
) -> None:
    mail = mail_intake("Boat show yesterday, 5 hours", "jane@example.com", "<m1@example.com>", NOW)
    outcome = service.receive_mail(mail)
    assert outcome.outcome == "claimed"
    assert (evaluations.calls, loads.calls) == (1, 1)


def test_an_acceptance_evaluates_once_and_its_message_shows_the_standing_after_it(
    service: ClaimsService, evaluations: Counter, loads: Counter
) -> None:
    claim_id = _pending(service)
    before = evaluations.calls, loads.calls
    decision = service.decide(claim_id, SAM, "accept")
    assert decision.applied
    assert (evaluations.calls - before[0], loads.calls - before[1]) == (1, 1)
    _, _, standing = service.progress(JANE)
    assert decision.claim.awarded_points == decision.claim.proposed_points
    assert f"{standing.total:g}" in decision.message


def test_accepting_with_other_points_evaluates_once(
    service: ClaimsService, evaluations: Counter
) -> None:
    claim_id = _pending(service)
    before = evaluations.calls
    service.decide(claim_id, SAM, "accept_points", points=2.5)
    assert evaluations.calls - before == 1


def test_a_decline_evaluates_nothing(
    service: ClaimsService, evaluations: Counter, loads: Counter
) -> None:
    claim_id = _pending(service)
    before = evaluations.calls, loads.calls
    decision = service.decide(claim_id, SAM, "decline", reason="not CPD")
    assert decision.applied and decision.claim.status == "declined"
    assert (evaluations.calls, loads.calls) == before
