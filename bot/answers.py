"""Reading the answers members type when the bot asks: hours and dates."""

from __future__ import annotations

import datetime as dt
import math
import re

from cpd.claims.intake import ClaimError

MAX_HOURS_TYPED = 10_000  # beyond any activity: refused before the claim's own check


_HOURS = re.compile(
    r"^\s*(\d+(?:[.,]\d+)?)\s*(?:h|hr|hrs|hours?)?\s*(?:(\d{1,2})\s*(?:m|min|mins)?)?\s*$",
    re.IGNORECASE,
)


def parse_hours(text: str) -> float:
    """``2.5``, ``2,5``, ``3h``, ``1h30``, ``1 h 30 min``; ValueError otherwise."""
    cleaned = text.strip().lower()
    if cleaned.startswith("-"):
        raise ClaimError("Hours can't be negative. How many hours did it take?")
    match = _HOURS.match(cleaned)
    if not match:
        raise ClaimError("Please send the hours as a number, e.g. 2.5 or 1h30.")
    hours = float(match.group(1).replace(",", "."))
    if match.group(2):
        hours += int(match.group(2)) / 60
    if not math.isfinite(hours) or hours > MAX_HOURS_TYPED:
        raise ClaimError(
            "That is far more hours than one activity takes. How many hours did it take?"
        )
    return round(hours, 2)


def parse_date(text: str, today: dt.date) -> dt.date:
    """``2026-03-12``, ``12/03``, ``12/03/2026``, ``today``, ``yesterday`` (UK day first)."""
    cleaned = text.strip().lower()
    if cleaned == "today":
        return today
    if cleaned == "yesterday":
        return today - dt.timedelta(days=1)
    try:
        return dt.date.fromisoformat(cleaned)
    except ValueError:
        pass
    match = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?", cleaned)
    if match:
        day, month = int(match.group(1)), int(match.group(2))
        year = int(match.group(3)) if match.group(3) else today.year
        year += 2000 if year < 100 else 0
        try:
            found = dt.date(year, month, day)
        except ValueError:
            raise ClaimError("That is not a date I can read; try 12/03 or 2026-03-12.") from None
        if match.group(3) is None and found > today:
            found = found.replace(year=found.year - 1)
        return found
    raise ClaimError("That is not a date I can read; try 12/03 or 2026-03-12.")
