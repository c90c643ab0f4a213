"""Answers for a message handled a second time after a crash.

The claims service makes a second handling safe (a claim is idempotent on its message's source
key), but the member handler stays silent on a duplicate, taking it for a second delivery of
an answered message. When the inbox says the earlier attempt was cut short by a crash, the
answer may never have gone out: the draft is shown (again, at worst), so no member is left
without an answer. Everything else goes to :func:`cpd.bot.member.on_message` unchanged.
"""

from __future__ import annotations

from telegram import Update

from cpd.bot import member
from cpd.bot.common import call, is_private
from cpd.bot.context import BotContext
from cpd.bot.drafts import QUESTION, show_draft
from cpd.bot.inbox_dispatch import handled_again


async def on_message(update: Update, context: BotContext) -> None:
    """A text, photo or document (see :func:`cpd.bot.member.on_message`)."""
    message = update.effective_message
    awaiting = context.user_data.get(QUESTION) if context.user_data is not None else None
    if (
        handled_again()
        and message is not None
        and not message.media_group_id
        and not awaiting
        and is_private(update)
    ):
        key = member.source_key(update)
        view = await call(context.service.claim_for_source, key)
        if view is not None and view.status == "draft":
            await show_draft(update, view)
            return
    await member.on_message(update, context)
