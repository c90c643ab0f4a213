"""Helpers every handler uses: blocking calls off the loop, who sent an update, and answers
that always fit Telegram's limits. (The service is ``context.service``: see
:mod:`cpd.bot.context`.)"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType

from cpd.bot import limits
from cpd.bot.context import BotContext
from cpd.claims.intake import Sender
from cpd.claims.service import ClaimsService

T = TypeVar("T")
P = ParamSpec("P")


def service_of(context: BotContext) -> ClaimsService:
    """The claims service the application was built with."""
    return context.service


async def call(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking service call off the event loop."""
    return await asyncio.to_thread(func, *args, **kwargs)


def sender_of(update: Update) -> Sender:
    """The Telegram user behind an update."""
    assert update.effective_user is not None
    return Sender(telegram_user_id=update.effective_user.id)


def is_private(update: Update) -> bool:
    """Whether the update comes from a private chat with the bot."""
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


def query_of(update: Update) -> CallbackQuery:
    """The button press of a callback-query update."""
    query = update.callback_query
    assert query is not None
    return query


def message_text(message: object) -> str:
    """The text of a (possibly inaccessible) message a button sits on, or ''."""
    return getattr(message, "text", None) or ""


async def reply(update: Update, text: str, **kwargs: Any) -> Message | None:
    """Answer in the chat the update came from."""
    if update.effective_message is None:
        return None
    return await update.effective_message.reply_text(limits.fit(text), **kwargs)
