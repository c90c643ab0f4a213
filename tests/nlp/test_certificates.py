"""Certificate wording as cues of its own, and the extractor filling what a message lacks from
the evidence text (the texts here are written for these tests, in the shapes OCR returns)."""

from __future__ import annotations

import datetime as dt

import pytest

from cpd.nlp.certificates import clean_lines, read_certificate
from cpd.nlp.extract import Extractor

TODAY = dt.date(2026, 11, 30)

CLASSIC = """CERTIFICATE OF ATTENDANCE
This is to certify that
Jane Smith
attended the workshop
Corrosion Control in Marine Engines
Date of attendance: 12 March 2026
CPD hours: 6
Issued by Marine Training Ltd"""

TABLE = """_ Northgate College
Certificate of Completion
Participant: Omar Haddad
Course: Annual Hull Survey Conference
Date of issue: 30/06/2026
Date: 15/04/2026
Duration:.7.5. hours
_ Signed on behalf of the organisers"""

POINTS = """International Institute of Marine Surveying
CPD CERTIFICATE
We confirm that Priya took part in the webinar
"Stability Calculations for Small Craft"
held on January 27, 2026.
Points awarded: 3"""


def test_labelled_lines_give_the_facts() -> None:
    cues = read_certificate(CLASSIC, TODAY)
    assert cues.is_certificate
    assert (cues.kind, cues.hours, cues.start_date) == ("training", 6.0, dt.date(2026, 3, 12))
    assert cues.title == "Corrosion Control in Marine Engines"
    assert (cues.issuer, cues.provider) == ("Marine Training Ltd", "external")
    assert set(cues.cues) >= {"certifying", "hours", "date", "issuer", "title"}


def test_ocr_debris_and_an_issue_date_do_not_mislead() -> None:
    cues = read_certificate(TABLE, TODAY)
    assert cues.hours == 7.5
    assert cues.start_date == dt.date(2026, 4, 15)  # the attendance date, not the issue date
    assert (cues.kind, cues.title) == ("conference", "Annual Hull Survey Conference")
    assert (cues.issuer, cues.provider) == ("Northgate College", "external")


def test_points_are_not_hours_and_the_institute_is_the_provider() -> None:
    cues = read_certificate(POINTS, TODAY)
    assert (cues.points, cues.hours) == (3.0, None)
    assert cues.provider == "institute"
    assert cues.title == "Stability Calculations for Small Craft"
    assert (cues.kind, cues.start_date) == ("training", dt.date(2026, 1, 27))


@pytest.mark.parametrize("text", ["", "   \n_ ~ \n", "holiday photos from the beach"])
def test_text_that_is_no_certificate(text: str) -> None:
    cues = read_certificate(text, TODAY)
    assert not cues.is_certificate and cues.hours is None and cues.start_date is None


def test_an_accent_ocr_adds_does_not_hide_the_date() -> None:
    cues = read_certificate("Certificate of Achievement\n1.5 hours of CPD 9 Séptember 2026", TODAY)
    assert (cues.hours, cues.start_date) == (1.5, dt.date(2026, 9, 9))


def test_clean_lines_mends_what_ocr_breaks() -> None:
    assert clean_lines("Duration:.7.5. hours\n | \nCPD hours: 6.") == [
        "Duration: 7.5 hours",
        "CPD hours: 6",
    ]


def test_the_evidence_fills_only_what_the_message_lacks(extractor: Extractor) -> None:
    bare = extractor.extract("cert", TODAY, evidence_text=CLASSIC)
    assert (bare.kind, bare.hours, bare.start_date) == ("training", 6.0, dt.date(2026, 3, 12))
    assert bare.provider == "external" and bare.title == "Corrosion Control in Marine Engines"
    assert set(bare.from_evidence) == {"kind", "hours", "start_date", "provider", "title"}
    assert "certificate" in bare.flags and "low_confidence" not in bare.flags
    assert bare.to_json()["from_evidence"]

    said = extractor.extract("IIMS boat show yesterday, 3 hours", TODAY, evidence_text=CLASSIC)
    assert (said.kind, said.hours, said.start_date) == ("exhibition", 3.0, dt.date(2026, 11, 29))
    assert said.provider == "institute" and said.from_evidence == ()


def test_without_evidence_the_output_is_unchanged(extractor: Extractor) -> None:
    plain = extractor.extract("webinar yesterday 2 hours", TODAY)
    assert plain == extractor.extract("webinar yesterday 2 hours", TODAY, evidence_text="  ")
    assert "from_evidence" not in plain.to_json()
