"""OCR in the claims workflow, on SQLite and PostgreSQL: a claim is filed first, its photo read
after; what the member's words lacked is filled from the certificate and the proposal
re-evaluated once; the text is kept with the file (migration 0013) and shown in the API's
shape; a decompression bomb is refused with a note and the claim stays as filed.

The real NLP pipeline and real Tesseract; one small certificate read per backend.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import zoneinfo
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from cpd.claims.intake import Attachment, Intake, Sender
from cpd.claims.members import create_invite, import_members, parse_members_csv
from cpd.claims.ocr import OcrLimits
from cpd.claims.service import ClaimsService
from cpd.claims.web_access import WebUser
from cpd.claims.web_claims import claim_detail
from cpd.nlp import load_extractor
from cpd.storage import OutboxMessage, models, reading
from tests.claims.conftest import MEMBERS, NOW, SECRETARY_CHAT
from tests.claims.test_ocr_reader import _png_header_only
from tests.support import certificates as certs

MEMBER = Sender(telegram_user_id=101)
SECRETARY = WebUser(member_id=2, membership_no="S1", name="Sam Secretary", role="secretary")


def _service(engine: Engine, tmp_path: Path) -> ClaimsService:
    """The claims service with the shipped NLP pipeline, M1 linked as Telegram user 101."""
    import_members(engine, parse_members_csv(MEMBERS, "iims"))
    svc = ClaimsService(
        engine,
        load_extractor(),
        tmp_path / "evidence",
        zoneinfo.ZoneInfo("Europe/London"),
        SECRETARY_CHAT,
        clock=lambda: NOW,
    )
    token, _ = create_invite(engine, "M1", dt.timedelta(days=1))
    svc.link_telegram(token, 101)
    return svc


@pytest.fixture
def ocr_service(engine: Engine, tmp_path: Path) -> ClaimsService:
    """On SQLite and PostgreSQL."""
    return _service(engine, tmp_path)


@pytest.fixture
def sqlite_ocr_service(sqlite_engine: Engine, tmp_path: Path) -> ClaimsService:
    """On SQLite only (what is tested does not depend on the backend)."""
    return _service(sqlite_engine, tmp_path)


def _photo_claim(svc: ClaimsService, key: str, caption: str, data: bytes) -> int:
    intake = Intake(
        channel="telegram",
        source_key=key,
        sender=MEMBER,
        text=caption,
        received_at=NOW,
        attachments=(Attachment(data, "image/jpeg", "certificate.jpg"),),
    )
    return svc.start_claim(intake).claim.id


def _certificate() -> tuple[certs.Certificate, bytes]:
    cert = certs.draw(random.Random(42), layout="classic", font_name="DejaVuSerif.ttf")
    photo = certs.rotate(cert.image, 90)  # sent sideways
    return cert, certs.jpeg(photo, quality=50)


def test_a_one_word_photo_claim_is_filled_from_the_certificate(
    ocr_service: ClaimsService,
) -> None:
    svc = ocr_service
    cert, photo = _certificate()
    claim_id = _photo_claim(svc, "tg:1", "cert", photo)
    before = svc.claim(claim_id)
    assert before is not None and before.hours is None and before.start_date == NOW.date()
    svc.submit(claim_id, MEMBER)  # pending, its card queued for the secretaries

    assert svc.read_evidence(OcrLimits()) == 1
    after = svc.claim(claim_id)
    assert after is not None and after.status == "pending"
    assert (after.kind, after.hours, after.start_date) == (cert.kind, cert.hours, cert.date)
    assert after.provider == cert.provider and after.title == cert.title
    assert after.proposed_points is not None

    body = claim_detail(svc, SECRETARY, claim_id)
    (evidence,) = body["evidence"]
    assert evidence["ocr_status"] == "read" and cert.title in " ".join(evidence["ocr_text"].split())
    assert set(body["from_evidence"]) >= {"kind", "hours", "start_date", "provider"}
    assert [h["action"] for h in body["history"]].count("claim.read_from_evidence") == 1
    with reading(svc.engine) as session:
        query = select(OutboxMessage).where(OutboxMessage.template == "secretary_card")
        (card,) = session.exec(query).all()
        assert "Filled in from the evidence" in card.payload["text"]

    assert svc.read_evidence(OcrLimits()) == 0  # each file is read once


def test_the_members_own_words_are_not_overwritten(sqlite_ocr_service: ClaimsService) -> None:
    svc = sqlite_ocr_service
    _, photo = _certificate()
    claim_id = _photo_claim(svc, "tg:2", "IIMS boat show yesterday, 3 hours", photo)
    assert svc.read_evidence(OcrLimits()) == 1
    claim = svc.claim(claim_id)
    assert claim is not None
    assert (claim.kind, claim.hours, claim.provider) == ("exhibition", 3.0, "institute")
    assert claim.start_date == NOW.date() - dt.timedelta(days=1)
    (evidence,) = svc.evidence(claim_id)
    assert evidence.ocr_status == "read" and evidence.ocr_text


def test_a_bomb_is_refused_and_the_claim_stays_filed(
    ocr_service: ClaimsService, caplog: pytest.LogCaptureFixture
) -> None:
    svc = ocr_service
    claim_id = _photo_claim(svc, "tg:3", "cert", _png_header_only(40_000, 40_000))
    with caplog.at_level(logging.WARNING, logger="cpd.claims.evidence_text"):
        assert svc.read_evidence(OcrLimits()) == 1
    claim = svc.claim(claim_id)
    assert claim is not None and claim.status == "draft" and claim.hours is None
    (evidence,) = svc.evidence(claim_id)
    assert evidence.ocr_status == "refused" and evidence.ocr_text is None
    assert evidence.ocr_note and "too large" in evidence.ocr_note
    assert any("not read by OCR" in r.getMessage() for r in caplog.records)
    with reading(svc.engine) as session:
        assert session.get(models.EvidenceFile, evidence.id) is not None
