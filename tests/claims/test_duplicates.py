"""Duplicates (issue 15): the same file, the same photo re-encoded or cropped, the same
activity; a different activity on the same day and a different photo are not flagged."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFilter
from sqlalchemy import Engine
from sqlmodel import Session, select

from cpd.bot import keyboards
from cpd.claims import web_claims
from cpd.claims.image_hash import SAME_PHOTO_BITS, distance, photo_hash
from cpd.claims.intake import Attachment, Intake, Sender
from cpd.claims.service import ClaimsService
from cpd.claims.texts import draft_card, secretary_card
from cpd.claims.web_access import WebUser
from cpd.storage import AuditEntry, Claim, OutboxMessage
from tests.claims.conftest import NOW
from tests.support.mail_intake import mail_intake

JANE = Sender(101)


def photo(seed: int, size: tuple[int, int] = (1600, 1200)) -> Image.Image:
    """A photo-like picture: soft overlapping shapes in random colours."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        w, h = rng.randrange(50, 600), rng.randrange(50, 600)
        draw.ellipse([x, y, x + w, y + h], fill=tuple(rng.randrange(256) for _ in range(3)))
    return image.filter(ImageFilter.GaussianBlur(3))


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def trimmed(
    image: Image.Image, left: float, top: float, right: float, bottom: float
) -> Image.Image:
    w, h = image.size
    return image.crop((int(w * left), int(h * top), int(w * (1 - right)), int(h * (1 - bottom))))


def hash_of(data: bytes) -> str:
    found = photo_hash(data, "image/jpeg")
    assert found is not None
    return found


def test_the_threshold_separates_re_encoded_and_cropped_photos_from_different_ones() -> None:
    """Why SAME_PHOTO_BITS is 14: every edit below stays within it, no other photo does."""
    edits, others = [], []
    for seed in range(8):
        original = photo(seed, (800, 600))
        base = hash_of(jpeg(original))
        for edited in (
            jpeg(original.resize((400, 300)), quality=20),  # re-encoded small and rough
            jpeg(trimmed(original, 0.03, 0.03, 0.03, 0.03), quality=50),  # 3% off each edge
            jpeg(trimmed(original, 0, 0, 0.05, 0), quality=50),  # 5% off one edge
            jpeg(trimmed(original, 0, 0.04, 0, 0), quality=70),  # 4% off the top
        ):
            edits.append(distance(base, hash_of(edited)))
        for other in range(3):
            others.append(distance(base, hash_of(jpeg(photo(1000 + seed * 7 + other, (800, 600))))))
    assert max(edits) <= SAME_PHOTO_BITS < min(others), (sorted(edits)[-5:], sorted(others)[:5])


def test_what_is_not_an_image_or_is_too_big_gets_no_hash() -> None:
    assert photo_hash(b"%PDF-1.4 not an image", "application/pdf") is None
    assert photo_hash(b"\xff\xd8 broken jpeg", "image/jpeg") is None
    bomb = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(bomb, "PNG")  # 144 MP, a few KB on the wire
    assert photo_hash(bomb.getvalue(), "image/png") is None


def intake(text: str, key: str, *files: bytes, sender: Sender = JANE) -> Intake:
    attachments = tuple(Attachment(f, "image/jpeg", "photo.jpg") for f in files)
    return Intake("telegram", key, sender, text, NOW, attachments)


def claimed(service: ClaimsService, text: str, key: str, *files: bytes) -> int:
    """A claim submitted (in the member's record)."""
    view = service.start_claim(intake(text, key, *files)).claim
    return service.submit(view.id, JANE).id


def audit(engine: Engine, action: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_the_same_file_is_flagged_and_the_member_may_send_it_anyway(
    service: ClaimsService, engine: Engine
) -> None:
    certificate = jpeg(photo(1))
    first = claimed(service, "boat show today 4 hours", "t:1", certificate)
    again = service.start_claim(intake("exhibition visit", "t:2", certificate)).claim
    assert (again.duplicate_of, again.duplicate_why) == (first, "same_file")
    card = draft_card(again)
    assert f"You claimed this on 23 November 2026 (claim #{first}, the same file)" in card
    assert "send it anyway?" in card and "Tap Submit" not in card
    buttons = [b.text for row in keyboards.draft(again).inline_keyboard for b in row]
    assert buttons[0] == "Send anyway" and "Cancel" in buttons and "✅ Submit" not in buttons
    sent = service.submit(again.id, JANE, anyway=True)
    assert sent.status == "pending" and sent.duplicate_of == first
    assert [a.claim_id for a in audit(engine, "claim.duplicate_confirmed")] == [again.id]
    assert f"Possible duplicate of claim #{first} (the same file" in secretary_card(sent)
    secretary = WebUser(member_id=2, membership_no="S1", name="Sam", role="secretary")
    listed = web_claims.visible_claims(service, secretary, duplicates=True)
    assert [(c["id"], c["duplicate_of"]) for c in listed] == [(again.id, first)]
    assert listed[0]["duplicate"]["why"] == "same_file"


def test_the_same_photo_re_encoded_and_cropped_is_flagged(
    service: ClaimsService, engine: Engine
) -> None:
    original = photo(2)
    first = claimed(service, "boat show today 4 hours", "t:1", jpeg(original))
    cropped = jpeg(trimmed(original, 0.03, 0.03, 0.03, 0.03).resize((1000, 750)), quality=40)
    again = service.start_claim(intake("", "t:2", cropped)).claim
    assert (again.duplicate_of, again.duplicate_why) == (first, "same_photo")


def test_the_same_activity_in_other_words_is_flagged(service: ClaimsService) -> None:
    first = claimed(service, "boat show southampton today 4 hours", "t:1")
    again = service.start_claim(intake("Southampton boat show today, 4 hrs", "t:2")).claim
    assert (again.duplicate_of, again.duplicate_why) == (first, "same_activity")


def test_a_different_activity_on_the_same_day_or_a_different_photo_is_not_flagged(
    service: ClaimsService, engine: Engine
) -> None:
    claimed(service, "boat show southampton today 4 hours", "t:1", jpeg(photo(3)))
    other_kind = service.start_claim(intake("records webinar today 2 hours", "t:2")).claim
    other_title = service.start_claim(intake("boat show london today 2 hours", "t:3")).claim
    other_photo = service.start_claim(intake("", "t:4", jpeg(photo(4)))).claim
    assert [other_kind.duplicate_of, other_title.duplicate_of, other_photo.duplicate_of] == [
        None,
        None,
        None,
    ]
    assert "Tap Submit when it is right." in draft_card(other_kind)
    with Session(engine) as session:
        assert session.exec(select(Claim).where(Claim.duplicate_of.is_not(None))).all() == []


MAIL = "jane@example.com"


def mail(text: str, message_id: str, in_reply_to: str | None = None) -> Intake:
    return mail_intake(
        text,
        MAIL,
        message_id,
        NOW,
        in_reply_to=in_reply_to,
        references=" ".join(i for i in (in_reply_to, message_id) if i),
    )


def test_a_duplicate_by_mail_waits_for_send_anyway_in_a_reply(
    service: ClaimsService, engine: Engine
) -> None:
    first = service.receive_mail(mail("Boat show yesterday, 5 hours", "<m1@x>"))
    assert first.claim is not None and first.claim.status == "pending"
    again = service.receive_mail(mail("Boat show yesterday, 5 hours", "<m2@x>"))
    assert again.outcome == "duplicate" and again.claim is not None
    assert again.claim.status == "draft" and again.claim.duplicate_of == first.claim.id
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
        (asked,) = [r for r in rows if r.dedup_key == f"claim:{again.claim.id}:duplicate:email"]
        cards = [r for r in rows if r.template == "secretary_card"]
    assert 'reply to this message with the words "send anyway"' in asked.payload["text"]
    assert len(cards) == 1  # the repeat is not on the secretary's desk yet
    reply_to = f"<{asked.payload['message_id_local']}@example.com>"
    answer = service.receive_mail(mail("Yes, send anyway please", "<m3@x>", reply_to))
    assert answer.claim is not None and answer.claim.status == "pending"
    assert answer.claim.duplicate_of == first.claim.id
    assert len(audit(engine, "claim.duplicate_confirmed")) == 1
    with Session(engine) as session:
        cards = session.exec(
            select(OutboxMessage).where(OutboxMessage.template == "secretary_card")
        ).all()
    assert len(cards) == 2 and "Possible duplicate" in cards[1].payload["text"]
