"""The API's remaining rules: every user mistake is a 4xx naming the field (never a 500),
and the role rules not covered in test_api.py."""

from __future__ import annotations

import pytest

from tests.web.conftest import Web
from tests.web.test_api import pending_claim


@pytest.mark.parametrize(
    "path, field",
    [
        ("/api/claims/99999999999999999999", "claim_id"),
        ("/api/claims/0", "claim_id"),
        ("/api/claims?offset=99999999999999999999", "offset"),
        ("/api/claims?limit=100000", "limit"),
        ("/api/claims?offset=-1", "offset"),
    ],
)
def test_numbers_out_of_range_are_422_naming_them(web: Web, path: str, field: str) -> None:
    answer = web.signed_in("S1").get(path)
    assert answer.status_code == 422 and answer.json()["field"] == field, answer.text


def test_bad_decision_bodies_are_4xx_naming_the_field(web: Web) -> None:
    claim_id = pending_claim(web, web.signed_in("M1"))
    sam = web.signed_in("S1")
    url = f"/api/claims/{claim_id}/decision"
    for body, field in (
        ('{"action": "decline", "reason": "   "}', "reason"),
        ('{"action": "decline"}', "reason"),
        ('{"action": "accept", "points": 1e999}', "points"),
        ('{"action": "accept", "points": 1001}', "points"),
        ('{"action": "accept", "by": "me"}', "by"),
    ):
        answer = sam.post(url, content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 422 and answer.json()["field"] == field, (body, answer.text)
    not_json = sam.post(url, content="accept!", headers={"content-type": "application/json"})
    assert not_json.status_code == 422 and "not valid JSON" in not_json.json()["error"]
    huge = sam.post("/api/claims/99999999999999999999/decision", json={"action": "accept"})
    assert huge.status_code == 422 and huge.json()["field"] == "claim_id"
    assert sam.get(f"/api/claims/{claim_id}").json()["status"] == "pending"


def test_a_draft_cannot_be_decided_and_only_its_member_submits_it(web: Web) -> None:
    jane = web.signed_in("M1")
    draft = jane.post("/api/claims", data={"text": "boat show 4 hours"}).json()["id"]
    sam = web.signed_in("S1")
    early = sam.post(f"/api/claims/{draft}/decision", json={"action": "accept"})
    assert early.status_code == 422 and "not been submitted" in early.json()["error"]
    assert sam.post(f"/api/claims/{draft}/submit").status_code == 404
    assert web.signed_in("M2").post(f"/api/claims/{draft}/submit").status_code == 404
    assert jane.get(f"/api/claims/{draft}").json()["status"] == "draft"


def test_without_a_session_nothing_is_read_or_changed(web: Web) -> None:
    claim_id = pending_claim(web, web.signed_in("M1"))
    anonymous = web.client()
    assert anonymous.get(f"/api/claims/{claim_id}").status_code == 401
    assert anonymous.get("/api/members/M1/standing").status_code == 401
    decided = anonymous.post(f"/api/claims/{claim_id}/decision", json={"action": "accept"})
    assert decided.status_code == 401
    assert anonymous.post("/api/claims", data={"text": "boat show"}).status_code == 401


def test_a_member_never_reads_another_members_claim_history(web: Web) -> None:
    mark_claim = pending_claim(web, web.signed_in("M2"), "webinar 2 hours")
    jane = web.signed_in("M1")
    hidden = jane.get(f"/api/claims/{mark_claim}")
    assert hidden.status_code == 404 and "webinar" not in hidden.text
    listed = jane.get("/api/claims", params={"member": "M2", "status": "pending"})
    assert listed.json() == []
    refused = jane.post(
        f"/api/claims/{mark_claim}/decision", json={"action": "decline", "reason": "mine now"}
    )
    assert refused.status_code == 403
    assert web.signed_in("S1").get(f"/api/claims/{mark_claim}").json()["status"] == "pending"
