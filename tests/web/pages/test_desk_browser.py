"""The secretary's desk in real headless Chromium: a secretary signs in by link, sorts and
filters the queue (htmx swaps the table and pushes the URL), opens a claim with a photo,
declines one with a reason and accepts another; the member's notices are in the outbox and
the claims' states in the database. Saves the desk's screenshots (see
tests/support/browser.screenshot_dir; 1280 wide, and a 390-wide phone), and checks the
phone page does not scroll sideways."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from cpd.claims.intake import Attachment
from tests.support.browser import browser, screenshot_dir  # noqa: F401  (the fixture)
from tests.web.conftest import Web
from tests.web.desk_helpers import (
    jpeg,
    outbox,
    pending,
    status_of,
    to,
)

DAY = dt.timedelta(days=1)


def rows(page: Any) -> list[int]:
    """The claim ids the queue's table shows, in order."""
    return [
        int(i)
        for i in page.locator("#queue-table tr[data-claim]").evaluate_all(
            "rows => rows.map(r => r.dataset.claim)"
        )
    ]


def test_a_secretary_works_the_queue_in_a_browser(
    sqlite_web: Web,  # noqa: F811
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    web = sqlite_web
    photo = Attachment(data=jpeg(1200, 900, "#2a6f97"), content_type="image/jpeg", name="stand.jpg")
    show = pending(
        web, "M1", "Southampton boat show today 6 hours", "telegram", (photo,), age=9 * DAY
    )
    webinar = pending(web, "M1", "IIMS webinar on hull surveys today 2 hours", "web", age=6 * DAY)
    course = pending(web, "M2", "course on moisture meters yesterday 3 hours", age=4 * DAY)
    reading = pending(web, "M1", "read the standards journal today 1 hours", "email", age=DAY)
    shots = screenshot_dir(tmp_path)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(web.url + web.link("S1"))
    page.goto(web.url + "/desk")
    assert "Queue" in page.title() and "CPD Claims Assistant" in page.title()
    assert rows(page) == [show, webinar, course, reading]  # oldest first
    page.screenshot(path=str(shots / "desk-queue.png"), full_page=True)

    page.select_option("#f-sort", "newest")
    page.wait_for_url("**/desk?*sort=newest*")
    page.wait_for_function(
        f"document.querySelector('#queue-table tr[data-claim]').dataset.claim == {reading}"
    )
    assert rows(page) == [reading, course, webinar, show]
    page.select_option("#f-kind", "exhibition")
    page.wait_for_url("**kind=exhibition**")
    page.wait_for_function("document.querySelectorAll('#queue-table tr[data-claim]').length == 1")
    assert rows(page) == [show]
    page.fill("#f-q", "mark")
    page.select_option("#f-kind", "")
    page.wait_for_url("**q=mark**")
    page.wait_for_function("document.querySelectorAll('#queue-table tr[data-claim]').length == 1")
    assert rows(page) == [course]
    page.go_back()  # hx-push-url: the browser's history holds each filter
    page.wait_for_url("**kind=exhibition**")

    page.goto(web.url + "/desk")
    page.click(f"#queue-table tr[data-claim='{show}'] td:nth-child(2) a")
    page.wait_for_url(f"**/desk/claims/{show}")
    thumb = page.locator("ul.evidence img").first
    thumb.wait_for()
    page.wait_for_function("document.querySelector('ul.evidence img').naturalWidth > 0")
    assert thumb.evaluate("img => img.naturalWidth") == 480
    assert "Rule" in page.inner_text("#claim") and "If accepted now" in page.inner_text("#claim")
    page.screenshot(path=str(shots / "desk-claim.png"), full_page=True)

    page.fill("#reason", "Please attach the show's attendance certificate.")
    page.click("button.danger")
    page.wait_for_selector("#claim .status-declined")
    assert f"Claim #{show}: declined." in page.inner_text("#claim")

    page.goto(web.url + f"/desk/claims/{webinar}")
    page.focus("#accept")
    page.keyboard.press("Enter")  # a keyboard user decides too
    page.wait_for_selector("#claim .status-accepted")
    context.close()

    assert [status_of(web, c) for c in (show, webinar, course, reading)] == [
        "declined",
        "accepted",
        "pending",
        "pending",
    ]
    told = {m.dedup_key: m for m in outbox(web) if to(web, m) == "101"}
    declined = told[f"claim:{show}:declined:telegram"].payload["text"]
    assert "attendance certificate" in declined
    assert f"claim:{webinar}:accepted:telegram" in told

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    small = phone.new_page()
    small.goto(web.url + web.link("S1"))
    small.goto(web.url + "/desk")
    assert rows(small) == [course, reading]
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    small.screenshot(path=str(shots / "desk-phone.png"), full_page=True)
    small.goto(web.url + f"/desk/claims/{course}")
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    phone.close()
