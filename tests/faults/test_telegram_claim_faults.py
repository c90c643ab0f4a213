"""Telegram under faults: 300 member claims by text with 30 SIGKILLs of `cpd run` against the
local Bot API server: every message becomes exactly one claim, and its draft is answered."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

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
    _user,
)
from tests.support.cpd_run import cpd_run_env


def test_member_claims_survive_30_sigkills(tmp_path: Path, fault_report: Report) -> None:
    began = time.monotonic()
    rng = random.Random(1201)
    data_dir = tmp_path / "data"
    _seed(data_dir)
    server = _server()
    sent: dict[int, str] = {}  # update_id -> the claim's source key
    counter = iter(range(TOTAL))

    def inject(wave: int) -> None:
        for _ in range(WAVE):
            i = next(counter, None)
            if i is None:
                return
            user = _user(i % MEMBERS)
            text = f"boat show southampton yesterday {1 + i % 5} hours, visit {i}"
            update_id = server.send_text(user, text)
            message = server.update(update_id)["message"]
            sent[update_id] = f"telegram:message:{user}:{message['message_id']}"

    run = BotRun(server, data_dir, cpd_run_env(server, data_dir, TOKEN, SAM))
    count_sql = "SELECT count(*) FROM claim WHERE source_key LIKE 'telegram:%'"

    def drafts() -> list[str]:
        return [
            c.text or ""
            for c in server.sent
            if c.method == "sendMessage" and "understood" in (c.text or "")
        ]

    def answered_keys() -> set[str]:
        shown = {int(m) for text in drafts() for m in re.findall(r"Claim #(\d+): here is", text)}
        claim_of = dict(_query(data_dir, "SELECT source_key, id FROM claim"))
        return {key for key in sent.values() if claim_of.get(key) in shown}

    def done() -> bool:  # every message claimed and its draft answered (both asserted below)
        return _query(data_dir, count_sql)[0][0] >= TOTAL and len(answered_keys()) == TOTAL

    _run_to_the_end(run, server, inject, rng, done)
    keys = [row[0] for row in _query(data_dir, "SELECT source_key FROM claim")]
    confirmed = [u for u in sent if u not in set(server.unconfirmed())]
    stored = sum(1 for key in set(sent.values()) if key in set(keys))
    lost = sum(1 for u in confirmed if sent[u] not in set(keys))
    repeated = len(keys) - len(set(keys)) + sum(1 for k in keys if k not in set(sent.values()))
    answered = answered_keys()
    fault_report(
        f"telegram: 300 member claims, {KILLS} SIGKILLs",
        sent=len(sent),
        accepted=len(confirmed),
        stored=stored,
        lost=lost,
        repeated=repeated,
        kills=kills_label(),
        draft_answers=len(drafts()),
        unanswered=TOTAL - len(answered),
        startup_s=f"mean {sum(run.startups) / len(run.startups):.2f} max {max(run.startups):.2f}",
        wall_s=round(time.monotonic() - began, 1),
    )
    assert len(sent) == TOTAL and len(confirmed) == TOTAL
    assert stored == TOTAL and lost == 0 and repeated == 0
    assert len(answered) == TOTAL  # a message handled again after a crash is answered too
