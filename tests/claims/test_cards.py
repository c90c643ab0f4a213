"""The secretary's card and its evidence as outbox work, on SQLite and PostgreSQL: one row per
evidence file once the card is posted, files added later by the member, cards not yet posted."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from cpd.claims.intake import Attachment, ClaimError, Intake, NotAllowed, Sender
from cpd.claims.service import ClaimsService
from cpd.storage import OutboxMessage

JANE, TOM, SAM = (
    Sender(telegram_user_id=101),
    Sender(telegram_user_id=301),
    Sender(telegram_user_id=201),
)


def _evidence_rows(service: ClaimsService) -> list[tuple[str, dict]]:
    with service.engine.connect() as connection:
        rows = connection.execute(
            select(OutboxMessage.dedup_key, OutboxMessage.payload)
            .where(OutboxMessage.template == "card_evidence")
            .order_by(OutboxMessage.id)
        ).all()
    return [(key, payload) for key, payload in rows]


def _claim(service: ClaimsService, key: str, *files: Attachment) -> int:
    intake = Intake(
        "telegram", key, JANE, "boat show today 2 hours", dt.datetime.now(dt.UTC), files
    )
    return service.start_claim(intake).claim.id


def test_evidence_is_queued_once_per_file_when_the_card_is_posted(
    service: ClaimsService,
) -> None:
    claim_id = _claim(
        service,
        "t:1",
        Attachment(b"one", "image/jpeg", "a.jpg"),
        Attachment(b"two", "application/pdf", "b.pdf"),
    )
    service.submit(claim_id, JANE)
    assert service.claims_without_card([claim_id]) == {claim_id}
    assert _evidence_rows(service) == []
    service.card_posted(claim_id, -1001, 55)
    service.card_posted(claim_id, -1001, 55)  # a repeat adds nothing
    rows = _evidence_rows(service)
    assert [payload["claim_id"] for _, payload in rows] == [claim_id, claim_id]
    assert len({key for key, _ in rows}) == 2
    assert service.claims_without_card([claim_id]) == set()
    ids = [payload["evidence_id"] for _, payload in rows]
    assert [service.evidence_file(i).original_name for i in ids] == ["a.jpg", "b.pdf"]


def test_a_member_adds_a_file_to_a_pending_claim_and_it_follows_the_card(
    service: ClaimsService,
) -> None:
    claim_id = _claim(service, "t:2")
    view, kept = service.attach_to_claim(
        claim_id, JANE, Attachment(b"draft", "image/jpeg", "d.jpg")
    )
    assert kept and view.evidence_count == 1 and _evidence_rows(service) == []
    service.submit(claim_id, JANE)
    service.card_posted(claim_id, -1001, 56)
    assert len(_evidence_rows(service)) == 1
    service.attach_to_claim(claim_id, JANE, Attachment(b"late", "image/jpeg", "late.jpg"))
    assert len(_evidence_rows(service)) == 2
    with pytest.raises(NotAllowed):
        service.attach_to_claim(claim_id, TOM, Attachment(b"tom", "image/jpeg", "t.jpg"))
    service.decide(claim_id, SAM, "accept")
    with pytest.raises(ClaimError, match="already accepted"):
        service.attach_to_claim(claim_id, JANE, Attachment(b"after", "image/jpeg", "x.jpg"))
