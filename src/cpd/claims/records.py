"""A member's records for an auditor or a regulator: CSV and a PDF with the body's name and a
progress chart. Activities, categories, points, reflections, decisions and the evidence list.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from fpdf import FPDF
from sqlalchemy import Engine, select
from sqlmodel import Session

from cpd import rules
from cpd.claims.chart import evaluation_png
from cpd.claims.standing import Standing, all_standings, standing
from cpd.claims.texts import KIND_LABELS, amount, balance_sentence, fmt, long_date
from cpd.storage import models

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
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
    with Session(engine) as session:
        names = {m.id: m.name for m in session.exec(select(models.Member)).scalars()}  # type: ignore[call-overload]
        evidence: dict[int, list[models.EvidenceFile]] = {}
        ids = [c.id for c in result.claims]
        if ids:
            for file in session.exec(  # type: ignore[call-overload]
                select(models.EvidenceFile).where(models.EvidenceFile.claim_id.in_(ids))  # type: ignore[attr-defined]
            ).scalars():
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


class _Pdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        self.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(auto=True, margin=15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        self.cell(0, 5, f"{self.footer_text} - page {self.page_no()}", align="C")


def to_pdf(records: Records) -> bytes:
    """The records as a PDF a person can read: header, balance, chart, activities, evidence."""
    member, scheme, ev = (
        records.standing.member,
        records.standing.scheme,
        records.standing.evaluation,
    )
    pdf = _Pdf(f"{scheme.short_name} CPD record of {member.name}, as of {records.as_of}")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(0, 8, scheme.name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(
        0, 7, f"CPD record: {member.name} ({member.membership_no})", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("DejaVu", "", 10)
    scope = "current period" if records.period == "current" else "all activities"
    pdf.multi_cell(
        0,
        5,
        f"Grade {member.grade or '-'}; joined {long_date(member.joined)}; "
        f"period {long_date(ev.period_start)} to {long_date(ev.period_end)}; "
        f"{scope}; as of {long_date(records.as_of)}.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    pdf.multi_cell(0, 5, balance_sentence(scheme, ev), new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(
        0,
        5,
        f"Target {amount(ev.target, scheme.unit)}; carried in "
        f"{fmt(ev.carried_in)}; earned {fmt(ev.earned)}; total {fmt(ev.total)}.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    chart = evaluation_png(scheme.short_name, scheme.unit, ev, records.as_of)
    pdf.image(io.BytesIO(chart), w=170)
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(0, 7, "Activities", new_x="LMARGIN", new_y="NEXT")
    if not records.rows:
        pdf.set_font("DejaVu", "", 10)
        pdf.cell(0, 6, "No activities recorded.", new_x="LMARGIN", new_y="NEXT")
    for row in records.rows:
        _activity(pdf, row, scheme.unit)
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(0, 7, "Evidence files", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    files = [(row.claim.id, e) for row in records.rows for e in row.evidence]
    if not files:
        pdf.cell(0, 5, "None.", new_x="LMARGIN", new_y="NEXT")
    for claim_id, e in files:
        pdf.multi_cell(
            0,
            5,
            f"Claim #{claim_id}: {e.original_name} ({e.content_type}, "
            f"{e.size:,} bytes, sha256 {e.sha256})",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    return bytes(pdf.output())


def _rule(claim: models.Claim, result: rules.ClaimResult) -> str:
    """The scheme rule behind the points (as proposed), and the decision's value if it differs."""
    proposed = (claim.extracted or {}).get("rule_note")
    if claim.status == "accepted" and proposed:
        if claim.awarded_points is not None and claim.awarded_points != claim.proposed_points:
            return f"{proposed}; {result.note}"
        return proposed if result.counted else f"{proposed}; {result.note}"
    return result.note


def _activity(pdf: FPDF, row: RecordRow, unit: str) -> None:
    c, r = row.claim, row.result
    when = f"{c.start_date}" + (
        f" to {c.end_date}" if c.end_date and c.end_date != c.start_date else ""
    )
    pdf.set_font("DejaVu", "B", 10)
    pdf.multi_cell(0, 5, f"#{c.id}  {when}  {c.title}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    hours = f"{fmt(c.hours)} h" if c.hours is not None else "hours not given"
    lines = [
        f"{KIND_LABELS.get(c.kind, c.kind)}; {hours}; category {r.category or '-'}; "
        f"status {c.status}; counts {amount(r.points, unit)}"
        + ("" if r.counted else " (not counted)"),
        f"Rule: {_rule(c, r)}",
    ]
    for key, label in (
        ("new_knowledge", "New knowledge and skills"),
        ("behaviour", "Behaviour and approach"),
        ("impact", "Impact and results"),
    ):
        text = (c.reflections or {}).get(key)
        if text:
            lines.append(f"{label}: {text}")
    if c.decided_at:
        lines.append(
            f"Decision: {c.status} by {row.decided_by or 'the secretary'} on "
            f"{c.decided_at:%d %b %Y}" + (f" - {c.decision_reason}" if c.decision_reason else "")
        )
    for line in lines:
        pdf.multi_cell(0, 4.5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)


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
                (ev.diploma or {}).get("ready", ""),
            ]
        )
    return buffer.getvalue()
