"""The environment `cpd run` gets in end-to-end tests and benchmarks against the local
Bot API server: no CPD_* variable of the caller leaks in."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.mail_auth import AUTH_OFF_ENV
from tests.support.telegram_api import FakeTelegramServer


def cpd_run_env(
    server: FakeTelegramServer, data_dir: Path, token: str, secretary_chat: int
) -> dict[str, str]:
    """The bot pointed at ``server``, data under ``data_dir``, mail listening off, the outbox
    polled and retried every 0.2 s (CPD_OUTBOX_POLL_SECONDS, CPD_OUTBOX_RETRY_SECONDS)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPD_")}
    env.update(
        {
            "CPD_DATA_DIR": str(data_dir),
            "CPD_TELEGRAM_TOKEN": token,
            "CPD_TELEGRAM_API_URL": server.api_url,
            "CPD_TELEGRAM_FILE_URL": server.file_url,
            "CPD_SECRETARY_CHAT_ID": str(secretary_chat),
            "CPD_SMTP_LISTEN": "",
            "CPD_WEB_LISTEN": "",
            # the outbox looked at and retried five times as often as the defaults (1 s):
            # a refused or delayed message is what these runs wait on
            "CPD_OUTBOX_POLL_SECONDS": "0.2",
            "CPD_OUTBOX_RETRY_SECONDS": "0.2",
            **AUTH_OFF_ENV,  # today's intake: From: believed (see tests/support/mail_auth.py)
        }
    )
    return env
