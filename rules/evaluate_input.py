"""The ``cpd rules evaluate`` contract: validate the JSON input, evaluate, give the JSON output."""

from __future__ import annotations

from typing import Any

from cpd.rules.engine import check_claims, evaluate
from cpd.rules.scheme import load_scheme
from cpd.rules.values import InputError, parse_claim, parse_date, parse_member


def evaluate_document(document: Any) -> dict[str, Any]:
    """Evaluate one input document (already decoded from JSON) and return the output document.

    Raises InputError (one line, naming the field) or SchemeError for an unknown scheme.
    """
    if not isinstance(document, dict):
        raise InputError("input: expected a JSON object with scheme, as_of, member, claims")
    if "scheme" not in document:
        raise InputError("scheme: missing")
    scheme = load_scheme(str(document["scheme"]))
    as_of = parse_date(document.get("as_of"), "as_of")
    member = parse_member(document.get("member"))
    raw_claims = document.get("claims") or []
    if not isinstance(raw_claims, list):
        raise InputError("claims: expected a list")
    claims = [parse_claim(item, i) for i, item in enumerate(raw_claims)]
    ids = [c.id for c in claims]
    if len(ids) != len(set(ids)):
        raise InputError("claims: ids must be unique")
    check_claims(scheme, claims)
    return evaluate(scheme, member, claims, as_of).to_json()
