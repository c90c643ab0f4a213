"""Dispensations, the IIM declaration, the IBMS diploma and records on request."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from cpd.claims.intake import Attachment, ClaimError, Intake, NotAllowed, Sender
from cpd.claims.members import create_invite, import_members, parse_members_csv
from cpd.claims.service import ClaimsService
from cpd.claims.workflows import Workflows
from cpd.storage import Dispensation, OutboxMessage
from tests.claims.conftest import NOW
from tests.support.outbox import address_of
from tests.support.seeds import add_reflected_activities

JANE, SAM, TOM = Sender(101), Sender(201), Sender(301)
MORE = """membership_no,name,email,scheme,grade,joined,role
I1,Ivy Records,ivy@example.com,iim,professional,2019-05-01,member
I2,Ian Student,ian@example.com,iim,student,2024-05-01,member
B1,Bea Scientist,bea@example.com,ibms,,2019-05-01,member
"""


@pytest.fixture
def flows(service: ClaimsService, engine: Engine) -> Workflows:
    import_members(engine, parse_members_csv(MORE, "iims"))
    for number, user in (("I1", 401), ("B1", 501)):
        service.link_telegram(create_invite(engine, number, dt.timedelta(days=1))[0], user)
    return Workflows(service)


def texts_to(engine: Engine, recipient: str) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
        return [r.payload["text"] for r in rows if address_of(engine, r) == recipient]


def test_dispensation_request_and_grant_remove_the_target(
    flows: Workflows, service: ClaimsService, engine: Engine
) -> None:
    with pytest.raises(ClaimError, match="reason"):
        flows.request_dispensation(JANE, "")
    request = flows.request_dispensation(JANE, "Retired in June, surveying part time")
    assert (request.period_key, request.status) == (2026, "requested")
    with pytest.raises(ClaimError, match="already requested"):
        flows.request_dispensation(JANE, "again please")
    with pytest.raises(NotAllowed):
        flows.decide_dispensation(request.id, JANE, True)
    assert (
        flows.decide_dispensation(request.id, SAM, True) == f"Dispensation #{request.id} granted."
    )
    assert "already granted" in flows.decide_dispensation(request.id, SAM, False)
    _, _, evaluation = service.progress(JANE)
    assert evaluation.target == 0 and evaluation.dispensation
    assert service.queue_nudges(NOW.date()) >= 0
    assert not any("CPD progress" in t for t in texts_to(engine, "101"))
    assert any("was granted" in t for t in texts_to(engine, "101"))
    with pytest.raises(ClaimError, match="no dispensations"):
        flows.request_dispensation(Sender(501), "IBMS has none")


def test_iim_declaration_once_a_year_and_who_is_missing(flows: Workflows) -> None:
    assert flows.missing_declarations(2026) == ["I1"]  # the student is exempt
    assert "recorded" in flows.declare(Sender(401))
    assert "already made" in flows.declare(Sender(401))
    assert flows.missing_declarations(2026) == []
    with pytest.raises(ClaimError, match="no annual declaration"):
        flows.declare(JANE)


def test_ibms_diploma_ready_submitted_validated(flows: Workflows, engine: Engine) -> None:
    bea = Sender(501)
    with pytest.raises(ClaimError, match="Not ready yet"):
        flows.submit_diploma(bea)
    add_reflected_activities(engine, "B1", dt.date(2026, 1, 1))
    assert flows.notify_if_diploma_ready("B1") and flows.notify_if_diploma_ready("B1")
    assert sum("diploma is ready" in t for t in texts_to(engine, "501")) == 1
    assert "sent for validation" in flows.submit_diploma(bea)
    with pytest.raises(NotAllowed):
        flows.validate_diploma("B1", bea)
    assert "Diploma issued" in flows.validate_diploma("B1", SAM)
    status = flows.diploma_status(bea)
    assert status["start"] == NOW.date().isoformat() and status["counted"] == 0
    assert any("validated and issued" in t for t in texts_to(engine, "501"))


def test_records_and_evidence_on_request(flows: Workflows, service: ClaimsService) -> None:
    photo = Attachment(b"\xff\xd8 photo", "image/jpeg", "../../../etc/passwd")
    service.start_claim(Intake("telegram", "x", JANE, "boat show today 2 hours", NOW, (photo,)))
    assert flows.export(JANE, "pdf").startswith(b"%PDF")
    assert flows.export(JANE, "csv").startswith(b"claim_id,")
    archive = zipfile.ZipFile(io.BytesIO(flows.evidence_zip(JANE)))
    names = archive.namelist()
    assert "README.txt" in names and "claim-1/001-passwd" in names
    assert all(".." not in name for name in names)
    with pytest.raises(ClaimError):
        flows.export(Sender(999))
    with Session(flows.engine) as session:
        assert session.exec(select(Dispensation)).all() == []
