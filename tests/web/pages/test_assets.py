"""The pages' assets are served by the product itself: in headless Chromium, a page
loads the vendored htmx and the stylesheet from /static, and asks no other host for anything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cpd.storage.database import make_engine, migrate
from tests.support.browser import browser  # noqa: F401  (the fixture)
from tests.web.conftest import Clock, Web, make_service, serve


@pytest.fixture
def sqlite_web(tmp_path: Path) -> Iterator[Web]:
    """The web world on SQLite (page tests need no second database)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cpd.sqlite3'}")
    migrate(engine)
    clock = Clock()
    service = make_service(engine, tmp_path / "evidence", clock)
    server = serve(service)
    try:
        yield Web(service, clock, server)
    finally:
        server.close()
        engine.dispose()


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
