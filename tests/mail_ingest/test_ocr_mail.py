"""End to end in one process: a mail whose body is one word and whose attachment is a phone
photo of a certificate files a claim at once (``250``, stored, receipt queued), and the OCR
worker of ``cpd run`` then fills its kind, hours, date and provider from the photo.

A real aiosmtpd listener and spool worker, smtplib as the client, the shipped NLP pipeline,
real Tesseract in :class:`cpd.ocr_wiring.OcrWorker`'s thread, SQLite.
"""

from __future__ import annotations

import random
import zoneinfo
from pathlib import Path

from sqlalchemy import Engine

from cpd.claims.members import import_members, parse_members_csv
from cpd.claims.ocr import OcrLimits
from cpd.claims.service import ClaimsService
from cpd.nlp import load_extractor
from cpd.ocr_wiring import OcrWorker
from tests.mail_ingest.conftest import MEMBERS, SECRETARY_CHAT
from tests.mail_ingest.support_servers import make_mail, send, wait_until
from tests.mail_ingest.test_smtp_spool import Spooled
from tests.support import certificates as certs


def test_a_one_word_mail_with_a_certificate_photo(sqlite_engine: Engine, tmp_path: Path) -> None:
    import_members(sqlite_engine, parse_members_csv(MEMBERS, "iims"))
    service = ClaimsService(
        sqlite_engine,
        load_extractor(),
        tmp_path / "evidence",
        zoneinfo.ZoneInfo("Europe/London"),
        SECRETARY_CHAT,
    )
    rng = random.Random(2026)
    cert = certs.draw(rng, layout="table", font_name="DejaVuSansCondensed.ttf")
    photo = certs.jpeg(certs.photographed(certs.rotate(cert.image, 2.5), rng), quality=55)
    running = Spooled(service, tmp_path / "spool")
    # a generous page time: on a loaded CI machine a page can take many times its 2 s
    worker = OcrWorker(service, OcrLimits(page_seconds=120), interval=0.1)
    try:
        send(running.port, make_mail("Certificate", attachments=((photo, "image/jpeg", "c.jpg"),)))
        filed = wait_until(service.pending, what="the claim")
        assert isinstance(filed, list)
        (claim,) = filed
        assert claim.hours is None  # filed from the one word, before anything read the photo
        worker.start()

        def read() -> object:
            now = service.claim(claim.id)
            return now if now is not None and now.hours is not None else None

        done = wait_until(read, timeout=150, what="the claim filled from the photo")
    finally:
        worker.stop(timeout=30)
        running.close()
    assert done == service.claim(claim.id)
    filled = service.claim(claim.id)
    assert filled is not None and filled.status == "pending"
    assert (filled.kind, filled.hours, filled.start_date) == (cert.kind, cert.hours, cert.date)
    assert filled.provider == cert.provider
    (evidence,) = service.evidence(claim.id)
    assert evidence.ocr_status == "read" and evidence.ocr_engine
    assert evidence.ocr_text and cert.title in " ".join(evidence.ocr_text.split())
