"""Fixtures for the mail channel: a real claims service on SQLite with a member and a secretary."""

from __future__ import annotations

import zoneinfo
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cpd.claims.members import import_members, parse_members_csv
from cpd.claims.service import ClaimsService
from tests.mail_ingest.tls_certs import TlsFiles, make_ca_and_cert
from tests.support.extractor import StubExtractor

MEMBERS = """membership_no,name,email,scheme,grade,joined,role
M1,Jane Surveyor,jane@example.com,iims,member,2019-05-01,member
S1,Sam Secretary,sam@example.com,iims,member,2015-01-01,secretary
"""
MEMBER_EMAIL = "jane@example.com"
SECRETARY_CHAT = -1001


@pytest.fixture
def service(sqlite_engine: Engine, tmp_path: Path) -> ClaimsService:
    """A claims service on a migrated SQLite database under ``tmp_path``, on the real clock.

    Members: M1 Jane Surveyor <jane@example.com> (IIMS) and S1, a secretary
    <sam@example.com>; the secretaries' chat is ``SECRETARY_CHAT``.
    """
    import_members(sqlite_engine, parse_members_csv(MEMBERS, "iims"))
    return ClaimsService(
        sqlite_engine,
        StubExtractor(),
        tmp_path / "evidence",
        zoneinfo.ZoneInfo("Europe/London"),
        SECRETARY_CHAT,
    )


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A CA and a server certificate for 127.0.0.1/localhost it signed (once per run)."""
    return make_ca_and_cert(tmp_path_factory.mktemp("tls"))
