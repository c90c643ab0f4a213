"""The JSON API of CONTRACTS.md against a real server: role rules, CSRF, decisions, web
claims, standing and health."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from cpd.rules import evaluate_document
from cpd.storage import OutboxMessage
from tests.support.outbox import address_of
from tests.web.conftest import Clock, Web, make_service, serve

CLAIM_FIELDS = {
    "id",
    "membership_no",
    "status",
    "kind",
    "title",
    "hours",
    "start_date",
    "end_date",
    "provider",
    "has_test",
    "proposed_points",
    "awarded_points",
    "channel",
    "evidence",
    "duplicate_of",
    "verification",
}


def pending_claim(web: Web, member: httpx.Client, text: str = "boat show today 4 hours") -> int:
    made = member.post("/api/claims", data={"text": text})
    assert made.status_code == 201, made.text
    claim_id = made.json()["id"]
    submitted = member.post(f"/api/claims/{claim_id}/submit")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "pending"
    return int(claim_id)


def outbox(web: Web) -> list[OutboxMessage]:
    with Session(web.service.engine) as session:
        return list(session.exec(select(OutboxMessage)).scalars())  # type: ignore[call-overload]


def test_a_web_claim_is_a_draft_then_pending(web: Web) -> None:
    member = web.signed_in("M1")
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    made = member.post(
        "/api/claims",
        data={"text": "boat show 4 hours", "date": "2026-11-20"},
        files=[("files", ("../../etc/passwd.png", png, "image/png"))],
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert set(body) >= CLAIM_FIELDS
    assert body["status"] == "draft" and body["channel"] == "web"
    assert body["start_date"] == "2026-11-20" and body["kind"] == "exhibition"
    assert body["proposed_points"] is not None and body["rule_note"]
    [evidence] = body["evidence"]
    assert evidence["name"] == "passwd.png" and evidence["size"] == len(png)
    assert evidence["content_type"] == "image/png" and len(evidence["sha256"]) == 64
    assert [h["action"] for h in body["history"]][0] == "claim.drafted"
    submitted = member.post(f"/api/claims/{body['id']}/submit")
    assert submitted.status_code == 200 and submitted.json()["status"] == "pending"
    listed = member.get("/api/claims", params={"status": "pending"}).json()
    assert [c["id"] for c in listed] == [body["id"]]


def test_claims_need_the_csrf_token(web: Web) -> None:
    member = web.signed_in("M1")
    token = member.headers.pop("X-CSRF-Token")
    assert member.post("/api/claims", data={"text": "boat show"}).status_code == 403
    wrong = {"X-CSRF-Token": token[:-1] + ("A" if token[-1] != "A" else "B")}
    assert member.post("/api/claims", data={"text": "boat show"}, headers=wrong).status_code == 403
    assert member.get("/api/claims").json() == []


def test_a_member_sees_only_their_own_claims(web: Web) -> None:
    jane, mark = web.signed_in("M1"), web.signed_in("M2")
    janes = pending_claim(web, jane)
    marks = pending_claim(web, mark, "webinar 2 hours")
    assert [c["id"] for c in jane.get("/api/claims").json()] == [janes]
    assert jane.get("/api/claims", params={"member": "M2"}).json() == []
    assert jane.get(f"/api/claims/{marks}").status_code == 404
    assert jane.post(f"/api/claims/{marks}/submit").status_code == 404
    assert mark.get(f"/api/claims/{marks}").status_code == 200
    secretary = web.signed_in("S1")
    assert {c["id"] for c in secretary.get("/api/claims").json()} == {janes, marks}
    only_mark = secretary.get("/api/claims", params={"member": "M2"}).json()
    assert [c["membership_no"] for c in only_mark] == ["M2"]


def test_a_secretary_decides_once_and_the_second_gets_409(web: Web) -> None:
    jane = web.signed_in("M1")
    claim_id = pending_claim(web, jane)
    sam, sue = web.signed_in("S1"), web.signed_in("S2")
    accepted = sam.post(f"/api/claims/{claim_id}/decision", json={"action": "accept"})
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["status"] == "accepted" and body["awarded_points"] == body["proposed_points"]
    assert "claim.accepted" in [h["action"] for h in body["history"]]
    late = sue.post(f"/api/claims/{claim_id}/decision", json={"action": "decline", "reason": "no"})
    assert late.status_code == 409
    assert late.json()["decided_by"] == "Sam Secretary" and late.json()["decided_at"]
    # the member is told exactly as after a tap in chat: a Telegram message in the outbox
    told = [m for m in outbox(web) if m.dedup_key == f"claim:{claim_id}:accepted:telegram"]
    assert len(told) == 1 and address_of(web.service.engine, told[0]) == "101"
    # and the secretaries' Telegram card is edited to show the outcome
    [card] = [m for m in outbox(web) if m.dedup_key == f"claim:{claim_id}:card-final"]
    assert card.template == "card_update" and "Accepted by Sam Secretary" in card.payload["text"]
    assert jane.get(f"/api/claims/{claim_id}").json()["status"] == "accepted"


def test_other_points_and_a_decline_with_its_reason(web: Web) -> None:
    mark = web.signed_in("M2")  # on no channel but the web
    jane = web.signed_in("M1")
    first, second = pending_claim(web, jane), pending_claim(web, mark, "webinar 2 hours")
    sam = web.signed_in("S1")
    points = sam.post(f"/api/claims/{first}/decision", json={"action": "accept", "points": 1.5})
    assert points.status_code == 200 and points.json()["awarded_points"] == 1.5
    no_reason = sam.post(f"/api/claims/{second}/decision", json={"action": "decline"})
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["error"]
    declined = sam.post(
        f"/api/claims/{second}/decision", json={"action": "decline", "reason": "not CPD"}
    )
    assert declined.status_code == 200 and declined.json()["decision_reason"] == "not CPD"


def test_a_member_may_not_decide(web: Web) -> None:
    jane = web.signed_in("M1")
    claim_id = pending_claim(web, jane)
    refused = jane.post(f"/api/claims/{claim_id}/decision", json={"action": "accept"})
    assert refused.status_code == 403
    assert jane.get(f"/api/claims/{claim_id}").json()["status"] == "pending"
    secretary = web.signed_in("S1")
    secretary.headers.pop("X-CSRF-Token")
    no_token = secretary.post(f"/api/claims/{claim_id}/decision", json={"action": "accept"})
    assert no_token.status_code == 403


@pytest.mark.parametrize(
    "body, field",
    [
        ({"action": "approve"}, "action"),
        ({"action": "accept", "points": -1}, "points"),
        ({"action": "accept", "points": "lots"}, "points"),
        ({}, "action"),
    ],
)
def test_a_bad_decision_body_is_422_naming_the_field(
    web: Web, body: dict[str, Any], field: str
) -> None:
    secretary = web.signed_in("S1")
    answer = secretary.post("/api/claims/1/decision", json=body)
    assert answer.status_code == 422
    assert answer.json()["field"] == field and field in answer.json()["error"]


def test_bad_inputs_are_4xx_never_500(web: Web) -> None:
    secretary = web.signed_in("S1")
    assert secretary.get("/api/claims", params={"status": "lost"}).status_code == 422
    assert secretary.get("/api/claims/abc").status_code == 422
    assert secretary.get("/api/claims/999999").status_code == 404
    missing = secretary.post("/api/claims/999999/decision", json={"action": "accept"})
    assert missing.status_code == 404
    member = web.signed_in("M1")
    bad_date = member.post("/api/claims", data={"text": "boat show", "date": "31/02/2026"})
    assert bad_date.status_code == 422 and bad_date.json()["field"] == "date"
    wrong_type = member.post(
        "/api/claims",
        data={"text": "boat show"},
        files=[("files", ("run.sh", b"#!/bin/sh", "application/x-sh"))],
    )
    assert wrong_type.status_code == 415 and wrong_type.json()["field"] == "files"
    too_big = member.post(
        "/api/claims",
        data={"text": "boat show"},
        files=[("files", ("big.pdf", b"%PDF" + b"0" * (26 * 2**20), "application/pdf"))],
    )
    assert too_big.status_code == 413
    nothing = member.post("/api/claims", data={"text": ""})
    assert nothing.status_code == 422
    assert member.get("/api/claims").json() == []


def test_standing_is_the_rules_evaluate_output(web: Web) -> None:
    jane = web.signed_in("M1")
    claim_id = pending_claim(web, jane)
    web.signed_in("S1").post(f"/api/claims/{claim_id}/decision", json={"action": "accept"})
    standing = jane.get("/api/members/M1/standing")
    assert standing.status_code == 200
    body = standing.json()
    claim = jane.get(f"/api/claims/{claim_id}").json()
    expected = evaluate_document(
        {
            "scheme": "iims",
            "as_of": web.service.today().isoformat(),
            "member": {"joined": "2019-05-01", "grade": "member", "dispensations": []},
            "claims": [
                {
                    "id": str(claim_id),
                    "kind": claim["kind"],
                    "hours": claim["hours"],
                    "date": claim["start_date"],
                    "provider": claim["provider"],
                    "has_test": claim["has_test"],
                    "title": claim["title"],
                    "status": "accepted",
                    "points": claim["awarded_points"],
                }
            ],
        }
    )
    assert set(expected) <= set(body)
    for key in ("scheme", "period", "target", "earned", "total", "remaining", "met"):
        assert body[key] == expected[key], key
    assert body["earned"] > 0 and body["claims"][0]["id"] == str(claim_id)
    assert jane.get("/api/members/M2/standing").status_code == 403
    assert web.signed_in("S1").get("/api/members/M2/standing").status_code == 200
    assert web.signed_in("S1").get("/api/members/NOPE/standing").status_code == 404


def test_healthz_is_200_with_the_database(web: Web) -> None:
    answer = web.client().get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_healthz_is_503_when_the_database_is_gone(tmp_path: Path) -> None:
    from cpd.storage import make_engine, migrate

    database = tmp_path / "db" / "cpd.sqlite3"
    database.parent.mkdir()
    engine = make_engine(f"sqlite:///{database}")
    migrate(engine)
    service = make_service(engine, tmp_path / "evidence", Clock())
    server = serve(service)
    try:
        with httpx.Client(base_url=server.url, timeout=20) as client:
            assert client.get("/healthz").status_code == 200
            engine.dispose()
            for leftover in database.parent.iterdir():
                leftover.unlink()
            database.mkdir()  # where the file was, a directory: no database opens there
            gone = client.get("/healthz")
            assert gone.status_code == 503 and gone.json()["status"] != "ok"
    finally:
        server.close()
        engine.dispose()


def test_a_dropped_postgres_database_is_503(postgres_cluster: str) -> None:
    pytest.importorskip("psycopg")
    from sqlalchemy import create_engine, text

    from cpd.storage import make_engine, migrate
    from tests.conftest import _fresh_postgres_database

    url = _fresh_postgres_database(postgres_cluster)
    engine = make_engine(url)
    migrate(engine)
    service = make_service(engine, Path("/nonexistent-evidence"), Clock())
    server = serve(service)
    try:
        with httpx.Client(base_url=server.url, timeout=20) as client:
            assert client.get("/healthz").status_code == 200
            engine.dispose()
            name = engine.url.database
            admin = create_engine(postgres_cluster, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()
            assert client.get("/healthz").status_code == 503
    finally:
        server.close()
        engine.dispose()


def test_an_old_session_of_a_removed_role_loses_decisions(web: Web) -> None:
    """Roles are read from the database on every request, not from the cookie."""
    from cpd.storage import Member, transaction

    jane = web.signed_in("M1")
    claim_id = pending_claim(web, jane)
    sam = web.signed_in("S1")
    with transaction(web.service.engine) as session:
        member = session.exec(select(Member).where(Member.membership_no == "S1")).scalars().one()  # type: ignore[call-overload]
        member.role = "member"
    refused = sam.post(f"/api/claims/{claim_id}/decision", json={"action": "accept"})
    assert refused.status_code == 403


def test_two_secretaries_deciding_at_once_one_wins(web: Web) -> None:
    from concurrent.futures import ThreadPoolExecutor

    claim_id = pending_claim(web, web.signed_in("M1"))
    sam, sue = web.signed_in("S1"), web.signed_in("S2")
    bodies = [(sam, {"action": "accept"}), (sue, {"action": "decline", "reason": "no"})]
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(lambda a: a[0].post(f"/api/claims/{claim_id}/decision", json=a[1]), bodies)
        )
    assert sorted(a.status_code for a in answers) == [200, 409]
    winner = next(a for a in answers if a.status_code == 200).json()
    loser = next(a for a in answers if a.status_code == 409).json()
    assert loser["decided_by"] == winner["decided_by"]
    members_told = [m for m in outbox(web) if m.dedup_key.startswith(f"claim:{claim_id}:")]
    assert (
        len([m for m in members_told if address_of(web.service.engine, m) == "101"]) == 2
    )  # receipt + one decision


def test_a_mail_claim_shows_who_sent_it(web: Web) -> None:
    """``verification`` is the mail's verdict as stored on the claim (None for other channels)."""
    from cpd.claims.intake import Intake, Sender

    outcome = web.service.receive_mail(
        Intake(
            "email",
            "email:<verified-1@example.com>",
            Sender(email="jane@example.com"),
            "boat show today 4 hours",
            web.clock(),
            verification="pass",
            verification_domain="example.com",
        )
    )
    assert outcome.claim is not None
    secretary = web.signed_in("S1")
    shown = secretary.get(f"/api/claims/{outcome.claim.id}").json()
    assert shown["verification"] == "pass" and shown["channel"] == "email"
    member = web.signed_in("M1")
    made = member.post("/api/claims", data={"text": "boat show 4 hours"}).json()
    assert made["verification"] is None
