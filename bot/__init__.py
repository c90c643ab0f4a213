"""The Telegram bot (not built yet: issue 4)."""
