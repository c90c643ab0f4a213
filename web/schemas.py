"""Pydantic models of what the JSON API accepts: every parsed input is validated here."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

ClaimStatus = Literal["draft", "pending", "accepted", "declined", "withdrawn", "expired"]
"""A claim's status as the API filters on it: ``cpd.claims.web_claims.STATUSES`` spelled as a
type (tests/web/test_schemas.py keeps the two equal)."""


class DecisionIn(BaseModel):
    """``POST /api/claims/ID/decision``."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "decline"]
    points: float | None = Field(default=None, ge=0, le=1000, allow_inf_nan=False)
    reason: str | None = Field(default=None, max_length=2000, validate_default=True)

    @field_validator("reason")
    @classmethod
    def _reason_for_a_decline(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A decline needs a reason (the member is told it): 422 naming ``reason``."""
        if info.data.get("action") == "decline" and not (value or "").strip():
            raise ValueError("a decline needs a reason: the member will see it")
        return value


class ClaimsQuery(BaseModel):
    """``GET /api/claims`` filters."""

    status: ClaimStatus | None = None
    member: str | None = Field(default=None, min_length=1, max_length=64)
    limit: int = Field(default=200, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=2**31 - 1)
    auto: bool = False  # only claims accepted automatically (the body's events)
    duplicates: bool = False  # only claims marked as repeating an earlier one


class ClaimForm(BaseModel):
    """The text fields of ``POST /api/claims`` (files are checked apart)."""

    model_config = ConfigDict(extra="ignore")

    text: str = Field(default="", max_length=20_000)
    date: dt.date | None = None
    new_knowledge: str | None = Field(default=None, max_length=5000)
    behaviour: str | None = Field(default=None, max_length=5000)
    impact: str | None = Field(default=None, max_length=5000)

    @field_validator("date", "new_knowledge", "behaviour", "impact", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def reflections(self) -> dict[str, str]:
        """The reflections given with the claim."""
        found = {
            "new_knowledge": self.new_knowledge,
            "behaviour": self.behaviour,
            "impact": self.impact,
        }
        return {k: v.strip() for k, v in found.items() if v}
