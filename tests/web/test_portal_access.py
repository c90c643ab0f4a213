"""The portal's role rules against a real server, on SQLite and PostgreSQL: a member never
sees or changes another's claim, record, chart or evidence (404, nothing told), and every
form post without the session's CSRF token is refused (403) with nothing changed."""

from __future__ import annotations

import csv
import io
import zipfile

from tests.web.conftest import Web
from tests.web.portal_world import form_client, token

PNG = b"\x89PNG\r\n\x1a\n" + b"1" * 64


def test_a_member_never_reaches_anothers_claim_chart_record_or_evidence(web: Web) -> None:
    owner = web.signed_in("M1")
    made = owner.post(
        "/api/claims",
        data={"text": "boat show today 4 hours"},
        files=[("files", ("boat.png", PNG, "image/png"))],
    )
    assert made.status_code == 201, made.text
    claim_id = made.json()["id"]
    other = form_client(web, "M2")
    assert other.get(f"/me/claims/{claim_id}").status_code == 404
    for action, data in (
        ("change", {"hours": "9"}),
        ("submit", {}),
        ("withdraw", {}),
    ):
        answer = other.post(f"/me/claims/{claim_id}/{action}", data={"csrf": token(other), **data})
        assert answer.status_code == 404, (action, answer.text)
    assert (
        other.post(
            f"/me/reflections/{claim_id}", data={"csrf": token(other), "new_knowledge": "mine"}
        ).status_code
        == 404
    )
    assert other.get("/charts/M1.png").status_code == 404
    assert other.get("/charts/NOBODY.png").status_code == 404
    own_chart = other.get("/charts/M2.png")
    assert own_chart.status_code == 200 and own_chart.content.startswith(b"\x89PNG")
    assert own_chart.headers["cache-control"] == "private, no-store"
    assert f"#{claim_id}" not in other.get("/me/claims").text
    rows = list(csv.DictReader(io.StringIO(other.get("/me/record.csv").text)))
    assert rows == []
    names = zipfile.ZipFile(io.BytesIO(other.get("/me/evidence.zip").content)).namelist()
    assert names == ["README.txt"]
    mine = zipfile.ZipFile(io.BytesIO(owner.get("/me/evidence.zip").content))
    [file] = [n for n in mine.namelist() if n != "README.txt"]
    assert mine.read(file) == PNG
    # a secretary sees any member's chart (the desk's member record), not their claims here
    secretary = web.signed_in("S1")
    assert secretary.get("/charts/M1.png").status_code == 200
    assert secretary.get(f"/me/claims/{claim_id}").status_code == 404
    # the owner's draft is untouched
    detail = owner.get(f"/api/claims/{claim_id}").json()
    assert detail["status"] == "draft" and detail["hours"] == 4
    # and nobody signed in gets nothing
    anonymous = web.client()
    for path in ("/me", "/me/claims", "/charts/M1.png", "/me/record.pdf", "/me/evidence.zip"):
        assert anonymous.get(path).status_code == 401, path


def test_every_portal_form_post_needs_the_csrf_token(web: Web) -> None:
    member = form_client(web, "M1")
    made = web.signed_in("M1").post("/api/claims", data={"text": "course today 2 hours"})
    claim_id = made.json()["id"]
    posts = (
        ("/me/claims/new", {"text": "boat show today 3 hours"}, True),
        (f"/me/claims/{claim_id}/change", {"hours": "7"}, False),
        (f"/me/claims/{claim_id}/submit", {}, False),
        (f"/me/claims/{claim_id}/withdraw", {}, False),
        (f"/me/reflections/{claim_id}", {"new_knowledge": "learnt"}, False),
        ("/me/dispensation", {"reason": "retired since June"}, False),
    )
    for path, data, multipart in posts:
        for csrf in ("", "wrong-token"):
            files = [("files", ("", b"", "application/octet-stream"))] if multipart else None
            answer = member.post(path, data={**data, "csrf": csrf}, files=files)
            assert answer.status_code == 403, (path, csrf, answer.text)
    claims = web.signed_in("M1").get("/api/claims").json()
    assert [(c["id"], c["status"], c["hours"]) for c in claims] == [(claim_id, "draft", 2)]
    assert "requested" not in member.get("/me/dispensation").text
    # the right token works
    assert member.post(
        f"/me/claims/{claim_id}/change", data={"csrf": token(member), "hours": "7"}
    ).is_redirect
