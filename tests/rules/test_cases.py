"""Runs every YAML case under tests/rules/cases/ through the `cpd rules evaluate` contract.

A case gives the evaluate input and either the expected output (only the keys it lists are
checked; claims by id, only the fields listed) or `error`, a substring of the one-line error.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from cpd.rules import InputError, SchemeError, evaluate_document

CASES_DIR = Path(__file__).with_name("cases")


def _plain(value: Any) -> Any:
    """YAML dates to ISO strings, recursively, so the input is what JSON would carry."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            params.append(pytest.param(_plain(case), id=f"{path.stem}: {case['name']}"))
    return params


CASES = _load_cases()


def test_there_are_enough_cases_for_every_scheme() -> None:
    schemes = [p.values[0]["input"].get("scheme") for p in CASES]
    assert len(CASES) >= 60
    for scheme in ("iims", "iim", "imi", "ibms"):
        assert schemes.count(scheme) >= 10, scheme


def _check(actual: Any, expected: Any, where: str) -> None:
    if isinstance(expected, float | int) and not isinstance(expected, bool):
        assert isinstance(actual, int | float) and not isinstance(actual, bool), where
        assert actual == pytest.approx(expected, abs=0.005), where
    else:
        assert actual == expected, where


@pytest.mark.parametrize("case", CASES)
def test_case(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises((InputError, SchemeError)) as raised:
            evaluate_document(case["input"])
        message = str(raised.value)
        assert "\n" not in message
        assert case["error"].lower() in message.lower()
        return
    output = evaluate_document(case["input"])
    expect = case["expect"]
    for key, value in expect.items():
        if key == "claims":
            by_id = {c["id"]: c for c in output["claims"]}
            for claim_id, fields in value.items():
                got = by_id[str(claim_id)]
                for name, wanted in fields.items():
                    if name == "note_contains":
                        assert wanted.lower() in got["note"].lower(), (claim_id, got["note"])
                    else:
                        _check(got[name], wanted, f"claim {claim_id} {name}: {got}")
        elif key == "diploma":
            for name, wanted in value.items():
                _check(output["diploma"][name], wanted, f"diploma.{name}")
        else:
            _check(output[key], value, key)
