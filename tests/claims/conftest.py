"""Fixtures for the claims service: members on both backends and a service with a clock."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cpd.claims.members import create_invite, import_members, parse_members_csv
from cpd.claims.service import ClaimsService
from tests.support.extractor import StubExtractor

MEMBERS = """membership_no,name,email,scheme,grade,joined,role
M1,Jane Surveyor,jane@example.com,iims,member,2019-05-01,member
S1,Sam Secretary,sam@example.com,iims,member,2015-01-01,secretary
S2,Sue Secretary,sue@example.com,iims,member,2015-01-01,secretary
T1,Tom Technician,tom@example.com,imi,member,2024-05-01,member
"""
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
SECRETARY_CHAT = -1001


@pytest.fixture
def service(engine: Engine, tmp_path: Path) -> ClaimsService:
    import_members(engine, parse_members_csv(MEMBERS, "iims"))
    svc = ClaimsService(
        engine,
        StubExtractor(),
        tmp_path / "evidence",
        zoneinfo.ZoneInfo("Europe/London"),
        SECRETARY_CHAT,
        clock=lambda: NOW,
    )
    for number, telegram_id in (("M1", 101), ("S1", 201), ("S2", 202), ("T1", 301)):
        token, _ = create_invite(engine, number, dt.timedelta(days=1))
        svc.link_telegram(token, telegram_id)
    return svc
