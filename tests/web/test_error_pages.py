"""A browser asking for a page gets a page: no session sends it to sign in, a refusal is said in
words with the body's name; the JSON API keeps answering JSON."""

from __future__ import annotations

from tests.web.conftest import Web

PAGE = {"Accept": "text/html,application/xhtml+xml"}


def test_pages_without_a_session_go_to_sign_in_and_the_api_answers_401(sqlite_web: Web) -> None:
    client = sqlite_web.client()
    for path in ("/me", "/me/claims", "/desk", "/desk/members", "/evidence/1/1"):
        answer = client.get(path, headers=PAGE)
        assert (answer.status_code, answer.headers.get("location")) == (303, "/"), path
    api = client.get("/api/claims", headers=PAGE)
    assert api.status_code == 401 and api.json()["error"]


def test_a_member_on_the_desk_gets_a_page_saying_no(sqlite_web: Web) -> None:
    member = sqlite_web.signed_in("M1")
    answer = member.get("/desk", headers=PAGE)
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "CPD Claims Assistant" in answer.text and "Not for you" in answer.text
    missing = member.get("/me/claims/999999", headers=PAGE)
    assert missing.status_code == 404 and "Not found" in missing.text
    assert member.get("/desk").headers["content-type"].startswith("application/json")
