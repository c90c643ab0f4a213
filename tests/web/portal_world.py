"""A module-scoped web world for the portal's tests: the members of tests/web/conftest.py
plus one member of each other scheme, on SQLite, served by a real uvicorn on 127.0.0.1 with a
small upload limit (so that "too big" needs only a few megabytes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cpd.claims.members import import_members, parse_members_csv
from cpd.storage.database import make_engine, migrate
from cpd.web.app import create_app
from cpd.web.config import WebConfig
from tests.web.conftest import Clock, ServerThread, Web, make_service

OTHER_SCHEMES = """membership_no,name,email,scheme,grade,joined,role
I1,Ian Motor,ian@example.com,imi,member,2024-04-10,member
N1,Nia Records,nia@example.com,iim,professional,2018-02-01,member
B1,Bea Science,bea@example.com,ibms,member,2021-06-01,member
"""
UPLOAD_LIMIT = 2 * 2**20


def csrf_of(client: httpx.Client) -> str:
    """The signed-in client's CSRF token."""
    return str(client.headers["X-CSRF-Token"])


def form_client(web: Web, membership_no: str) -> httpx.Client:
    """A signed-in client that, like a browser's plain form, sends no CSRF header (the token
    goes in the form's hidden ``csrf`` field)."""
    client = web.signed_in(membership_no)
    client.headers["X-Portal-Token"] = client.headers.pop("X-CSRF-Token")
    return client


def token(client: httpx.Client) -> str:
    """The token a form client puts in its forms."""
    return str(client.headers["X-Portal-Token"])


@pytest.fixture(scope="module")
def portal_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """The portal's world on SQLite, one per test module."""
    directory: Path = tmp_path_factory.mktemp("portal")
    engine = make_engine(f"sqlite:///{directory / 'cpd.sqlite3'}")
    migrate(engine)
    clock = Clock()
    service = make_service(engine, directory / "evidence", clock)
    import_members(engine, parse_members_csv(OTHER_SCHEMES, "iims"))
    config = WebConfig(
        host="127.0.0.1",
        port=0,
        base_url="http://127.0.0.1",
        secret_key="p" * 48,
        max_upload_bytes=UPLOAD_LIMIT,
    )
    server = ServerThread(create_app(service, config))
    world = Web(service, clock, server)
    try:
        yield world
    finally:
        for client in world.clients:
            client.close()
        server.close()
        engine.dispose()
