"""The member's side of the bot: linking, claiming, correcting, submitting, progress.

Each handler turns a Telegram update into a call on the claims service (run in a worker
thread, since the service does blocking database work) and renders what comes back.
"""

from __future__ import annotations

import datetime as dt
import logging

from telegram import Update

from cpd.bot import keyboards, limits, texts
from cpd.bot.attach import attach_by_reply, missing_note, replied_claim
from cpd.bot.common import call, is_private, reply, sender_of, service_of
from cpd.bot.context import BotContext
from cpd.bot.downloads import fetch_message_files
from cpd.bot.drafts import show_draft
from cpd.claims.chart import evaluation_png
from cpd.claims.intake import Amendment, ClaimError, Intake, Intent, TelegramReply
from cpd.claims.texts import NOT_LINKED

log = logging.getLogger(__name__)
WITHDRAW_TAKES_NO_ARGS = "/withdraw takes no claim number: tap the claim's button below.\n"
MAX_WITHDRAW_BUTTONS = 30


# -- commands --------------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> None:
    """/start TOKEN links the Telegram user to a member; /start alone explains how."""
    if not is_private(update):
        return
    service = service_of(context)
    if not context.args:
        known = await call(service.member_for, sender_of(update))
        if known is None:
            await reply(update, NOT_LINKED)
        else:
            await reply(update, texts.welcome(known.name))
        return
    user = update.effective_user
    assert user is not None
    try:
        member = await call(service.link_telegram, context.args[0], user.id)
    except ClaimError as exc:
        await reply(update, str(exc))
        return
    await reply(update, texts.welcome(member.name))


async def help_command(update: Update, context: BotContext) -> None:
    """/help (secretaries also see their commands)."""
    secretary = await call(service_of(context).is_secretary, sender_of(update))
    help_text = texts.help_text()
    await reply(update, f"{help_text}\n\n{texts.SECRETARY_HELP}" if secretary else help_text)


async def progress(update: Update, context: BotContext) -> None:
    """/progress: balance, what is needed, days left, carry forward, and a chart."""
    service = service_of(context)
    try:
        member, scheme, ev = await call(service.progress, sender_of(update))
    except ClaimError as exc:
        await reply(update, str(exc))
        return
    today = service.today()
    await reply(update, texts.progress(scheme, ev, today))
    png = await call(evaluation_png, scheme.short_name, scheme.unit, ev, today)
    if update.effective_message is not None:
        await update.effective_message.reply_photo(png, filename="progress.png")


async def history(update: Update, context: BotContext) -> None:
    """/history: the latest claims and what became of them."""
    try:
        views = await call(service_of(context).history, sender_of(update))
    except ClaimError as exc:
        await reply(update, str(exc))
        return
    await reply(update, texts.history(views))


async def withdraw(update: Update, context: BotContext) -> None:
    """/withdraw: pick a pending claim to withdraw."""
    try:
        views = await call(service_of(context).own_pending, sender_of(update))
    except ClaimError as exc:
        await reply(update, str(exc))
        return
    note = WITHDRAW_TAKES_NO_ARGS if context.args else ""
    if not views:
        await reply(update, f"{note}You have no claim waiting for a decision.")
        return
    await reply(
        update,
        f"{note}Which claim do you want to withdraw?",
        reply_markup=keyboards.withdraw(views[:MAX_WITHDRAW_BUTTONS]),
    )


async def mute(update: Update, context: BotContext) -> None:
    """/mute: no more weekly nudges."""
    await _set_muted(update, context, True)


async def unmute(update: Update, context: BotContext) -> None:
    """/unmute: weekly nudges again."""
    await _set_muted(update, context, False)


async def _set_muted(update: Update, context: BotContext, muted: bool) -> None:
    try:
        await call(service_of(context).set_nudges_muted, sender_of(update), muted)
    except ClaimError as exc:
        await reply(update, str(exc))
        return
    await reply(update, texts.MUTED if muted else texts.UNMUTED)


# -- messages that start claims ---------------------------------------------------------------


def source_key(update: Update) -> str:
    message = update.effective_message
    assert message is not None
    if message.media_group_id:
        return f"telegram:album:{message.chat_id}:{message.media_group_id}"
    return f"telegram:message:{message.chat_id}:{message.message_id}"


async def on_message(update: Update, context: BotContext) -> None:
    """A text, photo or document: a new claim (an answer the bot waits for is taken by the
    member conversation first)."""
    if not is_private(update) or update.effective_message is None:
        return
    message = update.effective_message
    service = service_of(context)
    sender = sender_of(update)
    text = message.text or message.caption or ""
    fetched = await fetch_message_files(context.bot, message)
    attachments = fetched.attachments
    target = replied_claim(message)
    if target is not None and (message.photo or message.document):
        await attach_by_reply(update, context, target, fetched)
        return
    key = source_key(update)
    received = message.date or dt.datetime.now(dt.UTC)
    replied = message.reply_to_message
    intake = Intake(
        "telegram",
        key,
        sender,
        text,
        received,
        tuple(attachments),
        intent=Intent.REPLY if target is not None else Intent.CLAIM,
        reply_to=(
            TelegramReply(target, replied.message_id if replied is not None else None)
            if target is not None
            else None
        ),
    )
    if intake.intent is Intent.REPLY and message.text:
        amendment = await call(service.amend_by_reply, intake)
        if amendment is not None:
            await answer_amendment(update, amendment)
            return
    try:
        result = await call(service.start_claim, intake)
    except ClaimError as exc:
        if fetched.missing:  # nothing else to claim from: the file was all there was
            await reply(update, f"{'; '.join(fetched.missing)}. Please send it again.")
        else:
            await reply(update, str(exc))
        return
    if result.duplicate:
        if message.media_group_id and (attachments or fetched.missing):
            before = view = result.claim
            for attachment in attachments:
                view = await call(service.attach, key, sender, attachment, text, received)
            if "no_text" in before.flags and "no_text" not in view.flags:
                await show_draft(update, view)  # the album's caption arrived after a photo
            if fetched.missing:
                await reply(update, missing_note(view.id, fetched.missing))
        return  # the first delivery already answered
    await show_draft(update, result.claim)
    if fetched.missing:
        await reply(update, missing_note(result.claim.id, fetched.missing))


async def answer_amendment(update: Update, amendment: Amendment) -> None:
    """Tell the member what their reply about a claim did (a draft is shown again with its
    buttons); nothing for a reply handled before."""
    if amendment.duplicate:
        return
    if amendment.claim.status == "draft" and amendment.outcome == "amended":
        await reply(update, limits.fit(amendment.message.split("\n", 1)[0]))
        await show_draft(update, amendment.claim)
        return
    await reply(update, limits.fit(amendment.message))
