"""One-click unsubscribe (RFC 8058) on the real web server: the POST a mail client sends mutes
the member everywhere without a session; opening the link (GET) changes nothing; a forged or
another purpose's token changes nothing."""

from __future__ import annotations

from sqlmodel import Session

from cpd.claims import mail_tokens
from cpd.storage import Member
from cpd.storage.queries import member_by_number
from tests.web.conftest import Web

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def _muted(web: Web, number: str) -> bool:
    with Session(web.service.engine) as session:
        member = member_by_number(session, number)
        assert isinstance(member, Member)
        return member.nudges_muted


def _token(web: Web, number: str, purpose: str = mail_tokens.UNSUBSCRIBE) -> str:
    with Session(web.service.engine) as session:
        member = member_by_number(session, number)
        assert member is not None and member.id is not None
        member_id = member.id
    return mail_tokens.load(web.service.engine).make(purpose, member_id)


def test_the_one_click_post_mutes_without_a_session_and_opening_the_link_does_not(
    web: Web,
) -> None:
    token = _token(web, "M1")
    client = web.client()
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and "Stop CPD reminders?" in page.text
    assert not _muted(web, "M1")  # a scanner opening the link unsubscribes nobody
    answer = client.post(f"/unsubscribe/{token}", data=ONE_CLICK)
    assert answer.status_code == 200 and "Reminders stopped" in answer.text
    assert _muted(web, "M1")
    again = client.post(f"/unsubscribe/{token}", data=ONE_CLICK)  # repeating is harmless
    assert again.status_code == 200 and _muted(web, "M1")


def test_a_forged_or_wrong_purpose_token_changes_nothing(web: Web) -> None:
    client = web.client()
    real = _token(web, "M1")
    forged = real[:-1] + ("0" if real[-1] != "0" else "1")
    bounce_token = _token(web, "M1", mail_tokens.BOUNCES)
    for token in (forged, bounce_token, "1-" + "a" * 20, "x" * 500):
        answer = client.post(f"/unsubscribe/{token}", data=ONE_CLICK)
        assert answer.status_code == 404, token
        assert "not valid" in answer.text
    assert not _muted(web, "M1")
