"""Auto-approval with spot checks (issue 15): off unless the scheme file turns it on; a claim
matching one of the body's events is accepted at once with the event's points and audited
(``auto_accept``), a seeded 1 in 20 still goes to the secretary, and ``cpd events import``
takes the events."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from cpd import rules
from cpd.claims import desk_reports, web_claims
from cpd.claims.auto_approval import spot_checked
from cpd.claims.events import import_events, parse_events_csv
from cpd.claims.intake import Intake, Sender
from cpd.claims.service import ClaimsService
from cpd.claims.web_access import WebUser
from cpd.rules import InputError
from cpd.rules.scheme import AutoApproval
from cpd.storage import AuditEntry, OutboxMessage
from tests.claims.conftest import NOW
from tests.support.cli import run_cpd

JANE = Sender(101)
EVENTS = """title,date,points,kind
IIMS Training Day,2026-11-23,5,training
Southampton Boat Show,2026-11-23,1,exhibition
"""
SECRETARY = WebUser(member_id=2, membership_no="S1", name="Sam", role="secretary")


@pytest.fixture
def auto_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The IIMS scheme with ``auto_approval: {enabled: true}`` (the shipped files leave it off)."""
    original = rules.load_scheme

    def load(scheme_id: str, *args: object) -> rules.Scheme:
        scheme = original(scheme_id)
        if scheme_id != "iims":
            return scheme
        return scheme.model_copy(update={"auto_approval": AutoApproval(enabled=True)})

    monkeypatch.setattr(rules, "load_scheme", load)


def key_drawn(drawn: bool, one_in: int = 20) -> str:
    """A source key the spot check draws (``drawn``) or not."""
    return next(k for i in range(1000) if spot_checked(k := f"t:{i}", one_in) is drawn)


def submitted(service: ClaimsService, text: str, key: str) -> int:
    view = service.start_claim(Intake("telegram", key, JANE, text, NOW)).claim
    return service.submit(view.id, JANE).id


def audit(engine: Engine, action: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def templates(engine: Engine, claim_id: int) -> set[str]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
    return {
        r.dedup_key.split(":", 2)[2] for r in rows if r.dedup_key.startswith(f"claim:{claim_id}:")
    }


def test_the_spot_check_is_seeded_by_the_source_key_and_draws_about_one_in_twenty() -> None:
    draws = [spot_checked(f"telegram:update:{i}", 20) for i in range(4000)]
    assert draws == [spot_checked(f"telegram:update:{i}", 20) for i in range(4000)]
    assert 0.035 < sum(draws) / len(draws) < 0.065


def test_events_import_checks_the_whole_file_and_is_idempotent(engine: Engine) -> None:
    with pytest.raises(InputError, match=r"line 4, date.*line 5, kind"):
        parse_events_csv(EVENTS + "Bad day,2026-13-01,1,training\nOdd,2026-01-01,1,party\n", "iims")
    rows = parse_events_csv(EVENTS, "iims")
    assert [(r.scheme, r.kind, r.points) for r in rows] == [
        ("iims", "training", 5),
        ("iims", "exhibition", 1),
    ]
    assert import_events(engine, rows).added == 2
    again = import_events(engine, rows)
    assert (again.added, again.existing) == (0, 2)


def test_cpd_events_import_prints_what_it_added(tmp_path: Path) -> None:
    (tmp_path / "events.csv").write_text(EVENTS)
    first = run_cpd("events", "import", str(tmp_path / "events.csv"), data_dir=tmp_path / "d")
    again = run_cpd("events", "import", str(tmp_path / "events.csv"), data_dir=tmp_path / "d")
    assert (first.returncode, first.stdout.strip()) == (0, "2 added, 0 already there")
    assert again.stdout.strip() == "0 added, 2 already there"
    (tmp_path / "bad.csv").write_text("title,when\nx,y\n")
    bad = run_cpd("events", "import", str(tmp_path / "bad.csv"), data_dir=tmp_path / "d")
    assert bad.returncode != 0 and "missing column(s) date, points" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_claim_matching_an_event_is_accepted_at_once_and_listed(
    service: ClaimsService, engine: Engine, auto_on: None
) -> None:
    import_events(engine, parse_events_csv(EVENTS, "iims"))
    claim_id = submitted(service, "IIMS training day today 6 hours", key_drawn(False))
    view = service.claim(claim_id)
    assert view is not None and (view.status, view.awarded_points) == ("accepted", 5)
    (row,) = audit(engine, "auto_accept")
    assert row.claim_id == claim_id and row.details["event"] == "IIMS Training Day"
    sent = templates(engine, claim_id)
    assert "accepted:telegram" in sent and "card" not in sent  # told; not on the desk
    listed = web_claims.visible_claims(service, SECRETARY, auto=True)
    assert [(c["id"], c["auto_accepted"]) for c in listed] == [(claim_id, True)]
    detail = web_claims.claim_detail(service, SECRETARY, claim_id)
    assert "auto_accept" in [h["action"] for h in detail["history"]]
    on_desk = desk_reports.audit_log(service, SECRETARY, action="auto_accept")  # "Auto-approved"
    assert [r["claim_id"] for r in on_desk.rows] == [claim_id]


def test_a_spot_check_a_wrong_kind_or_auto_approval_off_goes_to_the_secretary(
    service: ClaimsService, engine: Engine, auto_on: None
) -> None:
    import_events(engine, parse_events_csv(EVENTS, "iims"))
    spot = submitted(service, "IIMS training day today 6 hours", key_drawn(True))
    show = service.start_claim(
        Intake("telegram", key_drawn(False), JANE, "Southampton boat show today 3h", NOW)
    ).claim
    service.update_draft(show.id, JANE, kind="conference")  # the event is an exhibition
    wrong_kind = service.submit(show.id, JANE).id
    other_day = submitted(service, "IIMS training day yesterday 6 hours", "t:other-day")
    for claim_id in (spot, wrong_kind, other_day):
        view = service.claim(claim_id)
        assert view is not None and view.status == "pending", claim_id
        assert "card" in templates(engine, claim_id)
    assert [a.claim_id for a in audit(engine, "auto_accept.spot_check")] == [spot]
    assert audit(engine, "auto_accept") == []
    assert web_claims.visible_claims(service, SECRETARY, auto=True) == []


def test_auto_approval_is_off_in_the_shipped_scheme_files(
    service: ClaimsService, engine: Engine
) -> None:
    assert not any(rules.load_scheme(s).auto_approval.enabled for s in rules.scheme_ids())
    import_events(engine, parse_events_csv(EVENTS, "iims"))
    claim_id = submitted(service, "IIMS training day today 6 hours", key_drawn(False))
    assert (view := service.claim(claim_id)) is not None and view.status == "pending"
    assert dt.date(2026, 11, 23) == view.start_date
