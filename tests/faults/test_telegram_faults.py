"""Telegram under faults, against `cpd run` as a subprocess and the local Bot API server:
300 secretary Accept presses with 30 SIGKILLs of `cpd run` (a restart after each): every press
confirmed to Telegram is applied exactly once. (The member claims case is in
test_telegram_claim_faults.py, the Bot API down at start in test_telegram_start_faults.py; what
they share in telegram_runs.py.)
"""

from __future__ import annotations

import datetime as dt
import random
import time
from pathlib import Path

from sqlalchemy import update
from sqlmodel import select

from cpd.storage import Claim, Member, OutboxMessage, make_engine, transaction
from tests.faults.conftest import KILLS, Report, kills_label
from tests.faults.telegram_runs import (
    MEMBERS,
    SAM,
    TOKEN,
    TOTAL,
    WAVE,
    BotRun,
    _query,
    _run_to_the_end,
    _seed,
    _server,
)
from tests.support.cpd_run import cpd_run_env


def test_secretary_decisions_survive_30_sigkills(tmp_path: Path, fault_report: Report) -> None:
    began = time.monotonic()
    rng = random.Random(20261201)
    data_dir = tmp_path / "data"
    _seed(data_dir)
    server = _server()
    engine = make_engine(f"sqlite:///{data_dir / 'cpd.sqlite3'}")
    today = dt.date.today()
    cards: list[tuple[int, int]] = []  # (claim id, card message id)
    with transaction(engine) as session:
        members = {m.membership_no: m.id for m in session.exec(select(Member))}
        for i in range(TOTAL):
            claim = Claim(
                member_id=members[f"M{i % MEMBERS:02d}"],
                channel="telegram",
                source_key=f"seed:{i}",
                raw_text=f"boat show {i}",
                kind="exhibition",
                hours=2,
                start_date=today - dt.timedelta(days=i % 20),
                title=f"Boat show {i}",
                status="pending",
                proposed_points=1,
                submitted_at=dt.datetime.now(dt.UTC),
            )
            session.add(claim)
            session.flush()
            assert claim.id is not None
            markup = {
                "inline_keyboard": [[{"text": "Accept", "callback_data": f"s:{claim.id}:accept"}]]
            }
            message_id = server.add_bot_message(SAM, f"Claim #{claim.id}", markup)
            claim.card_chat_id, claim.card_message_id = SAM, message_id
            cards.append((claim.id, message_id))
        session.execute(update(OutboxMessage).values(status="sent"))
    engine.dispose()
    presses: dict[int, int] = {}  # update_id -> claim id

    def inject(wave: int) -> None:
        for claim_id, message_id in cards[wave * WAVE : (wave + 1) * WAVE]:
            data = f"s:{claim_id}:accept"
            presses[server.press_button(SAM, message_id, data, chat_id=SAM)] = claim_id

    run = BotRun(server, data_dir, cpd_run_env(server, data_dir, TOKEN, SAM))
    accepted_sql = "SELECT count(*) FROM claim WHERE status = 'accepted'"
    notices_sql = "SELECT count(*) FROM outbox WHERE channel = 'telegram' AND recipient != ?"

    def done() -> bool:
        accepted = _query(data_dir, accepted_sql)[0][0] == TOTAL
        return accepted and _query(data_dir, notices_sql, "secretaries")[0][0] == TOTAL

    _run_to_the_end(run, server, inject, rng, done)
    statuses = dict(_query(data_dir, "SELECT id, status FROM claim"))
    decisions = _query(
        data_dir,
        "SELECT claim_id, count(*) FROM audit_log WHERE action = 'claim.accepted' "
        "GROUP BY claim_id",
    )
    notices = _query(data_dir, notices_sql, "secretaries")[0][0]
    confirmed = [u for u in presses if u not in set(server.unconfirmed())]
    stored = sum(1 for claim_id in set(presses.values()) if statuses[claim_id] == "accepted")
    lost = sum(1 for u in confirmed if statuses[presses[u]] != "accepted")
    repeated = sum(count - 1 for _, count in decisions if count > 1)
    unhandled = _query(data_dir, "SELECT count(*) FROM telegram_inbox WHERE handled_at IS NULL")
    answered = len(server.answered_callbacks)
    fault_report(
        f"telegram: 300 secretary decisions, {KILLS} SIGKILLs",
        sent=len(presses),
        accepted=len(confirmed),
        stored=stored,
        lost=lost,
        repeated=repeated,
        kills=kills_label(),
        answered=answered,
        member_notices=notices,
        inbox_unhandled=unhandled[0][0],
        startup_s=f"mean {sum(run.startups) / len(run.startups):.2f} max {max(run.startups):.2f}",
        wall_s=round(time.monotonic() - began, 1),
    )
    assert len(presses) == TOTAL and len(confirmed) == TOTAL
    assert stored == TOTAL and lost == 0 and repeated == 0
    assert len(decisions) == TOTAL and unhandled[0][0] == 0 and notices == TOTAL
