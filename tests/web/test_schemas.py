"""The API's typed status filter names exactly the statuses the claims layer lists."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import ValidationError

from cpd.claims.web_claims import STATUSES
from cpd.web.schemas import ClaimsQuery, ClaimStatus


def test_the_status_type_spells_the_claims_statuses() -> None:
    assert get_args(ClaimStatus) == STATUSES


def test_an_unknown_status_is_refused() -> None:
    assert ClaimsQuery(status="pending").status == "pending"
    with pytest.raises(ValidationError):
        ClaimsQuery.model_validate({"status": "lost"})
