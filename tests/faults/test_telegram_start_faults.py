"""Telegram under faults: the Bot API down at start. Mail claims are stored meanwhile, the bot
starts when the API comes up, SIGTERM during the retry stops within 10 s; a rejected token
never reaches stderr."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.faults.conftest import Report
from tests.faults.telegram_runs import (
    TOKEN,
    _free_port,
    _log_has,
    _mail_env,
    _query,
    _send_mails,
    _spawn,
    _until,
)
from tests.support.telegram_api import FakeTelegramServer


def test_the_bot_api_down_at_start_keeps_mail_running(tmp_path: Path, fault_report: Report) -> None:
    from tests.mail_ingest.support_servers import prepare_data_dir

    began = time.monotonic()
    data_dir = tmp_path / "data"
    prepare_data_dir(data_dir)
    api_port = _free_port()
    env, smtp_port = _mail_env(data_dir, api_port, TOKEN)
    # 1. nothing listens on the Bot API port: mail is taken and stored while the bot retries
    process, log = _spawn(env, data_dir, "down.log")
    server = FakeTelegramServer(rate_limits=False, port=api_port)
    try:
        _until(lambda: _log_has(log, "listening for claim mail on"), 60, "the SMTP listener", log)
        _until(lambda: _log_has(log, "not started (attempt", 2), 30, "two bot retries", log)
        accepted = _send_mails(smtp_port, 20, "down")
        claims_sql = "SELECT count(*) FROM claim WHERE source_key LIKE 'email:%'"
        _until(lambda: _query(data_dir, claims_sql)[0][0] >= accepted, 30, "20 mail claims", log)
        stored_while_down = _query(data_dir, claims_sql)[0][0]
        # 2. the API comes up: the bot starts without a restart
        server.start_in_thread()
        up = time.monotonic()
        server.wait_for(lambda c: c.method == "setMyCommands", timeout=30)
        bot_started_after = time.monotonic() - up
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        server.stop_thread()
    startup_text = log.read_text()
    assert "database sqlite:///" in startup_text and "SMTP claim mail: listening on" in startup_text
    assert "stop it with Ctrl-C or SIGTERM" in startup_text
    assert "CPD_SECRETARY_CHAT_ID is not set" in startup_text
    assert "Traceback" not in startup_text and TOKEN not in startup_text

    # 3. SIGTERM while the bot is still retrying stops everything within 10 s
    process, log = _spawn(env, data_dir, "sigterm.log")
    try:
        _until(lambda: _log_has(log, "not started (attempt", 2), 60, "two bot retries", log)
        t = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
        stop_seconds = time.monotonic() - t
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 0 and stop_seconds < 10

    # 4. a token Telegram rejects: one line per attempt, never the token; mail keeps running
    rejected = "bad-token-Sup3rSecret"
    server = FakeTelegramServer(rate_limits=False, port=api_port)
    server.start_in_thread()
    env_bad, smtp_bad = _mail_env(data_dir, api_port, rejected)
    process, log = _spawn(env_bad, data_dir, "rejected.log")
    try:
        _until(lambda: _log_has(log, "check CPD_TELEGRAM_TOKEN"), 60, "the rejected token", log)
        accepted += _send_mails(smtp_bad, 5, "rejected")
        _until(lambda: _query(data_dir, claims_sql)[0][0] >= accepted, 30, "25 mail claims", log)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        server.stop_thread()
    rejected_text = log.read_text()
    assert rejected not in rejected_text and "Sup3rSecret" not in rejected_text
    assert "Traceback" not in rejected_text
    stored = _query(data_dir, claims_sql)[0][0]
    fault_report(
        "telegram: Bot API down at start (mail meanwhile), SIGTERM in retry, rejected token",
        sent=accepted,
        accepted=accepted,
        stored=stored,
        lost=accepted - stored,
        repeated=max(0, stored - accepted),
        stored_while_down=stored_while_down,
        bot_started_after_api_up_s=round(bot_started_after, 1),
        sigterm_during_retry_s=round(stop_seconds, 2),
        token_on_stderr="no",
        wall_s=round(time.monotonic() - began, 1),
    )
    assert stored == accepted == 25 and stored_while_down == 20
