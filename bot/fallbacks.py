"""Answers for everything no other handler takes, so that every message gets one line and no
update raises: stickers, voice, locations and the like; stale or forged buttons; edited
messages; channel posts."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from cpd.bot.common import is_private
from cpd.bot.context import BotContext

UNSUPPORTED = (
    "I can read text, photos and documents — send your claim as a message, a photo with a "
    "caption, or a PDF."
)
STALE_BUTTON = "This button is no longer valid."
EDITED = (
    "I read each message once, so an edit doesn't change a claim: use the buttons on its card, "
    "or send a new message."
)


async def on_unsupported(update: Update, context: BotContext) -> None:
    """A sticker, voice note, location, contact, poll, dice... in a private chat."""
    if is_private(update) and update.effective_message is not None:
        await update.effective_message.reply_text(UNSUPPORTED)


async def on_stale_button(update: Update, context: BotContext) -> None:
    """A button press no handler's grammar accepts (old, forged or out of range)."""
    if update.callback_query is not None:
        await update.callback_query.answer(STALE_BUTTON, show_alert=True)


async def on_edit_or_channel_post(update: Update, context: BotContext) -> None:
    """Runs before every other handler for edited messages and channel posts: an edit in a
    private chat gets one line, anything else is ignored; no later handler sees them."""
    if update.edited_message is not None and is_private(update):
        await update.edited_message.reply_text(EDITED)
    raise ApplicationHandlerStop


UNKNOWN_COMMAND = "I don't know that command. /help lists what I can do."


async def on_unknown_command(update: Update, context: BotContext) -> None:
    """A /command no handler takes, in a private chat."""
    if is_private(update) and update.effective_message is not None:
        await update.effective_message.reply_text(UNKNOWN_COMMAND)
