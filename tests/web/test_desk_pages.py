"""The desk's pages against a real server (SQLite; the queue's and decisions' SQL runs on both
databases in test_desk_queue/test_desk_decisions): role rules on every desk URL and on
evidence, the register and its filters, a member's record, standings and their CSV, the audit
log, period end and audit sampling (a preview queues nothing), and batched reads."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import event

from cpd.claims import desk_queue, desk_register
from cpd.claims.intake import Attachment, Sender
from cpd.claims.members import import_members, parse_members_csv
from cpd.claims.web_access import user_by_id
from cpd.storage import AuditEntry
from tests.web.conftest import Web
from tests.web.desk_helpers import (
    jpeg,
    listed,
    outbox,
    pdf,
    pending,
    to,
)

GETS = (
    "/desk",
    "/desk?kind=training",
    "/desk/claims/{claim}",
    "/desk/members",
    "/desk/members/M1",
    "/desk/standings",
    "/desk/standings.csv",
    "/desk/audit",
    "/desk/period-end",
    "/desk/period-end?closing_day=2026-11-01",
)
POSTS = (
    ("/desk/claims/{claim}/decision", {"action": "accept"}),
    ("/desk/decisions", {"action": "accept", "claim_id": "{claim}"}),
    ("/desk/period-end", {"closing_day": "2026-11-01"}),
    (
        "/desk/period-end/audit",
        {"scheme": "imi", "cycle": "2023", "fraction": "0.5", "seed": "1", "expected": ""},
    ),
)


def form(client: httpx.Client, fields: dict[str, str], claim: int) -> dict[str, str]:
    """Fields with the claim id filled in and the session's CSRF token."""
    filled = {k: v.format(claim=claim) for k, v in fields.items()}
    return {"csrf": client.headers.get("X-CSRF-Token", ""), **filled}


def test_only_a_secretary_gets_a_desk_page(sqlite_web: Web) -> None:  # noqa: F811
    web = sqlite_web
    claim = pending(web, "M1")
    nobody, jane, sam = web.client(), web.signed_in("M1"), web.signed_in("S1")
    for path in GETS:
        url = path.format(claim=claim)
        away = nobody.get(url)
        assert away.status_code == 303 and away.headers["location"] == "/", url
        assert jane.get(url).status_code == 403, url
        assert sam.get(url).status_code == 200, url
    for path, fields in POSTS:
        url = path.format(claim=claim)
        assert nobody.post(url, data=form(nobody, fields, claim)).status_code in (401, 403), url
        assert jane.post(url, data=form(jane, fields, claim)).status_code == 403, url
    assert web.service.claim(claim).status == "pending"
    assert not [m for m in outbox(web) if m.dedup_key.startswith(("period-end", "audit"))]


def test_evidence_is_the_members_own_or_a_secretarys(sqlite_web: Web) -> None:  # noqa: F811
    web = sqlite_web
    photo, certificate = jpeg(1600, 1200), pdf()
    files = (
        Attachment(data=photo, content_type="image/jpeg", name="photo.jpg"),
        Attachment(data=certificate, content_type="application/pdf", name='cert "a".pdf'),
        Attachment(data=b"<script>alert(1)</script>", content_type="text/html", name="x.html"),
    )
    claim = pending(web, "M1", attachments=files)
    other = pending(web, "M2")
    ids = {e.original_name: e.id for e in web.service.evidence(claim)}
    jane, mark, sam, nobody = (
        web.signed_in("M1"),
        web.signed_in("M2"),
        web.signed_in("S1"),
        web.client(),
    )
    image_url = f"/evidence/{claim}/{ids['photo.jpg']}"
    for who in (jane, sam):
        got = who.get(image_url)
        assert got.status_code == 200 and got.content == photo
        assert got.headers["content-type"] == "image/jpeg"
        assert got.headers["content-disposition"].startswith("inline")
        thumb = who.get(image_url + "/thumb.png")
        assert thumb.headers["content-type"] == "image/png"
        assert max(Image.open(io.BytesIO(thumb.content)).size) == 480
    for url in (image_url, image_url + "/thumb.png", f"/evidence/{other}/{ids['photo.jpg']}"):
        assert mark.get(url).status_code == 404, url
    assert nobody.get(image_url).status_code == 401
    assert jane.get(f"/evidence/{other}/{ids['photo.jpg']}").status_code == 404

    pdf_id = next(i for n, i in ids.items() if n.endswith(".pdf"))
    page = Image.open(io.BytesIO(sam.get(f"/evidence/{claim}/{pdf_id}/thumb.png").content))
    assert page.format == "PNG" and max(page.size) <= 480 and page.getextrema()[0][0] < 100
    named = sam.get(f"/evidence/{claim}/{pdf_id}").headers["content-disposition"]
    assert '"a"' not in named and "\n" not in named
    html = sam.get(f"/evidence/{claim}/{ids['x.html']}")
    assert html.headers["content-type"] == "application/octet-stream"
    assert html.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in html.headers["content-security-policy"]
    claim_page = sam.get(f"/desk/claims/{claim}").text
    assert f'src="/evidence/{claim}/{ids["photo.jpg"]}/thumb.png"' in claim_page
    assert f'href="/evidence/{claim}/{pdf_id}"' in claim_page


def test_the_register_filters_and_a_members_record(sqlite_web: Web) -> None:  # noqa: F811
    web = sqlite_web
    done = pending(web, "M1", "course yesterday 3 hours", "telegram")
    sam = web.signed_in("S1")
    sam.post(
        f"/desk/claims/{done}/decision",
        data={"csrf": sam.headers["X-CSRF-Token"], "action": "accept_points", "points": "10"},
    )
    pending(web, "M2", "webinar today 1 hours")

    def numbers(query: str = "") -> list[str]:
        answer = sam.get("/desk/members" + query)
        assert answer.status_code == 200, answer.text
        return listed(answer.text, "data-member")

    assert numbers() == ["M1", "M2", "S1", "S2"]
    assert numbers("?only=behind") == ["M2", "S1", "S2"]
    assert numbers("?only=no_claim") == ["S1", "S2"]
    assert numbers("?q=jane") == ["M1"] and numbers("?scheme=imi") == []
    row = sam.get("/desk/members").text.split('data-member="M1"')[1].split("</tr>")[0]
    assert "10 / 10 points" in row and "telegram, email" in row and "2026-11-22" in row

    record = sam.get("/desk/members/M1")
    assert '<img src="/charts/M1.png"' in record.text
    assert f'href="/desk/claims/{done}"' in record.text and "10 of 10 points" in record.text
    assert sam.get("/desk/members/NOPE").status_code == 404


def test_standings_for_a_period_and_their_csv(sqlite_web: Web) -> None:  # noqa: F811
    web = sqlite_web
    claim = pending(web, "M1", "course yesterday 3 hours", "telegram")
    sam = web.signed_in("S1")
    sam.post(
        f"/desk/claims/{claim}/decision",
        data={"csrf": sam.headers["X-CSRF-Token"], "action": "accept_points", "points": "4"},
    )
    page = sam.get("/desk/standings?scheme=iims&period=2026")
    assert page.status_code == 200 and 'value="2025"' in page.text
    answer = sam.get("/desk/standings.csv?scheme=iims&period=2026")
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["membership_no"] for r in rows] == ["M1", "M2", "S1", "S2"]
    jane = rows[0]
    assert (jane["name"], jane["period_start"], jane["period_end"]) == (
        "Jane Surveyor",
        "2026-01-01",
        "2026-12-31",
    )
    assert (jane["total"], jane["target"], jane["remaining"], jane["met"]) == (
        "4",
        "10",
        "6",
        "False",
    )
    last_year = list(csv.DictReader(io.StringIO(sam.get("/desk/standings.csv?period=2025").text)))
    assert {r["period_end"] for r in last_year} == {"2025-12-31"}
    assert {r["earned"] for r in last_year} == {"0"}


def test_the_audit_log_is_newest_first_by_member_and_action(sqlite_web: Web) -> None:  # noqa: F811
    web = sqlite_web
    claim = pending(web, "M1")
    sam = web.signed_in("S1")
    sam.post(
        f"/desk/claims/{claim}/decision",
        data={"csrf": sam.headers["X-CSRF-Token"], "action": "decline", "reason": "no proof"},
    )
    everything = sam.get("/desk/audit").text
    assert everything.index("claim.declined") < everything.index("claim.submitted")
    only = sam.get("/desk/audit?action=claim.declined").text
    assert only.count("<td>claim.declined</td>") == 1 and "<td>claim.submitted</td>" not in only
    janes = sam.get("/desk/audit?member=M1").text
    assert "<td>claim.declined</td>" in janes and "web.signed_in" not in janes.split("<tbody>")[1]
    assert "There is no member NOPE" in sam.get("/desk/audit?member=NOPE").text


IMI_MEMBERS = "membership_no,name,email,scheme,grade,joined,role\n" + "".join(
    f"I{n},Imi Member {n},i{n}@example.com,imi,member,2020-04-01,member\n" for n in range(10)
)


def test_period_end_and_an_audit_preview_queue_nothing_until_confirmed(
    sqlite_web: Web,  # noqa: F811
) -> None:
    web = sqlite_web
    import_members(web.service.engine, parse_members_csv(IMI_MEMBERS, "iims"))
    sam = web.signed_in("S1")
    web.clock.now = dt.datetime(2027, 1, 1, 10, 0, tzinfo=dt.UTC)
    before = len(outbox(web))

    preview = sam.get("/desk/period-end?closing_day=2026-12-31")
    assert preview.status_code == 200
    assert "3 member(s) would be told" in preview.text  # M1, S1, S2 on Telegram; M2 no channel
    assert "Your CPD period 2026 has closed with 0 points" in preview.text
    assert len(outbox(web)) == before
    future = sam.get("/desk/period-end?closing_day=2027-01-01")
    assert future.status_code == 422 and "once its last day is over" in future.text

    token = sam.headers["X-CSRF-Token"]
    queued = sam.post("/desk/period-end", data={"csrf": token, "closing_day": "2026-12-31"})
    assert queued.status_code == 303
    ends = [m for m in outbox(web) if m.dedup_key.startswith("period-end:")]
    told = sorted(to(web, m) or "" for m in ends)
    assert told == ["101", "201", "202"]
    again = sam.get("/desk/period-end?closing_day=2026-12-31").text
    assert "0 member(s) would be told; 3 had been told already" in again

    draw = sam.get("/desk/period-end?scheme=imi&cycle=2023&fraction=0.2")
    assert draw.status_code == 200 and "10 eligible; 2 would be selected" in draw.text
    seed = draw.text.split('name="seed" value="')[1].split('"')[0]
    expected = draw.text.split('name="expected" value="')[1].split('"')[0]
    assert not [m for m in outbox(web) if m.dedup_key.startswith("audit:")]
    with web.service.engine.connect() as connection:
        assert not connection.execute(
            AuditEntry.__table__.select().where(AuditEntry.__table__.c.action == "audit.sampled")
        ).all()
    fields = {"csrf": token, "scheme": "imi", "cycle": "2023", "fraction": "0.2", "seed": seed}
    wrong = sam.post("/desk/period-end/audit", data={**fields, "expected": "I0"})
    assert wrong.status_code == 303 and not [
        m for m in outbox(web) if m.dedup_key.startswith("audit:")
    ]
    assert "preview the draw again" in sam.get("/desk/period-end").text
    sam.post("/desk/period-end/audit", data={**fields, "expected": expected})
    audits = [m for m in outbox(web) if m.dedup_key.startswith("audit:")]
    mailed = sorted(to(web, m) or "" for m in audits)
    assert mailed == sorted(f"i{n[1:]}@example.com" for n in expected.split(","))
    assert "sampled already" in sam.get("/desk/period-end?scheme=imi&cycle=2023").text


@contextmanager
def counting(engine: Any) -> Iterator[list[str]]:
    """The SQL statements run on the engine inside the block."""
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_the_register_and_the_queue_read_in_batches(sqlite_web: Web) -> None:  # noqa: F811
    web = sqlite_web
    secretary = web.service.member_for(Sender(membership_no="S1"))
    assert secretary is not None and secretary.id is not None
    sam = user_by_id(web.service.engine, secretary.id)
    assert sam is not None and sam.is_secretary

    def reads() -> tuple[int, int]:
        with counting(web.service.engine) as register:
            desk_register.register(web.service, sam)
        with counting(web.service.engine) as queue:
            desk_queue.queue(web.service, sam, desk_queue.QueueQuery())
        return len(register), len(queue)

    pending(web, "M1")
    few = reads()
    many = "membership_no,name,email,scheme,grade,joined,role\n" + "".join(
        f"N{n},New Member {n},,iims,member,2021-01-01,member\n" for n in range(40)
    )
    import_members(web.service.engine, parse_members_csv(many, "iims"))
    for n in range(0, 40, 4):
        pending(web, f"N{n}", "course today 2 hours")
    assert reads() == few  # as many queries for 44 members and 11 claims as for 4 and 1
    assert few[0] <= 6 and few[1] <= 6, few
