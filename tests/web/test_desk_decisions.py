"""Decisions from the desk's forms against a real server, on SQLite and PostgreSQL: the CSRF
token, the member told and the Telegram card edited exactly as after a tap in chat, a chat
decision shown on the desk, two secretaries at once, and bulk decisions (each claim on its
own)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from cpd.claims.intake import Sender
from tests.web.conftest import SECRETARY_CHAT, Web
from tests.web.desk_helpers import listed, outbox, pending, status_of, to


def form(client: httpx.Client, **fields: str) -> dict[str, str]:
    """A page's form fields with the session's CSRF token."""
    return {"csrf": client.headers["X-CSRF-Token"], **fields}


def test_a_decision_form_needs_the_token_and_tells_the_member(web: Web) -> None:
    claim_id = pending(web, "M1", channel="telegram")
    sam = web.signed_in("S1")
    bare = httpx.Client(base_url=web.url, cookies=sam.cookies, timeout=20)
    try:
        for fields in ({"action": "accept"}, {"action": "accept", "csrf": "wrong"}):
            refused = bare.post(f"/desk/claims/{claim_id}/decision", data=fields)
            assert refused.status_code == 403, refused.text
        assert bare.post("/desk/decisions", data={"claim_id": str(claim_id)}).status_code == 403
    finally:
        bare.close()
    assert status_of(web, claim_id) == "pending"

    no_reason = sam.post(f"/desk/claims/{claim_id}/decision", data=form(sam, action="decline"))
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    done = sam.post(
        f"/desk/claims/{claim_id}/decision",
        data=form(sam, action="decline", reason="No certificate attached"),
    )
    assert done.status_code == 303 and done.headers["location"] == f"/desk/claims/{claim_id}"
    assert status_of(web, claim_id) == "declined"
    rows = {m.dedup_key: m for m in outbox(web)}
    told = rows[f"claim:{claim_id}:declined:telegram"]
    assert to(web, told) == "101" and "No certificate attached" in told.payload["text"]
    card = rows[f"claim:{claim_id}:card-final"]
    assert card.template == "card_update" and to(web, card) == str(SECRETARY_CHAT)
    page = sam.get(f"/desk/claims/{claim_id}")
    assert "declined" in page.text and "Sam Secretary" in page.text


def test_other_points_and_a_decision_in_chat_shows_on_the_desk(web: Web) -> None:
    first = pending(web, "M1", channel="telegram")
    second = pending(web, "M1", channel="telegram")
    sam = web.signed_in("S1")
    page = sam.get(f"/desk/claims/{first}")
    assert 'name="action" value="accept_points"' in page.text and "If accepted now" in page.text
    assert (
        sam.post(
            f"/desk/claims/{first}/decision", data=form(sam, action="accept_points", points="")
        ).status_code
        == 422
    )  # other points, none given
    done = sam.post(
        f"/desk/claims/{first}/decision", data=form(sam, action="accept_points", points="2.5")
    )
    assert done.status_code == 303
    assert web.service.claim(first).awarded_points == 2.5

    web.service.decide(second, Sender(telegram_user_id=202), "accept")  # Sue taps in chat
    shown = sam.get(f"/desk/claims/{second}")
    assert "accepted" in shown.text and "by Sue Secretary" in shown.text
    assert 'id="accept"' not in shown.text  # no decision buttons on a decided claim
    assert str(second) not in listed(sam.get("/desk").text)


def test_two_secretaries_at_once_one_wins_the_other_sees_who(web: Web) -> None:
    claim_id = pending(web, "M1", channel="telegram")
    sam, sue = web.signed_in("S1"), web.signed_in("S2")
    posts = [
        (sam, form(sam, action="accept")),
        (sue, form(sue, action="decline", reason="not CPD")),
    ]
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(lambda p: p[0].post(f"/desk/claims/{claim_id}/decision", data=p[1]), posts)
        )
    assert sorted(a.status_code for a in answers) == [303, 409]
    late = next(a for a in answers if a.status_code == 409)
    winner = "Sam Secretary" if answers[0].status_code == 303 else "Sue Secretary"
    assert f"Already decided by {winner}" in late.text
    decisions = [
        m
        for m in outbox(web)
        if m.dedup_key.startswith(f"claim:{claim_id}:") and to(web, m) == "101"
    ]
    assert len(decisions) == 2  # the receipt and one decision


def test_a_bulk_decision_decides_each_and_lists_the_late_ones(web: Web) -> None:
    ids = [pending(web, "M1", f"webinar {n} today 1 hours", "telegram") for n in range(3)]
    sam, sue = web.signed_in("S1"), web.signed_in("S2")
    early = sue.post(f"/api/claims/{ids[1]}/decision", json={"action": "decline", "reason": "x"})
    assert early.status_code == 200

    no_reason = sam.post(
        "/desk/decisions",
        data=form(sam, action="decline", back="/desk") | {"claim_id": str(ids[0])},
    )
    assert no_reason.status_code == 303 and status_of(web, ids[0]) == "pending"

    fields = form(sam, action="accept", back="/desk?kind=training")
    answer = sam.post("/desk/decisions", data={**fields, "claim_id": [str(i) for i in ids]})
    assert answer.status_code == 303 and answer.headers["location"] == "/desk?kind=training"
    assert [status_of(web, i) for i in ids] == ["accepted", "declined", "accepted"]
    queue = sam.get("/desk?kind=training")
    assert "2 of 3 claim(s) accepted." in queue.text
    assert f"#{ids[1]} was already decided by Sue Secretary" in queue.text
    told = {m.dedup_key for m in outbox(web) if to(web, m) == "101"}
    assert {f"claim:{i}:accepted:telegram" for i in (ids[0], ids[2])} <= told
    assert f"claim:{ids[1]}:accepted:telegram" not in told
    assert "already decided" not in sam.get("/desk").text  # the note is shown once
