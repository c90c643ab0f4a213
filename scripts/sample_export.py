"""Writes docs/sample-export.pdf and .csv: a demo member's year, claimed through the real
claims service and NLP pipeline, accepted or declined by a secretary, then exported.

    python scripts/sample_export.py
"""

from __future__ import annotations

import datetime as dt
import tempfile
import zoneinfo
from pathlib import Path

from cpd.claims.intake import Attachment, Intake, Sender
from cpd.claims.members import create_invite, import_members, parse_members_csv
from cpd.claims.records import member_records, to_csv, to_pdf
from cpd.claims.service import ClaimsService
from cpd.nlp import load_extractor
from cpd.storage import make_engine, migrate

DOCS = Path(__file__).resolve().parents[1] / "docs"
MEMBERS = """membership_no,name,email,scheme,grade,joined,role
IIMS-1042,Jane Surveyor,jane@example.com,iims,member,2019-05-01,member
S1,Sam Secretary,sam@example.com,iims,,2015-01-01,secretary
"""
CLAIMS = [
    ("2026-01-20 10:00", "IIMS training day on hull surveys in Portsmouth, 7 hours", "accept"),
    ("2026-03-02 18:00", "read the new ISO standard on small craft stability, 2 hours", "accept"),
    ("2026-05-16 17:30", "boat show southampton today 4hrs 📸", "accept"),
    ("2026-07-08 09:00", "coffee with a friend who sells boats", "decline"),
    ("2026-09-20 16:00", "gave a talk on moisture meters to the local yacht club, 1.5 hours",
     "accept"),
]


def main() -> None:
    """Build the demo and write the sample exports."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/cpd.sqlite3")
        migrate(engine)
        import_members(engine, parse_members_csv(MEMBERS, "iims"))
        now = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
        service = ClaimsService(engine, load_extractor(), Path(tmp) / "evidence",
                                zoneinfo.ZoneInfo("Europe/London"), clock=lambda: now)
        jane, sam = Sender(101), Sender(201)
        for number, user in (("IIMS-1042", 101), ("S1", 201)):
            service.link_telegram(create_invite(engine, number, dt.timedelta(days=1))[0], user)
        for i, (when, text, decision) in enumerate(CLAIMS):
            sent = dt.datetime.fromisoformat(when).replace(tzinfo=dt.UTC)
            photo = (Attachment(b"\xff\xd8 demo photo %d" % i, "image/jpeg", "IMG_2041.jpg"),)
            view = service.start_claim(Intake("telegram", f"demo:{i}", jane, text, sent,
                                              photo if "📸" in text else ())).claim
            service.submit(view.id, jane)
            if decision == "accept":
                service.decide(view.id, sam, "accept")
            else:
                service.decide(view.id, sam, "decline", reason="Not a development activity")
        records = member_records(engine, "IIMS-1042", "current", now.date())
        (DOCS / "sample-export.pdf").write_bytes(to_pdf(records))
        (DOCS / "sample-export.csv").write_text(to_csv(records), encoding="utf-8")
        engine.dispose()
    print(f"wrote {DOCS / 'sample-export.pdf'} and {DOCS / 'sample-export.csv'}")


if __name__ == "__main__":
    main()
