"""Sign-in links: single use, 15 minutes, cookie flags, sessions, CSRF on sign-out."""

from __future__ import annotations

import datetime as dt

from tests.web.conftest import Web, serve


def test_a_link_signs_in_once_and_sets_a_safe_cookie(web: Web) -> None:
    client = web.client()
    path = web.link("M1")
    first = client.get(path)
    assert first.status_code == 303 and first.headers["location"] == "/"
    cookie = first.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    me = client.get("/api/me").json()
    assert me["membership_no"] == "M1" and me["role"] == "member" and me["name"] == "Jane Surveyor"
    assert len(me["csrf"]) >= 20
    again = web.client().get(path)
    assert again.status_code == 401 and "used already" in again.text


def test_an_expired_link_is_refused(web: Web) -> None:
    path = web.link("S1")
    web.clock.now += dt.timedelta(minutes=15, seconds=1)
    answer = web.client().get(path)
    assert answer.status_code == 401 and "expired" in answer.text


def test_a_link_just_inside_fifteen_minutes_works(web: Web) -> None:
    path = web.link("S1")
    web.clock.now += dt.timedelta(minutes=14, seconds=59)
    assert web.client().get(path).status_code == 303


def test_an_unknown_link_and_no_session_are_refused(web: Web) -> None:
    client = web.client()
    assert client.get("/signin/not-a-token").status_code == 401
    answer = client.get("/api/me")
    assert answer.status_code == 401 and "error" in answer.json()
    assert client.get("/api/claims").status_code == 401


def test_a_forged_cookie_is_no_session(web: Web) -> None:
    client = web.client()
    client.cookies.set("cpd_session", "eyJtZW1iZXJfaWQiOiAxfQ==.forged.sig")
    assert client.get("/api/me").status_code == 401


def test_sign_out_needs_the_csrf_token_and_ends_the_session(web: Web) -> None:
    client = web.signed_in("M1")
    token = client.headers.pop("X-CSRF-Token")
    assert client.post("/signout").status_code == 403
    assert client.post("/signout", headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.get("/api/me").status_code == 200
    done = client.post("/signout", headers={"X-CSRF-Token": token, "Accept": "application/json"})
    assert done.status_code == 204
    assert client.get("/api/me").status_code == 401


def test_cookies_are_secure_when_the_public_url_is_https(web: Web) -> None:
    server = serve(web.service, base_url="https://cpd.example.org")
    try:
        import httpx

        with httpx.Client(base_url=server.url) as client:
            answer = client.get(web.link("M1"))
            assert answer.status_code == 303
            assert "secure" in answer.headers["set-cookie"].lower()
    finally:
        server.close()


def test_the_start_page_sends_each_role_to_its_own_start(web: Web) -> None:
    secretary = web.signed_in("S1").get("/")
    assert secretary.status_code == 303 and secretary.headers["location"] == "/desk"
    member = web.signed_in("M1").get("/")
    assert member.status_code == 303 and member.headers["location"] == "/me"
    anonymous = web.client().get("/")
    assert anonymous.status_code == 200 and "Sign in" in anonymous.text
    assert 'action="/signin"' in anonymous.text and 'name="email"' in anonymous.text
