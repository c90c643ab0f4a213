"""The body's events, imported by the secretary (``cpd events import FILE.csv``): columns
``title,date,points`` and optionally ``kind`` (default ``training``) and ``scheme`` (default
the installation's scheme). The whole file is checked first (every bad row named, nothing
imported); importing it again adds nothing (unique per scheme, day and title)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cpd.rules import KINDS, InputError, SchemeError, load_scheme
from cpd.storage import Engine, transaction
from cpd.storage import events as store
from cpd.storage.models import BodyEvent

REQUIRED = ("title", "date", "points")


class EventRow(BaseModel):
    """One event as the file gives it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=300)
    date: dt.date
    points: float = Field(ge=0, le=100)
    kind: str = "training"
    scheme: str

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        return kind

    @field_validator("scheme")
    @classmethod
    def _known_scheme(cls, scheme: str) -> str:
        try:
            load_scheme(scheme)
        except SchemeError as exc:
            raise ValueError(str(exc)) from None
        return scheme


@dataclass(frozen=True, slots=True)
class EventsReport:
    """How many events an import added and how many it had already."""

    added: int
    existing: int


def parse_events_csv(text: str, default_scheme: str, source: str = "CSV") -> list[EventRow]:
    """Every row validated; InputError (one line) naming each bad row and column."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(
            f"{source}: missing column(s) {', '.join(missing)}; expected title,date,points"
        )
    rows: list[EventRow] = []
    errors: list[str] = []
    for line, raw in enumerate(reader, start=2):
        values = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}
        values = {k: v for k, v in values.items() if v or k in REQUIRED}
        values.setdefault("scheme", default_scheme)
        try:
            rows.append(EventRow.model_validate(values))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            errors.append(f"line {line}, {where}: {first['msg'].removeprefix('Value error, ')}")
    if errors:
        shown = "; ".join(errors[:10]) + (
            f"; and {len(errors) - 10} more" if len(errors) > 10 else ""
        )
        raise InputError(f"{source}: nothing imported: {shown}")
    return rows


def import_events(engine: Engine, rows: list[EventRow]) -> EventsReport:
    """Add the events in one transaction (idempotent)."""
    added = 0
    with transaction(engine) as session:
        for row in rows:
            event = BodyEvent(
                scheme=row.scheme, day=row.date, title=row.title, kind=row.kind, points=row.points
            )
            added += store.add(session, event)
    return EventsReport(added, len(rows) - added)
