"""What the bot needs from the settings, as plain values (settings are built once in ``app``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class BotConfig:
    """The bot's configuration."""

    token: str
    api_url: str
    file_url: str
    secretary_chat_id: int | None
    outbox_interval: float = 1.0
    max_retries: int = 10
    concurrent_updates: int = 8  # updates handled at once (one chat's always in order)
    start_retry_max: float = 60.0  # longest wait between start-up attempts (s)
    rejected_token_retry: float = 300.0  # wait after Telegram rejected the token (s)
    conversations_file: Path | None = None  # where conversations persist (None: in memory)
    web_url: str | None = None  # the web desk's public base URL, for /web (None: it is off)
    webhook_url: str | None = None  # set: updates by webhook (POST /telegram), not polling
    webhook_secret: str | None = field(default=None, repr=False)
