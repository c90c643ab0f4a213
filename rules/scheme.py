"""Scheme files: their validated model and the loader.

A scheme is data: one YAML file per professional body under ``rules/schemes/``. Everything the
engine needs to know about a body (its period, target, categories, rates, caps, extras) is
in that file; adding a body means adding a file. A malformed file fails at load time with the
file and the field named.
"""

from __future__ import annotations

import datetime as dt
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cpd.rules.kinds import KINDS

SCHEMES_DIR = Path(__file__).with_name("schemes")


class SchemeError(ValueError):
    """A scheme is unknown or its file is malformed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarYear(_Strict):
    """Periods are calendar years, 1 January to 31 December."""

    kind: Literal["calendar_year"]


class ProRataRow(_Strict):
    """A first-cycle target for members who joined in one of ``months``."""

    months: list[Annotated[int, Field(ge=1, le=12)]]
    target: Annotated[float, Field(ge=0)]


class Cycle(_Strict):
    """Multi-year cycles anchored on the member's joining date."""

    kind: Literal["cycle"]
    start_month: Annotated[int, Field(ge=1, le=12)]
    start_day: Annotated[int, Field(ge=1, le=28)] = 1
    years: Annotated[int, Field(ge=1, le=10)]
    pro_rata: list[ProRataRow] = []

    @model_validator(mode="after")
    def _pro_rata_covers_each_month_once(self) -> Cycle:
        if self.pro_rata:
            months = sorted(m for row in self.pro_rata for m in row.months)
            if months != list(range(1, 13)):
                raise ValueError("pro_rata rows must name each month 1-12 exactly once")
        return self


class RollingWindow(_Strict):
    """A window of ``years`` ending on the as-of date (a diploma), reset by a diploma start."""

    kind: Literal["rolling_window"]
    years: Annotated[int, Field(ge=1, le=10)]


class Rate(_Strict):
    """How a claim in a category earns: exactly one of the fields is set."""

    per_hour: Annotated[float, Field(gt=0)] | None = None
    fixed: Annotated[float, Field(ge=0)] | None = None
    pro_rata: Annotated[float, Field(gt=0)] | None = None
    per_activity: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Rate:
        chosen = [k for k, v in self.model_dump().items() if v is not None]
        if len(chosen) != 1:
            raise ValueError("a rate sets exactly one of per_hour, fixed, pro_rata, per_activity")
        return self


class RepeatRule(_Strict):
    """A claim repeating an earlier one that earned (same title) within N months earns 0."""

    within_months: Annotated[int, Field(ge=1, le=60)]


class Category(_Strict):
    """A row of the scheme's table: which claims it takes and what they earn."""

    id: str
    name: str
    kinds: list[str]
    provider: Literal["any", "institute", "other"] = "any"
    rate: Rate
    cap: Annotated[float, Field(gt=0)] | None = None
    hours_cap: Annotated[float, Field(gt=0)] | None = None
    repeat: RepeatRule | None = None

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; known: {', '.join(KINDS)}")
        return kinds

    @model_validator(mode="after")
    def _hours_cap_needs_hours(self) -> Category:
        if self.hours_cap is not None and self.rate.per_hour is None:
            raise ValueError("hours_cap needs a per_hour rate")
        return self

    def takes(self, kind: str, provider: str | None) -> bool:
        """Whether a claim of this kind and provider falls in this category."""
        if kind not in self.kinds:
            return False
        if self.provider == "institute":
            return provider == "institute"
        if self.provider == "other":
            return provider != "institute"
        return True


class CarryForward(_Strict):
    """Surplus above the target moves to the next period, at most ``max``."""

    max: Annotated[float, Field(ge=0)]


class Extras(_Strict):
    """Credits added on top of a claim's base: a test, and reflections (capped together)."""

    test: Annotated[float, Field(ge=0)] = 0
    reflections: dict[Literal["behaviour", "impact"], Annotated[float, Field(ge=0)]] = {}
    reflections_max: Annotated[float, Field(ge=0)] | None = None


class Diploma(_Strict):
    """A diploma is ready at the target number of activities over ``min_categories``."""

    min_categories: Annotated[int, Field(ge=1)]
    # What the member is told of it; ``{start}``, ``{counted}``, ``{target}``, ``{categories}``
    # and ``{ready}`` are filled in.
    status_text: str = (
        "Diploma since {start}: {counted} of {target} reflected activities; categories: "
        "{categories}. It is {ready}."
    )
    ready_text: str = "ready: send /submit"
    not_ready_text: str = "not ready yet"


class ReflectionButton(_Strict):
    """A reflection the member can add from a draft's card (its credit, if any, is the
    scheme's ``extras.reflections`` for the field)."""

    field: Literal["new_knowledge", "behaviour", "impact"]
    label: str


class Buttons(_Strict):
    """What a draft's card offers for this scheme, beyond Submit, the corrections and Cancel."""

    reflections: list[ReflectionButton] = []  # none: the generic "Add reflection" when needed
    test: str | None = None  # the label of the test toggle (shown when ``extras.test`` > 0)
    no_test: str = "No test"  # the toggle's label once a test is recorded
    category_question: str = "Which category fits best?"


class Audit(_Strict):
    """End-of-period random audit of a fraction of members."""

    default_fraction: Annotated[float, Field(gt=0, le=1)]


class Reminders(_Strict):
    """A scheme's overrides of the reminder rule (``claims.reminders.ReminderRule`` holds the
    defaults; a field left out keeps its default)."""

    weeks_without_claim: Annotated[int, Field(ge=1, le=104)] | None = None
    encourage_monthly: bool | None = None
    countdown_days: list[Annotated[int, Field(ge=0, le=366)]] | None = None
    countdown_ignores_mute: bool | None = None
    duty_ignores_mute: bool | None = None
    duty_every_weeks: Annotated[int, Field(ge=1, le=52)] | None = None

    @field_validator("countdown_days")
    @classmethod
    def _distinct_days(cls, days: list[int] | None) -> list[int] | None:
        if days is not None and len(days) != len(set(days)):
            raise ValueError(f"countdown days repeat: {days}")
        return days


class FollowUps(_Strict):
    """Follow-ups that earn credits or save them (issue 15), timed by the scheme: the impact
    question ``impact_after_weeks`` after an accepted claim without an impact reflection,
    warnings ``window_warning_days`` before activities drop out of a rolling window, and a
    draft's reminder and expiry (days after it was made; None: never)."""

    impact_after_weeks: Annotated[int, Field(ge=1, le=104)] | None = None
    impact_button: str = "Add impact and results"
    window_warning_days: list[Annotated[int, Field(ge=1, le=366)]] = []
    draft_reminder_after_days: Annotated[int, Field(ge=1, le=60)] | None = 1
    draft_expires_after_days: Annotated[int, Field(ge=1, le=365)] | None = 14

    @model_validator(mode="after")
    def _coherent(self) -> FollowUps:
        days = self.window_warning_days
        if len(days) != len(set(days)):
            raise ValueError(f"window warning days repeat: {days}")
        reminder, expiry = self.draft_reminder_after_days, self.draft_expires_after_days
        if reminder is not None and expiry is not None and reminder >= expiry:
            raise ValueError("a draft's reminder must come before its expiry")
        return self


class AutoApproval(_Strict):
    """Claims matching one of the body's own events accepted at once (off unless ``enabled``),
    but for a seeded 1 in ``spot_check_one_in`` still sent to the secretary."""

    enabled: bool = False
    spot_check_one_in: Annotated[int, Field(ge=2, le=1000)] = 20
    title_score: Annotated[float, Field(ge=50, le=100)] = 85


class Scheme(_Strict):
    """One professional body's CPD scheme, as read from its file."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")]
    name: str
    short_name: str
    unit: Literal["points", "credits", "activities"]
    starts: dt.date | None = None
    period: Annotated[CalendarYear | Cycle | RollingWindow, Field(discriminator="kind")]
    target: Annotated[float, Field(ge=0)]
    carry_forward: CarryForward | None = None
    dispensations: bool = False
    exempt_grades: list[str] = []
    hours_per_day: Annotated[float, Field(gt=0, le=24)] = 7.5
    reflection_required: Literal["none", "new_knowledge", "any"] = "none"
    extras: Extras = Extras()
    declaration: Literal["annual"] | None = None
    audit: Audit | None = None
    diploma: Diploma | None = None
    member_may_choose_category: bool = False
    unmatched_note: str = "no category for this kind: the secretary sets the value"
    reminders: Reminders = Reminders()
    follow_ups: FollowUps = FollowUps()
    auto_approval: AutoApproval = AutoApproval()
    buttons: Buttons = Buttons()
    categories: Annotated[list[Category], Field(min_length=1)]

    @model_validator(mode="after")
    def _coherent(self) -> Scheme:
        ids = [c.id for c in self.categories]
        if len(ids) != len(set(ids)):
            raise ValueError(f"category ids repeat: {ids}")
        if self.diploma is not None and self.period.kind != "rolling_window":
            raise ValueError("a diploma needs a rolling_window period")
        if self.follow_ups.window_warning_days and self.period.kind != "rolling_window":
            raise ValueError("window warnings need a rolling_window period")
        return self

    def category(self, category_id: str) -> Category | None:
        """The category with this id, or None."""
        return next((c for c in self.categories if c.id == category_id), None)

    def category_for(self, kind: str, provider: str | None) -> Category | None:
        """The first category that takes a claim of this kind and provider."""
        key = (kind, provider)
        lookup = self._category_lookup
        if key not in lookup:
            lookup[key] = next((c for c in self.categories if c.takes(kind, provider)), None)
        return lookup[key]

    @cached_property
    def _category_lookup(self) -> dict[tuple[str, str | None], Category | None]:
        return {}

    def is_exempt(self, grade: str | None) -> bool:
        """Whether members of this grade have no target."""
        return grade is not None and grade.strip().lower() in self.exempt_grades


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    return f"field {where}: {first['msg'].removeprefix('Value error, ')}"


def load_scheme_file(path: Path) -> Scheme:
    """Read and validate one scheme file; raise SchemeError naming the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SchemeError(f"scheme file {path}: {exc}".splitlines()[0]) from exc
    if not isinstance(data, dict):
        raise SchemeError(f"scheme file {path}: expected a mapping at the top level")
    try:
        scheme = Scheme.model_validate(data)
    except ValidationError as exc:
        raise SchemeError(f"scheme file {path}: {_describe(exc)}") from exc
    if scheme.id != path.stem:
        raise SchemeError(f"scheme file {path}: field id: {scheme.id!r} must match the file name")
    return scheme


def scheme_ids(directory: Path = SCHEMES_DIR) -> list[str]:
    """The ids of the schemes that have a file."""
    return sorted(p.stem for p in directory.glob("*.yaml"))


@cache
def load_scheme(scheme_id: str, directory: Path = SCHEMES_DIR) -> Scheme:
    """The scheme with this id (cached); SchemeError if there is no such file."""
    path = directory / f"{scheme_id}.yaml"
    if not scheme_id or "/" in scheme_id or not path.is_file():
        known = ", ".join(scheme_ids(directory))
        raise SchemeError(f"unknown scheme {scheme_id!r}; known schemes: {known}")
    return load_scheme_file(path)
