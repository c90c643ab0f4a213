"""The member's side of the bot: linking, claiming, correcting, submitting, progress.

Each handler turns a Telegram update into a call on the claims service (run in a worker
thread, since the service does blocking database work) and renders what comes back.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, TypeVar

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from cpd.bot import keyboards, limits, texts
from cpd.bot.answers import parse_date, parse_hours
from cpd.bot.attach import attach_by_reply, missing_note, replied_claim
from cpd.bot.callbacks import CATEGORY, CONFIRM, KIND, WITHDRAW, decode
from cpd.bot.common import call, is_private, reply, sender_of, service_of
from cpd.bot.downloads import fetch_message_files
from cpd.bot.fallbacks import STALE_BUTTON
from cpd.claims.chart import evaluation_png
from cpd.claims.intake import Amendment, ClaimError, ClaimView, Intake
from cpd.claims.texts import NOT_LINKED, draft_card

log = logging.getLogger(__name__)
T = TypeVar("T")
AWAITING = "awaiting"
WITHDRAW_TAKES_NO_ARGS = "/withdraw takes no claim number: tap the claim's button below.\n"
MAX_WITHDRAW_BUTTONS = 30


async def show_draft(update: Update, view: ClaimView, edit: bool = False) -> None:
    """Show a draft with its buttons (editing the card when the update is a button press)."""
    text = limits.fit(draft_card(view))
    # Unsure of the kind: the card itself asks (one message, not two).
    markup = (
        keyboards.kinds(view.id, cancel=True) if "kind" in view.needs else (keyboards.draft(view))
    )
    if edit and update.callback_query is not None:
        try:
            await update.callback_query.edit_message_text(text, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
    await reply(update, text, reply_markup=markup)


# -- commands --------------------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start TOKEN links the Telegram user to a member; /start alone explains how."""
    if not is_private(update):
        return
    service = service_of(context)
    if not context.args:
        member = await call(service.member_for, sender_of(update))
        if member is None:
            await reply(update, NOT_LINKED)
        else:
            await reply(update, texts.welcome(member.name))
        return
    try:
        member = await call(
            service.link_telegram, context.args[0], sender_of(update).telegram_user_id
        )
    except ClaimError as exc:
        await reply(update, str(exc))
        return
    await reply(update, texts.welcome(member.name))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help (secretaries also see their commands)."""
    secretary = await call(service_of(context).is_secretary, sender_of(update))
    await reply(update, f"{texts.HELP}\n\n{texts.SECRETARY_HELP}" if secretary else texts.HELP)


async def progress(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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


async def history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/history: the latest claims and what became of them."""
    try:
        views = await call(service_of(context).history, sender_of(update))
    except ClaimError as exc:
        await reply(update, str(exc))
        return
    await reply(update, texts.history(views))


async def withdraw(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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


async def mute(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/mute: no more weekly nudges."""
    await _set_muted(update, context, True)


async def unmute(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unmute: weekly nudges again."""
    await _set_muted(update, context, False)


async def _set_muted(update: Update, context: ContextTypes.DEFAULT_TYPE, muted: bool) -> None:
    try:
        await call(service_of(context).set_nudges_muted, sender_of(update), muted)
    except ClaimError as exc:
        await reply(update, str(exc))
        return
    await reply(update, texts.MUTED if muted else texts.UNMUTED)


# -- messages that start claims ---------------------------------------------------------------


def _source_key(update: Update) -> str:
    message = update.effective_message
    assert message is not None
    if message.media_group_id:
        return f"telegram:album:{message.chat_id}:{message.media_group_id}"
    return f"telegram:message:{message.chat_id}:{message.message_id}"


async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text, photo or document: an answer the bot waits for, or a new claim."""
    if not is_private(update) or update.effective_message is None:
        return
    message = update.effective_message
    awaiting = context.user_data.get(AWAITING) if context.user_data is not None else None
    if awaiting and message.text and not message.photo and not message.document:
        await answer_awaited(update, context, awaiting)
        return
    service = service_of(context)
    sender = sender_of(update)
    text = message.text or message.caption or ""
    fetched = await fetch_message_files(context.bot, message)
    attachments = fetched.attachments
    target = replied_claim(message)
    if target is not None and (message.photo or message.document):
        await attach_by_reply(update, context, target, fetched)
        return
    key = _source_key(update)
    received = message.date or dt.datetime.now(dt.UTC)
    intake = Intake("telegram", key, sender, text, received, tuple(attachments))
    if target is not None and message.text:
        amendment = await call(service.amend_by_reply, target, intake)
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


# -- draft buttons and the answers they ask for ------------------------------------------------

QUESTIONS = {
    "hours": "How many hours did it take? (e.g. 2.5 or 1h30)",
    "date": "When was it? (e.g. 2026-03-12, 12/03, today or yesterday)",
    "reflect": "What new knowledge and skills did you gain? Write a sentence or two.",
    "behaviour": "How has it changed your behaviour and approach at work?",
    "impact": "What impact and results has it had in the workplace?",
}
REFLECTION_FIELD = {"reflect": "new_knowledge", "behaviour": "behaviour", "impact": "impact"}


async def on_draft_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Submit, Change kind/hours/date, reflections, test, category, Cancel."""
    query = update.callback_query
    assert query is not None
    pressed = decode(query.data)
    if pressed is None or (
        pressed.prefix == KIND and int(pressed.arg) >= len(keyboards.KIND_ORDER)
    ):
        await query.answer(STALE_BUTTON)
        return
    service = service_of(context)
    sender = sender_of(update)
    try:
        if pressed.prefix == KIND:
            kind = keyboards.KIND_ORDER[int(pressed.arg)]
            view = await call(service.update_draft, pressed.claim_id, sender, kind=kind)
            await query.answer("Kind changed")
            if query.message is not None and "here is what I understood" in (
                getattr(query.message, "text", None) or ""
            ):
                await show_draft(update, view, edit=True)
            else:  # the separate "What kind" question: answer with the corrected card
                await query.edit_message_text(f"Kind: {keyboards.KIND_LABELS[kind]}")
                await show_draft(update, view)
            return
        if pressed.prefix == CATEGORY:
            view = await call(service.update_draft, pressed.claim_id, sender, category=pressed.arg)
            await query.answer("Category set")
            await show_draft(update, view, edit=True)
            return
        if pressed.prefix == CONFIRM:
            view = await call(service.confirm_held, pressed.claim_id, sender)
            await query.answer("Confirmed")
            await query.edit_message_text(
                f"Claim #{view.id} ({view.title}) confirmed and sent to the membership secretary."
            )
            return
        if pressed.prefix == WITHDRAW:
            view = await call(service.withdraw, pressed.claim_id, sender)
            await query.answer("Withdrawn")
            await query.edit_message_text(f"Claim #{view.id} ({view.title}) withdrawn.")
            return
        await _draft_action(update, context, pressed.claim_id, pressed.arg)
    except (ClaimError, ValueError, IndexError) as exc:
        await query.answer(
            limits.fit(str(exc), limits.CALLBACK_ANSWER_MAX) or "Not possible", show_alert=True
        )


async def _draft_action(
    update: Update, context: ContextTypes.DEFAULT_TYPE, claim_id: int, action: str
) -> None:
    query = update.callback_query
    assert query is not None
    service = service_of(context)
    sender = sender_of(update)
    if action == "submit":
        view = await call(service.submit, claim_id, sender)
        await query.answer("Submitted")
        await query.edit_message_text(
            limits.fit(
                draft_card(view).replace(
                    "Tap Submit when it is right.", "Submitted: it will be verified soon."
                )
            )
        )
    elif action == "cancel":
        await call(service.withdraw, claim_id, sender)
        await query.answer("Cancelled")
        await query.edit_message_text(f"Claim #{claim_id} cancelled.")
    elif action == "kind":
        await query.answer()
        await reply(update, "What kind of activity was it?", reply_markup=keyboards.kinds(claim_id))
    elif action == "category":
        await query.answer()
        options = await call(service.categories, claim_id)
        await reply(
            update,
            "Which category fits best?",
            reply_markup=keyboards.categories(claim_id, options),
        )
    elif action == "test":
        current = await call(service.claim, claim_id)
        view = await call(
            service.update_draft, claim_id, sender, has_test=not (current and current.has_test)
        )
        await query.answer()
        await show_draft(update, view, edit=True)
    elif action in QUESTIONS:
        await query.answer()
        context.user_data[AWAITING] = {"claim_id": claim_id, "field": action}
        await reply(update, QUESTIONS[action])
    else:
        await query.answer(STALE_BUTTON)


async def answer_awaited(
    update: Update, context: ContextTypes.DEFAULT_TYPE, awaiting: dict[str, Any]
) -> None:
    """The member's answer to a question the bot asked (hours, date, a reflection)."""
    message = update.effective_message
    assert message is not None and message.text is not None
    service = service_of(context)
    field, claim_id = awaiting["field"], awaiting["claim_id"]
    try:
        if field == "hours":
            view = await call(
                service.update_draft, claim_id, sender_of(update), hours=parse_hours(message.text)
            )
        elif field == "date":
            view = await call(
                service.update_draft,
                claim_id,
                sender_of(update),
                date=parse_date(message.text, service.today()),
            )
        else:
            view = await call(
                service.update_draft,
                claim_id,
                sender_of(update),
                reflections={REFLECTION_FIELD[field]: message.text.strip()[:4000]},
            )
    except ClaimError as exc:
        await reply(update, str(exc))
        return
    context.user_data.pop(AWAITING, None)
    await show_draft(update, view)
