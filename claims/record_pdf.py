"""The member's record as a PDF (fpdf2 with matplotlib's DejaVu fonts and the progress chart).

Its own module so that fpdf2 and matplotlib load only when a PDF is made.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
from fpdf import FPDF

from cpd.claims.chart import evaluation_png
from cpd.claims.records import RecordRow, Records, rule_text
from cpd.claims.texts import KIND_LABELS, amount, balance_sentence, fmt, long_date

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"


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


def render(records: Records) -> bytes:
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
        f"Rule: {rule_text(c, r)}",
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
