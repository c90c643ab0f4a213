"""A real web server (uvicorn on 127.0.0.1, a loop in a thread of its own) on the claims
service, on SQLite and PostgreSQL; httpx clients signed in by real sign-in links."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from cpd.claims.members import create_invite, import_members, parse_members_csv
from cpd.claims.service import ClaimsService
from cpd.claims.web_access import create_link
from cpd.storage.database import make_engine, migrate
from cpd.web.app import create_app
from cpd.web.config import WebConfig
from cpd.web.server import WebServer, start_web
from tests.support.extractor import StubExtractor

MEMBERS = """membership_no,name,email,scheme,grade,joined,role
M1,Jane Surveyor,jane@example.com,iims,member,2019-05-01,member
M2,Mark Mariner,,iims,member,2020-03-01,member
S1,Sam Secretary,sam@example.com,iims,member,2015-01-01,secretary
S2,Sue Secretary,sue@example.com,iims,member,2015-01-01,secretary
"""
START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
SECRETARY_CHAT = -1001


@dataclass
class Clock:
    """A clock the test moves."""

    now: dt.datetime = START

    def __call__(self) -> dt.datetime:
        return self.now


class ServerThread:
    """An event loop in a thread, serving the app until ``close``."""

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: WebServer = asyncio.run_coroutine_threadsafe(
            start_web(app, "127.0.0.1", 0), self.loop
        ).result(15)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.server.port}"

    def close(self) -> None:
        """Stop the server and the loop."""
        asyncio.run_coroutine_threadsafe(self.server.stop(5), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@dataclass
class Web:
    """The service, its clock, and the running server."""

    service: ClaimsService
    clock: Clock
    server: ServerThread
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self.server.url

    def link(self, membership_no: str) -> str:
        """A fresh sign-in path for the member."""
        token, _ = create_link(self.service.engine, membership_no, now=self.clock())
        return f"/signin/{token}"

    def client(self) -> httpx.Client:
        """A client with no session."""
        client = httpx.Client(base_url=self.url, timeout=20)
        self.clients.append(client)
        return client

    def signed_in(self, membership_no: str) -> httpx.Client:
        """A client signed in by a link, with its CSRF token as a default header."""
        client = self.client()
        answer = client.get(self.link(membership_no))
        assert answer.status_code == 303, answer.text
        me = client.get("/api/me")
        assert me.status_code == 200, me.text
        client.headers["X-CSRF-Token"] = me.json()["csrf"]
        return client


def make_service(engine: Engine, evidence_dir: Path, clock: Clock) -> ClaimsService:
    """Members imported (M1 and the secretaries on Telegram, M2 by no channel but the web)."""
    import_members(engine, parse_members_csv(MEMBERS, "iims"))
    service = ClaimsService(
        engine,
        StubExtractor(),
        evidence_dir,
        zoneinfo.ZoneInfo("Europe/London"),
        SECRETARY_CHAT,
        clock=clock,
    )
    for number, telegram_id in (("M1", 101), ("S1", 201), ("S2", 202)):
        token, _ = create_invite(engine, number, dt.timedelta(days=1))
        service.link_telegram(token, telegram_id)
    return service


def serve(service: ClaimsService, base_url: str = "http://127.0.0.1") -> ServerThread:
    """Start a real server on a free port for the service."""
    config = WebConfig(host="127.0.0.1", port=0, base_url=base_url, secret_key="k" * 48)
    return ServerThread(create_app(service, config))


@contextlib.contextmanager
def running_web(engine: Engine, tmp_path: Path) -> Iterator[Web]:
    """The service on ``engine`` and a real server for it, stopped (clients closed) after."""
    clock = Clock()
    service = make_service(engine, tmp_path / "evidence", clock)
    server = serve(service)
    world = Web(service, clock, server)
    try:
        yield world
    finally:
        for client in world.clients:
            client.close()
        server.close()


@pytest.fixture
def web(engine: Engine, tmp_path: Path) -> Iterator[Web]:
    with running_web(engine, tmp_path) as world:
        yield world


@pytest.fixture
def sqlite_web(tmp_path: Path) -> Iterator[Web]:
    """The web world on SQLite alone (for pages whose SQL the two-database tests cover)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cpd.sqlite3'}")
    migrate(engine)
    try:
        with running_web(engine, tmp_path) as world:
            yield world
    finally:
        engine.dispose()
