"""A member's records for an auditor or a regulator: CSV and a PDF with the body's name and a
progress chart. Activities, categories, points, reflections, decisions and the evidence list.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from cpd import rules
from cpd.claims.standing import Standing, all_standings, standing
from cpd.claims.texts import fmt
from cpd.storage import Engine, claim_reading, claims_repo, models, reading
from cpd.storage import members as members_repo

CSV_COLUMNS = (
    "claim_id",
    "start_date",
    "end_date",
    "kind",
    "title",
    "category",
    "hours",
    "provider",
    "has_test",
    "status",
    "proposed_points",
    "awarded_points",
    "counted_points",
    "counted",
    "note",
    "new_knowledge",
    "behaviour",
    "impact",
    "decided_by",
    "decided_at",
    "decision_reason",
    "channel",
    "evidence",
)


@dataclass(frozen=True)
class RecordRow:
    """One claim with what it earned and its evidence."""

    claim: models.Claim
    result: rules.ClaimResult
    decided_by: str | None
    evidence: list[models.EvidenceFile]


@dataclass(frozen=True)
class Records:
    """Everything an export shows."""

    standing: Standing
    rows: list[RecordRow]
    period: str
    as_of: dt.date


def member_records(
    engine: Engine, membership_no: str, period: str = "current", as_of: dt.date | None = None
) -> Records:
    """The member's records: ``current`` = claims dated in the current period, ``all`` = all."""
    if period not in ("current", "all"):
        raise ValueError(f"period must be current or all, not {period!r}")
    day = as_of or dt.date.today()
    result = standing(engine, membership_no, day)
    ev = result.evaluation
    by_id = {r.id: r for r in ev.claims}
    with reading(engine) as session:
        names = members_repo.names(session)
        evidence: dict[int, list[models.EvidenceFile]] = {}
        ids = [c.id for c in result.claims]
        if ids:
            for file in claims_repo.evidence_of(session, [i for i in ids if i is not None]):
                evidence.setdefault(file.claim_id, []).append(file)
    rows = []
    for claim in result.claims:
        inside = ev.period_start <= claim.start_date <= ev.period_end
        if period == "current" and not inside:
            continue
        rows.append(
            RecordRow(
                claim,
                by_id[str(claim.id)],
                names.get(claim.decided_by or -1),
                evidence.get(claim.id or -1, []),
            )
        )
    return Records(result, rows, period, day)


def to_csv(records: Records) -> str:
    """The records as CSV (one line per claim, UTF-8, header first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in records.rows:
        c, r = row.claim, row.result
        refl = c.reflections or {}
        writer.writerow(
            [
                c.id,
                c.start_date,
                c.end_date or c.start_date,
                c.kind,
                c.title,
                r.category or "",
                fmt(c.hours) if c.hours is not None else "",
                c.provider or "",
                c.has_test,
                c.status,
                fmt(c.proposed_points) if c.proposed_points is not None else "",
                fmt(c.awarded_points) if c.awarded_points is not None else "",
                fmt(r.points),
                r.counted,
                r.note,
                refl.get("new_knowledge") or "",
                refl.get("behaviour") or "",
                refl.get("impact") or "",
                row.decided_by or "",
                c.decided_at.isoformat() if c.decided_at else "",
                c.decision_reason or "",
                c.channel,
                "; ".join(f"{e.original_name} ({e.sha256[:12]})" for e in row.evidence),
            ]
        )
    return buffer.getvalue()


def to_pdf(records: Records) -> bytes:
    """The records as a PDF a person can read: header, balance, chart, activities, evidence
    (drawn by :mod:`cpd.claims.record_pdf`, imported only when a PDF is asked for)."""
    from cpd.claims.record_pdf import render

    return render(records)


def rule_text(claim: models.Claim, result: rules.ClaimResult) -> str:
    """The scheme rule behind the points (as proposed), and the decision's value if it differs."""
    proposed = claim_reading.notes(claim).rule_note
    if claim.status == "accepted" and proposed:
        if claim.awarded_points is not None and claim.awarded_points != claim.proposed_points:
            return f"{proposed}; {result.note}"
        return proposed if result.counted else f"{proposed}; {result.note}"
    return result.note


STANDING_COLUMNS = (
    "membership_no",
    "scheme",
    "period_start",
    "period_end",
    "target",
    "carried_in",
    "earned",
    "total",
    "remaining",
    "met",
    "compulsory",
    "dispensation",
    "diploma_ready",
)


def standings_csv(engine: Engine, as_of: dt.date, scheme: str | None = None) -> str:
    """Every member's standing on ``as_of`` as CSV (optionally one scheme only)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(STANDING_COLUMNS)
    for s in all_standings(engine, as_of):
        if scheme is not None and s.scheme != scheme:
            continue
        ev = s.evaluation
        writer.writerow(
            [
                s.membership_no,
                s.scheme,
                ev.period_start,
                ev.period_end,
                fmt(ev.target),
                fmt(ev.carried_in),
                fmt(ev.earned),
                fmt(ev.total),
                fmt(ev.remaining),
                ev.met,
                ev.compulsory,
                ev.dispensation,
                ev.diploma.ready if ev.diploma is not None else "",
            ]
        )
    return buffer.getvalue()
