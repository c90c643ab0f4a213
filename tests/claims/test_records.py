"""Exports: the CSV has every claim with its points and decision; the PDF reads as a record
(checked through pdftotext, and rendered to PNG with pdftoppm)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cpd.claims.intake import Attachment, Intake, Sender
from cpd.claims.records import CSV_COLUMNS, member_records, to_csv, to_pdf
from cpd.claims.service import ClaimsService
from tests.claims.conftest import NOW

JANE, SAM = Sender(101), Sender(201)


def _history(service: ClaimsService) -> None:
    photo = Attachment(b"\xff\xd8 jpeg", "image/jpeg", "../../boat-show.jpg")
    first = service.start_claim(
        Intake("telegram", "a", JANE, "boat show today 3 hours", NOW, (photo,))
    ).claim
    service.submit(first.id, JANE)
    service.decide(first.id, SAM, "accept")
    second = service.start_claim(
        Intake("telegram", "b", JANE, "IIMS training day 7 hours", NOW)
    ).claim
    service.submit(second.id, JANE)
    service.decide(second.id, SAM, "decline", reason="Not an IIMS event — café talk")
    service.start_claim(Intake("telegram", "c", JANE, "read a survey journal 1 hour", NOW))


def test_csv_lists_every_claim_with_points_and_decisions(
    service: ClaimsService, engine: Engine
) -> None:
    _history(service)
    records = member_records(engine, "M1", "current", NOW.date())
    rows = list(csv.DictReader(io.StringIO(to_csv(records))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["status"] for r in rows] == ["accepted", "declined", "draft"]
    accepted, declined, _ = rows
    assert (accepted["counted_points"], accepted["counted"], accepted["category"]) == (
        "1",
        "True",
        "boat-show",
    )
    assert accepted["decided_by"] == "Sam Secretary"
    assert "boat-show.jpg" in accepted["evidence"] and "../" not in accepted["evidence"]
    assert declined["decision_reason"] == "Not an IIMS event — café talk"
    assert declined["counted"] == "False"


def test_all_periods_and_bad_period(service: ClaimsService, engine: Engine) -> None:
    _history(service)
    assert len(member_records(engine, "M1", "all", NOW.date()).rows) == 3
    with pytest.raises(ValueError):
        member_records(engine, "M1", "last year", NOW.date())


@pytest.mark.skipif(
    shutil.which("pdftotext") is None and os.environ.get("CI") != "true",
    reason="poppler-utils not installed (.ci/run installs it)",
)
def test_pdf_reads_as_a_record(service: ClaimsService, engine: Engine, tmp_path: Path) -> None:
    _history(service)
    pdf = tmp_path / "record.pdf"
    pdf.write_bytes(to_pdf(member_records(engine, "M1", "current", NOW.date())))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for words in (
        "International Institute of Marine Surveying",
        "Jane Surveyor (M1)",
        "1 point of 10; you need 9 more by 31 December 2026",
        "boat show today",
        "Not an IIMS event — café talk",
        "Evidence files",
        "boat-show.jpg",
    ):
        assert words in text, words
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    (png,) = tmp_path.glob("page*.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
