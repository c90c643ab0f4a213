"""Plain values the engine works on: a member, a claim, and what each claim earned.

They are slotted dataclasses rather than validated models so that evaluating millions of
stored claims stays cheap; ``parse_member`` and ``parse_claim`` validate untrusted input (a
JSON file, a channel's intake) once, at the edge, and raise ``InputError`` with one line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from cpd.rules.kinds import KINDS, PROVIDERS, REFLECTION_FIELDS, STATUSES


class InputError(ValueError):
    """Input the engine refuses: the message is one line naming the field."""


@dataclass(frozen=True, slots=True)
class Member:
    """What the rules need to know about a member."""

    joined: dt.date
    grade: str | None = None
    dispensations: frozenset[int] = frozenset()
    diploma_start: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Reflections:
    """A claim's reflective statements (None or empty when not written)."""

    new_knowledge: str | None = None
    behaviour: str | None = None
    impact: str | None = None

    def has(self, name: str) -> bool:
        """Whether the named reflection has text."""
        value = getattr(self, name)
        return bool(value and value.strip())

    def any(self) -> bool:
        """Whether any reflection has text."""
        return any(self.has(name) for name in REFLECTION_FIELDS)


NO_REFLECTIONS = Reflections()


@dataclass(frozen=True, slots=True)
class Claim:
    """One claimed activity, as stored or as given to ``cpd rules evaluate``."""

    id: str
    kind: str
    date: dt.date
    hours: float | None = None
    end_date: dt.date | None = None
    provider: str | None = None
    has_test: bool = False
    co_authors: int | None = None
    title: str = ""
    category: str | None = None
    points: float | None = None
    reflections: Reflections = NO_REFLECTIONS
    status: str = "accepted"


@dataclass(frozen=True, slots=True)
class Diploma:
    """Where a diploma stands (IBMS): the window's start, the accepted activities in it, those
    with a reflection, the categories of those that count, and whether it is ready."""

    start: dt.date
    activities: int
    with_reflection: int
    categories: tuple[str, ...]
    ready: bool
    counted: int
    min_categories: int

    def to_json(self) -> dict[str, Any]:
        """The ``diploma`` object of ``cpd rules evaluate``."""
        return {
            "start": self.start.isoformat(),
            "activities": self.activities,
            "with_reflection": self.with_reflection,
            "categories": list(self.categories),
            "ready": self.ready,
            "counted": self.counted,
            "min_categories": self.min_categories,
        }


@dataclass(slots=True)
class ClaimResult:
    """What one claim earned under a scheme, and why."""

    id: str
    category: str | None
    points: float
    counted: bool
    note: str

    def to_json(self) -> dict[str, Any]:
        """The claim's entry in the ``cpd rules evaluate`` output."""
        return {
            "id": self.id,
            "category": self.category,
            "points": number(self.points),
            "counted": self.counted,
            "note": self.note,
        }


@dataclass(slots=True)
class Evaluation:
    """A member's standing in one period: the ``cpd rules evaluate`` output."""

    scheme: str
    unit: str
    period_start: dt.date
    period_end: dt.date
    period_key: int
    target: float
    carried_in: float
    earned: float
    compulsory: bool
    dispensation: bool
    claims: list[ClaimResult]
    diploma: Diploma | None = None
    carry_out: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> float:
        """Carried in plus earned."""
        return round(self.carried_in + self.earned, 2)

    @property
    def remaining(self) -> float:
        """What is still needed to reach the target."""
        return max(0.0, round(self.target - self.total, 2))

    @property
    def met(self) -> bool:
        """Whether the target is reached."""
        return self.total >= self.target

    def result(self, claim_id: str) -> ClaimResult:
        """The result for one claim id."""
        return next(r for r in self.claims if r.id == claim_id)

    def to_json(self) -> dict[str, Any]:
        """The ``cpd rules evaluate`` output (extra fields beyond the contract included)."""
        return {
            "scheme": self.scheme,
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()},
            "target": number(self.target),
            "carried_in": number(self.carried_in),
            "earned": number(self.earned),
            "total": number(self.total),
            "remaining": number(self.remaining),
            "met": self.met,
            "claims": [r.to_json() for r in self.claims],
            "diploma": None if self.diploma is None else self.diploma.to_json(),
            "unit": self.unit,
            "compulsory": self.compulsory,
            "dispensation": self.dispensation,
            "carry_out": number(self.carry_out),
        }


def number(value: float) -> float | int:
    """A points value for JSON: whole numbers as ints, others rounded to 2 places."""
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded


FIRST_YEAR, LAST_YEAR = 1900, 2999


def parse_date(value: Any, name: str) -> dt.date:
    """An ISO date from a string or a date; InputError naming the field otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            if not FIRST_YEAR <= day.year <= LAST_YEAR:  # period math would leave the calendar
                raise InputError(f"{name}: {value!r} is outside {FIRST_YEAR}-{LAST_YEAR}")
            return day
    raise InputError(f"{name}: {value!r} is not a date (use YYYY-MM-DD)")


def _optional_date(value: Any, name: str) -> dt.date | None:
    return None if value in (None, "") else parse_date(value, name)


def _number(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{name}: {value!r} is not a number")
    if value != value or value in (float("inf"), float("-inf")):
        raise InputError(f"{name}: {value!r} is not a finite number")
    return float(value)


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{name}: expected text, got {value!r}")
    return value


def parse_member(data: Any) -> Member:
    """Validate the ``member`` object of the evaluate input."""
    if not isinstance(data, dict):
        raise InputError("member: expected an object with joined, grade, dispensations")
    if "joined" not in data:
        raise InputError("member.joined: missing (the date the member joined, YYYY-MM-DD)")
    dispensations = data.get("dispensations") or []
    if not isinstance(dispensations, list) or not all(
        isinstance(y, int) and not isinstance(y, bool) for y in dispensations
    ):
        raise InputError("member.dispensations: expected a list of period years, e.g. [2024]")
    return Member(
        joined=parse_date(data["joined"], "member.joined"),
        grade=_text(data.get("grade"), "member.grade"),
        dispensations=frozenset(dispensations),
        diploma_start=_optional_date(data.get("diploma_start"), "member.diploma_start"),
    )


def _parse_reflections(data: Any, name: str) -> Reflections:
    if data is None:
        return NO_REFLECTIONS
    if isinstance(data, str):
        return Reflections(new_knowledge=data)
    if not isinstance(data, dict):
        raise InputError(f"{name}: expected an object with {', '.join(REFLECTION_FIELDS)}")
    unknown = set(data) - set(REFLECTION_FIELDS)
    if unknown:
        raise InputError(f"{name}: unknown reflection {sorted(unknown)[0]!r}")
    return Reflections(**{k: _text(data.get(k), f"{name}.{k}") for k in REFLECTION_FIELDS})


def check_hours(hours: float | None, start: dt.date, end: dt.date, name: str = "hours") -> None:
    """Refuse negative hours and more than 24 hours for each day the activity spans."""
    if hours is None:
        return
    if hours < 0:
        raise InputError(f"{name}: {number(hours)} is negative")
    days = (end - start).days + 1
    if hours > 24 * days:
        raise InputError(f"{name}: {number(hours)} hours is more than 24 a day over {days} day(s)")


def parse_claim(data: Any, index: int = 0) -> Claim:
    """Validate one claim of the evaluate input."""
    if not isinstance(data, dict):
        raise InputError(f"claims[{index}]: expected an object")
    cid = str(data.get("id") or f"#{index + 1}")
    where = f"claim {cid}"
    kind = data.get("kind")
    if kind not in KINDS:
        raise InputError(f"{where}: unknown kind {kind!r}; known kinds: {', '.join(KINDS)}")
    if "date" not in data and "start_date" not in data:
        raise InputError(f"{where}: date: missing")
    date = parse_date(data.get("date", data.get("start_date")), f"{where}: date")
    end = _optional_date(data.get("end_date"), f"{where}: end_date")
    if end is not None and end < date:
        raise InputError(f"{where}: end_date {end} is before the date {date}")
    hours = _number(data.get("hours"), f"{where}: hours")
    check_hours(hours, date, end or date, f"{where}: hours")
    provider = data.get("provider")
    if provider is not None and provider not in PROVIDERS:
        raise InputError(f"{where}: provider {provider!r} must be institute, external or null")
    co_authors = data.get("co_authors")
    if co_authors is not None and (
        isinstance(co_authors, bool) or not isinstance(co_authors, int) or co_authors < 1
    ):
        raise InputError(f"{where}: co_authors {co_authors!r} must be a whole number of 1 or more")
    points = _number(data.get("points"), f"{where}: points")
    if points is not None and points < 0:
        raise InputError(f"{where}: points {number(points)} is negative")
    status = data.get("status", "accepted")
    if status not in STATUSES:
        raise InputError(f"{where}: status {status!r} must be one of {', '.join(STATUSES)}")
    has_test = data.get("has_test", False)
    if not isinstance(has_test, bool):
        raise InputError(f"{where}: has_test must be true or false")
    return Claim(
        id=cid,
        kind=kind,
        date=date,
        hours=hours,
        end_date=end,
        provider=provider,
        has_test=has_test,
        co_authors=co_authors,
        title=_text(data.get("title"), f"{where}: title") or "",
        category=_text(data.get("category"), f"{where}: category"),
        points=points,
        reflections=_parse_reflections(data.get("reflections"), f"{where}: reflections"),
        status=status,
    )
