"""Scheme files and the pure rules engine that turns claims into points and balances."""

from cpd.rules.engine import check_claims, evaluate, propose, standard_target
from cpd.rules.evaluate_input import evaluate_document
from cpd.rules.kinds import KINDS, PROVIDERS
from cpd.rules.periods import Period, period_for
from cpd.rules.scheme import Scheme, SchemeError, load_scheme, load_scheme_file, scheme_ids
from cpd.rules.values import (
    Claim,
    ClaimResult,
    Diploma,
    Evaluation,
    InputError,
    Member,
    Reflections,
    parse_claim,
    parse_member,
)

__all__ = [
    "KINDS",
    "PROVIDERS",
    "Claim",
    "ClaimResult",
    "Diploma",
    "Evaluation",
    "InputError",
    "Member",
    "Period",
    "Reflections",
    "Scheme",
    "SchemeError",
    "check_claims",
    "evaluate",
    "evaluate_document",
    "load_scheme",
    "load_scheme_file",
    "parse_claim",
    "parse_member",
    "period_for",
    "propose",
    "scheme_ids",
    "standard_target",
]
