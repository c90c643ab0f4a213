"""Helpers of the desk's tests: a SQLite-only web world, pending claims made through the
claims service (as any channel makes them), the rows a desk page lists, the outbox and whom
its rows reach, and real JPEG and PDF files."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid

from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlmodel import Session

from cpd.claims.intake import Attachment, Intake, Sender
from cpd.storage import Claim, OutboxMessage
from tests.support.outbox import address_of
from tests.web.conftest import Web


def pending(
    web: Web,
    membership_no: str,
    text: str = "boat show today 4 hours",
    channel: str = "web",
    attachments: tuple[Attachment, ...] = (),
    age: dt.timedelta = dt.timedelta(0),
) -> int:
    """A claim of the member's, submitted ``age`` before the clock's time (the clock is left
    where it was)."""
    sender = Sender(membership_no=membership_no)
    now = web.clock.now
    web.clock.now = now - age
    try:
        view = web.service.start_claim(
            Intake(
                channel=channel,
                source_key=f"test:{uuid.uuid4().hex}",
                sender=sender,
                text=text,
                received_at=web.clock.now,
                attachments=attachments,
            )
        ).claim
        web.service.submit(view.id, sender)
    finally:
        web.clock.now = now
    return view.id


def listed(html: str, attribute: str = "data-claim") -> list[str]:
    """The ids (claims) or numbers (members) a desk table lists, in order."""
    return re.findall(rf'{attribute}="([^"]+)"', html)


def outbox(web: Web) -> list[OutboxMessage]:
    """Every outbox row."""
    with Session(web.service.engine) as session:
        return list(session.execute(select(OutboxMessage)).scalars())


def to(web: Web, row: OutboxMessage) -> str | None:
    """The address ``row`` reaches on its channel now (its recipient role resolved as the
    channel's sender resolves it: a chat id as text, a mail address)."""
    return address_of(web.service.engine, row, web.service.secretary_chat_id)


def status_of(web: Web, claim_id: int) -> str:
    """A claim's status in the database."""
    with Session(web.service.engine) as session:
        claim = session.get(Claim, claim_id)
        assert claim is not None
        return claim.status


def jpeg(width: int = 640, height: int = 480, colour: str = "teal") -> bytes:
    """An actual JPEG photo (PIL)."""
    buffer = io.BytesIO()
    picture = Image.new("RGB", (width, height), colour)
    ImageDraw.Draw(picture).rectangle((40, 40, width - 40, height // 2), fill="white")
    picture.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def pdf(title: str = "Certificate of attendance") -> bytes:
    """A one-page PDF (fpdf2)."""
    from fpdf import FPDF

    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=24)
    document.cell(text=title)
    return bytes(document.output())
