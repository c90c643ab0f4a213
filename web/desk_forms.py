"""Pydantic models of what the desk's pages accept (query strings and posted forms). A plain
GET form sends empty strings for "any": they mean no filter."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Sort = Literal["oldest", "newest", "member", "points"]


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _blanks(cls, value: Any) -> Any:
        return _blank_is_none(value)


class QueueParams(_Lenient):
    """``GET /desk``: the queue's filters, search, sort and page."""

    scheme: str | None = Field(default=None, max_length=32)
    kind: str | None = Field(default=None, max_length=32)
    channel: str | None = Field(default=None, max_length=16)
    age: int | None = Field(default=None, ge=0, le=3650)
    q: str | None = Field(default=None, max_length=100)
    sort: Sort = "oldest"
    page: int = Field(default=1, ge=1, le=100_000)

    @field_validator("sort", mode="before")
    @classmethod
    def _default_sort(cls, value: Any) -> Any:
        return "oldest" if value is None else value


class RegisterParams(_Lenient):
    """``GET /desk/members``: scheme, the "behind"/"no claim" filter, search and page."""

    scheme: str | None = Field(default=None, max_length=32)
    only: Literal["behind", "no_claim"] | None = None
    q: str | None = Field(default=None, max_length=100)
    page: int = Field(default=1, ge=1, le=100_000)


class StandingsParams(_Lenient):
    """``GET /desk/standings``: the scheme and the period (its key, a year)."""

    scheme: str | None = Field(default=None, max_length=32)
    period: int | None = Field(default=None, ge=1900, le=2999)


class AuditParams(_Lenient):
    """``GET /desk/audit``: a member's number, an action, the page."""

    member: str | None = Field(default=None, max_length=64)
    action: str | None = Field(default=None, max_length=64)
    page: int = Field(default=1, ge=1, le=100_000)


class PeriodEndParams(_Lenient):
    """``GET /desk/period-end``: the closing day to preview, or an audit draw to preview."""

    closing_day: dt.date | None = None
    scheme: str | None = Field(default=None, max_length=32)
    cycle: int | None = Field(default=None, ge=1900, le=2999)
    fraction: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False)


class DecisionForm(_Lenient):
    """A decision posted by a page's form: accept, accept with other points, decline."""

    action: Literal["accept", "accept_points", "decline"]
    points: float | None = Field(default=None, ge=0, le=1000, allow_inf_nan=False)
    reason: str | None = Field(default=None, max_length=2000)

    def api_action(self) -> tuple[str, float | None]:
        """The API's action and points (``accept_points`` is an accept with points)."""
        if self.action == "accept_points":
            return "accept", self.points if self.points is not None else -1.0
        return self.action, None


class AuditDrawForm(_Lenient):
    """``POST /desk/period-end/audit``: the previewed draw to make."""

    scheme: str = Field(max_length=32)
    cycle: int = Field(ge=1900, le=2999)
    fraction: float = Field(gt=0, le=1, allow_inf_nan=False)
    seed: int = Field(ge=0, lt=2**31)
    expected: str | None = Field(default=None, max_length=20_000)
