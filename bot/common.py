"""Helpers every handler uses: the service, blocking calls off the loop, who sent an update,
and answers that always fit Telegram's limits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from cpd.bot import limits
from cpd.claims.intake import Sender
from cpd.claims.service import ClaimsService

T = TypeVar("T")


def service_of(context: ContextTypes.DEFAULT_TYPE) -> ClaimsService:
    """The claims service the application was built with."""
    return context.application.bot_data["service"]


async def call(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking service call off the event loop."""
    return await asyncio.to_thread(func, *args, **kwargs)


def sender_of(update: Update) -> Sender:
    """The Telegram user behind an update."""
    assert update.effective_user is not None
    return Sender(telegram_user_id=update.effective_user.id)


def is_private(update: Update) -> bool:
    """Whether the update comes from a private chat with the bot."""
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


async def reply(update: Update, text: str, **kwargs: Any) -> Message | None:
    """Answer in the chat the update came from."""
    if update.effective_message is None:
        return None
    return await update.effective_message.reply_text(limits.fit(text), **kwargs)
