"""The pages' assets are served by the product itself: in headless Chromium, a page
loads the vendored htmx and the stylesheet from /static, and asks no other host for anything."""

from __future__ import annotations

from typing import Any

from tests.support.browser import browser  # noqa: F401  (the fixture)
from tests.web.conftest import Web


def test_a_page_runs_the_vendored_htmx_and_nothing_else(
    sqlite_web: Web,
    browser: Any,  # noqa: F811
) -> None:
    context = browser.new_context()
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.goto(sqlite_web.url + "/")  # the start page (signed in, one is sent on to /desk)
    page.wait_for_load_state("load")
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("htmx.version") == "2.0.11"
    assert "CPD Claims Assistant" in page.title()
    assert page.locator("header.site .brand").inner_text() == "CPD Claims Assistant"
    assert all(url.startswith(sqlite_web.url) for url in requested), requested
    assert any(url.endswith("/static/site.css") for url in requested)
    context.close()
