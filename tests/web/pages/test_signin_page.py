"""The sign-in page in headless Chromium on a phone-sized (390 px) screen: reached and sent
by keyboard alone, no sideways scrolling, the body's name shown, and a mailed link that signs
in and lands on the user's start."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from cpd.storage import OutboxMessage
from tests.support.browser import browser  # noqa: F401  (the fixture)
from tests.support.outbox import address_of
from tests.web.conftest import Web

PHONE = {"width": 390, "height": 844}


def test_sign_in_by_keyboard_on_a_phone(sqlite_web: Web, browser: Any) -> None:  # noqa: F811
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(sqlite_web.url + "/")
    assert "CPD Claims Assistant" in page.title()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for _ in range(6):  # the skip link, the brand, then the address field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "email":
            break
    assert page.evaluate("document.activeElement.id") == "email"
    assert page.locator("label[for=email]").inner_text() == "Your mail address"
    page.keyboard.type("jane@example.com")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Check your mail")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    engine = sqlite_web.service.engine
    with Session(engine) as session:
        query = select(OutboxMessage).where(col(OutboxMessage.dedup_key).startswith("web-signin:"))
        rows = list(session.execute(query).scalars())
    [mail] = [m for m in rows if address_of(engine, m) == "jane@example.com"]
    found = re.search(r"/signin/[A-Za-z0-9_-]+", mail.payload["text"])
    assert found
    page.goto(sqlite_web.url + found.group(0))
    assert page.url.endswith("/me")  # a member starts on their own record
    again = context.new_page()
    again.goto(sqlite_web.url + found.group(0))
    assert again.locator("[role=alert]").inner_text().startswith("That sign-in link cannot")
    context.close()
