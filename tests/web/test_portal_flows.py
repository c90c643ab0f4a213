"""The member's portal against a real server (httpx, plain form posts as a browser without
JavaScript sends them): the claim form from draft to submit, uploads refused with a clear
message, reflections credited, a dispensation stored, progress, and the downloads."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import httpx

from cpd.claims.intake import Sender
from cpd.storage import reading
from cpd.storage.portal import dispensations_of
from cpd.storage.queries import member_by_number
from tests.web.conftest import Web
from tests.web.portal_world import UPLOAD_LIMIT, form_client, portal_web, token

__all__ = ["portal_web"]  # the fixture

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def draft(client: httpx.Client, text: str, **extra: str) -> int:
    """A draft made through the page's form; its id (from the 303's Location)."""
    answer = client.post(
        "/me/claims/new",
        data={"text": text, "csrf": token(client), **extra},
        files=[("files", ("", b"", "application/octet-stream"))],  # an empty file input
    )
    assert answer.status_code == 303, answer.text
    match = re.fullmatch(r"/me/claims/(\d+)", answer.headers["location"])
    assert match, answer.headers["location"]
    return int(match.group(1))


def test_a_claim_goes_from_the_form_to_a_draft_with_its_rule_then_pending(
    portal_web: Web,
) -> None:
    member = form_client(portal_web, "M1")
    made = member.post(
        "/me/claims/new",
        data={"text": "boat show 4 hours", "date": "2026-11-20", "csrf": token(member)},
        files=[("files", ("../../etc/cert.pdf", PDF, "application/pdf"))],
    )
    assert made.status_code == 303, made.text
    page = member.get(made.headers["location"])
    assert page.status_code == 200
    assert "Claim #" in page.text and "drafted" in page.text  # the notice after the redirect
    assert "Proposed:" in page.text and "Rule:" in page.text
    assert "2026-11-20" in page.text and "cert.pdf" in page.text and "../" not in page.text
    claim_id = int(made.headers["location"].rsplit("/", 1)[1])
    detail = member.get(f"/api/claims/{claim_id}").json()
    assert detail["status"] == "draft" and detail["channel"] == "web"
    assert [e["name"] for e in detail["evidence"]] == ["cert.pdf"]
    # a correction through the same typed changes as the bot's buttons
    changed = member.post(
        f"/me/claims/{claim_id}/change",
        data={"csrf": token(member), "kind": "exhibition", "hours": "5", "date": "2026-11-21"},
    )
    assert changed.status_code == 303
    detail = member.get(f"/api/claims/{claim_id}").json()
    assert detail["hours"] == 5 and detail["start_date"] == "2026-11-21"
    bad = member.post(f"/me/claims/{claim_id}/change", data={"csrf": token(member), "hours": "x"})
    assert bad.status_code == 422 and "hours" in bad.text and "not a number" in bad.text
    future = member.post(
        f"/me/claims/{claim_id}/change", data={"csrf": token(member), "date": "2030-01-01"}
    )
    assert future.status_code == 422 and "future" in future.text
    submitted = member.post(f"/me/claims/{claim_id}/submit", data={"csrf": token(member)})
    assert submitted.status_code == 303
    assert member.get(f"/api/claims/{claim_id}").json()["status"] == "pending"
    history = member.get("/me/claims").text
    assert f"#{claim_id}" in history and "pending" in history
    # the secretary accepts it through the service: the portal shows the points
    secretary = portal_web.service.pending()[0]
    portal_web.service.decide(secretary.id, Sender(membership_no="S1"), "accept_points", 3)
    assert "accepted" in member.get("/me/claims", params={"status": "accepted"}).text
    accepted = member.get(f"/me/claims/{claim_id}").text
    assert "Accepted by Sam Secretary" in accepted and "3 points" in accepted


def test_uploads_refused_with_a_clear_message_and_nothing_stored(portal_web: Web) -> None:
    member = form_client(portal_web, "M2")
    before = len(member.get("/api/claims").json())
    wrong = member.post(
        "/me/claims/new",
        data={"text": "course 2 hours", "csrf": token(member)},
        files=[("files", ("notes.txt", b"hello", "text/plain"))],
    )
    assert wrong.status_code == 415 and "not an image or a PDF" in wrong.text
    assert "<form" in wrong.text  # the form again, with the message
    big = member.post(
        "/me/claims/new",
        data={"text": "course 2 hours", "csrf": token(member)},
        files=[("files", ("big.pdf", b"%PDF" + b"0" * UPLOAD_LIMIT, "application/pdf"))],
    )
    assert big.status_code == 413 and "MB in all" in big.text
    empty = member.post("/me/claims/new", data={"text": " ", "csrf": token(member)}, files=[])
    assert empty.status_code == 422 and "tell us what you did" in empty.text
    bad_date = member.post(
        "/me/claims/new",
        data={"text": "course", "date": "31/02/2026", "csrf": token(member)},
        files=[("files", ("", b"", "application/octet-stream"))],
    )
    assert bad_date.status_code == 422 and "date" in bad_date.text
    assert len(member.get("/api/claims").json()) == before
    # the API names the field in its JSON error
    api = portal_web.signed_in("M2").post(
        "/api/claims",
        data={"text": "course"},
        files=[("files", ("x.exe", b"MZ", "application/x-msdownload"))],
    )
    assert api.status_code == 415 and api.json()["field"] == "files"


def test_reflections_asked_by_the_scheme_are_credited(portal_web: Web) -> None:
    member = form_client(portal_web, "I1")
    page = member.get("/me/reflections").text
    assert "Behaviour and approach" in page and "+2 credits" in page and "+4 credits" in page
    claim_id = draft(member, "course 3 hours yesterday")
    before = member.get(f"/api/claims/{claim_id}").json()
    assert "reflection" in before["needs"]
    refused = member.post(f"/me/claims/{claim_id}/submit", data={"csrf": token(member)})
    assert refused.status_code == 422 and "New knowledge and skills" in refused.text
    empty = member.post(f"/me/reflections/{claim_id}", data={"csrf": token(member)})
    assert empty.status_code == 422 and "reflection" in empty.text
    base = member.post(
        f"/me/reflections/{claim_id}",
        data={"csrf": token(member), "new_knowledge": "Diagnosing hybrid drive faults."},
    )
    assert base.status_code == 303
    plain = member.get(f"/api/claims/{claim_id}").json()["proposed_points"]
    assert plain == 3  # one credit an hour
    saved = member.post(
        f"/me/reflections/{claim_id}",
        data={"csrf": token(member), "behaviour": "I now check the insulation first."},
    )
    assert saved.status_code == 303
    after = member.get(f"/api/claims/{claim_id}").json()
    assert after["proposed_points"] == plain + 2  # the scheme file's credit
    assert after["reflections"]["new_knowledge"] == "Diagnosing hybrid drive faults."
    assert after["reflections"]["behaviour"] == "I now check the insulation first."
    assert "reflection" not in after["needs"]
    notice = member.get("/me/reflections").text
    assert f"now {after['proposed_points']:g} credits" in notice
    assert member.post(f"/me/claims/{claim_id}/submit", data={"csrf": token(member)}).is_redirect


def test_a_dispensation_request_is_stored_once_per_period(portal_web: Web) -> None:
    member = form_client(portal_web, "I1")
    assert "retired or semi-retired" in member.get("/me/dispensation").text
    short = member.post("/me/dispensation", data={"csrf": token(member), "reason": "x"})
    assert short.status_code == 422 and "reason" in short.text
    asked = member.post(
        "/me/dispensation", data={"csrf": token(member), "reason": "Retired since June 2026"}
    )
    assert asked.status_code == 303
    page = member.get("/me/dispensation").text
    assert "requested" in page and "Retired since June 2026" in page
    again = member.post(
        "/me/dispensation", data={"csrf": token(member), "reason": "Retired since June 2026"}
    )
    assert again.status_code == 422 and "already requested" in again.text
    with reading(portal_web.service.engine) as session:
        found = member_by_number(session, "I1")
        assert found is not None and found.id is not None
        rows = dispensations_of(session, found.id)
    assert [(r.status, r.reason) for r in rows] == [("requested", "Retired since June 2026")]
    ibms = form_client(portal_web, "B1")
    assert "has no dispensations" in ibms.get("/me/dispensation").text


def test_progress_says_what_is_needed_by_when(portal_web: Web) -> None:
    iims = portal_web.signed_in("M2").get("/me")
    assert iims.status_code == 200
    assert "31 December 2026" in iims.text and "days left" in iims.text
    assert 'src="/charts/M2.png"' in iims.text
    iim = portal_web.signed_in("N1").get("/me").text
    assert "Category limits this period" in iim and "0 of 10 points" in iim
    ibms = portal_web.signed_in("B1").get("/me").text
    assert "CPD diploma" in ibms and "3 more categories" in ibms
    chart = portal_web.signed_in("N1").get("/charts/N1.png")
    assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")


def test_downloads_are_the_members_record_and_evidence(portal_web: Web) -> None:
    member = form_client(portal_web, "B1")
    claim_id = draft(member, "read a journal article yesterday")
    path = f"/me/claims/{claim_id}"
    upload = portal_web.signed_in("B1").post(
        "/api/claims",
        data={"text": "course today 2 hours"},
        files=[("files", ('..\\..\\evil"name.png', b"\x89PNG\r\n\x1a\n0000", "image/png"))],
    )
    assert upload.status_code == 201
    pdf = member.get("/me/record.pdf", params={"period": "all"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(member.get("/me/record.csv").text)))
    assert {int(r["claim_id"]) for r in rows} >= {claim_id}
    assert member.get("/me/record.csv", params={"period": "ever"}).status_code == 422
    archive = zipfile.ZipFile(io.BytesIO(member.get("/me/evidence.zip").content))
    names = archive.namelist()
    assert "README.txt" in names
    [evidence] = [n for n in names if n != "README.txt"]
    assert evidence.startswith(f"claim-{upload.json()['id']}/") and ".." not in evidence
    assert evidence.count("/") == 1 and "\\" not in evidence
    assert member.get(path).status_code == 200
