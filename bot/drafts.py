"""The member's buttons on a draft and on their claims, one handler per action, and the
questions some of them ask (hours, date, a reflection): the answer is the member's next text,
taken by the member conversation (:mod:`cpd.bot.conversations`)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from cpd.bot import keyboards, limits
from cpd.bot.answers import parse_date, parse_hours
from cpd.bot.callbacks import Callback, decode, kind_of
from cpd.bot.common import call, message_text, query_of, reply, sender_of
from cpd.bot.context import BotContext
from cpd.bot.fallbacks import STALE_BUTTON
from cpd.claims.intake import ClaimError, ClaimView
from cpd.claims.scheme_facts import scheme_facts
from cpd.claims.texts import KIND_LABELS, draft_card

ANSWER = "answer"  # the member conversation waits for the answer to a draft question
QUESTION = "draft_question"  # user_data: {"claim_id", "field"} of the question asked
QUESTIONS = {
    "hours": "How many hours did it take? (e.g. 2.5 or 1h30)",
    "date": "When was it? (e.g. 2026-03-12, 12/03, today or yesterday)",
    "reflect": "What new knowledge and skills did you gain? Write a sentence or two.",
    "behaviour": "How has it changed your behaviour and approach at work?",
    "impact": "What impact and results has it had in the workplace?",
}
Handler = Callable[[Update, BotContext], Coroutine[Any, Any, object]]


async def show_draft(update: Update, view: ClaimView, edit: bool = False) -> None:
    """Show a draft with its buttons (editing the card when the update is a button press)."""
    text = limits.fit(draft_card(view))
    # Unsure of the kind: the card itself asks (one message, not two).
    markup = (
        keyboards.kinds(view.id, cancel=True) if "kind" in view.needs else keyboards.draft(view)
    )
    if edit and update.callback_query is not None:
        try:
            await update.callback_query.edit_message_text(text, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
    await reply(update, text, reply_markup=markup)


def button(
    func: Callable[[Update, BotContext, Callback], Awaitable[object]],
) -> Handler:
    """A button handler: the press decoded (its handler's pattern has already checked it), a
    refusal from the service shown as an alert."""

    @functools.wraps(func)
    async def handle(update: Update, context: BotContext) -> object:
        query = query_of(update)
        pressed = decode(query.data if isinstance(query.data, str) else None)
        if pressed is None:
            await query.answer(STALE_BUTTON, show_alert=True)
            return None
        try:
            return await func(update, context, pressed)
        except (ClaimError, ValueError, IndexError) as exc:
            await query.answer(
                limits.fit(str(exc), limits.CALLBACK_ANSWER_MAX) or "Not possible",
                show_alert=True,
            )
            return None

    return handle


@button
async def on_kind(update: Update, context: BotContext, pressed: Callback) -> None:
    """A kind button (``k:``): the draft's kind changed."""
    query = query_of(update)
    kind = kind_of(pressed.arg)
    if kind not in KIND_LABELS:
        await query.answer(STALE_BUTTON)
        return
    view = await call(context.service.update_draft, pressed.claim_id, sender_of(update), kind=kind)
    await query.answer("Kind changed")
    if "here is what I understood" in message_text(query.message):
        await show_draft(update, view, edit=True)
    else:  # the separate "What kind" question: answer with the corrected card
        await query.edit_message_text(f"Kind: {KIND_LABELS[kind]}")
        await show_draft(update, view)


@button
async def on_category(update: Update, context: BotContext, pressed: Callback) -> None:
    """A category button (``c:``)."""
    view = await call(
        context.service.update_draft, pressed.claim_id, sender_of(update), category=pressed.arg
    )
    await query_of(update).answer("Category set")
    await show_draft(update, view, edit=True)


@button
async def on_confirm(update: Update, context: BotContext, pressed: Callback) -> None:
    """Confirm (``u:``) on a claim by mail held unverified."""
    view = await call(context.service.confirm_held, pressed.claim_id, sender_of(update))
    query = query_of(update)
    await query.answer("Confirmed")
    await query.edit_message_text(
        f"Claim #{view.id} ({view.title}) confirmed and sent to the membership secretary."
    )


@button
async def on_withdraw(update: Update, context: BotContext, pressed: Callback) -> None:
    """Withdraw (``w:``) on the /withdraw list."""
    view = await call(context.service.withdraw, pressed.claim_id, sender_of(update))
    query = query_of(update)
    await query.answer("Withdrawn")
    await query.edit_message_text(f"Claim #{view.id} ({view.title}) withdrawn.")


@button
async def on_submit(update: Update, context: BotContext, pressed: Callback) -> None:
    """Submit on a draft (or Send anyway on a draft that repeats a claim)."""
    anyway = pressed.arg == "anyway"
    view = await call(context.service.submit, pressed.claim_id, sender_of(update), anyway)
    query = query_of(update)
    await query.answer("Submitted")
    await query.edit_message_text(
        limits.fit(
            draft_card(view)
            .replace("Tap Submit when it is right.", "Submitted: it will be verified soon.")
            .replace("send it anyway?", "sent anyway: it will be verified soon.")
        )
    )


@button
async def on_cancel(update: Update, context: BotContext, pressed: Callback) -> None:
    """Cancel on a draft."""
    await call(context.service.withdraw, pressed.claim_id, sender_of(update))
    query = query_of(update)
    await query.answer("Cancelled")
    await query.edit_message_text(f"Claim #{pressed.claim_id} cancelled.")


@button
async def on_ask_kind(update: Update, context: BotContext, pressed: Callback) -> None:
    """Change kind: the kinds as buttons."""
    await query_of(update).answer()
    await reply(
        update, "What kind of activity was it?", reply_markup=keyboards.kinds(pressed.claim_id)
    )


@button
async def on_ask_category(update: Update, context: BotContext, pressed: Callback) -> None:
    """Category: the scheme's categories as buttons, with the scheme's question."""
    await query_of(update).answer()
    service = context.service
    options = await call(service.categories, pressed.claim_id)
    current = await call(service.claim, pressed.claim_id)
    question = (
        scheme_facts(current.scheme).category_question
        if current is not None
        else "Which category fits best?"
    )
    await reply(update, question, reply_markup=keyboards.categories(pressed.claim_id, options))


@button
async def on_test(update: Update, context: BotContext, pressed: Callback) -> None:
    """The test toggle."""
    service = context.service
    current = await call(service.claim, pressed.claim_id)
    view = await call(
        service.update_draft,
        pressed.claim_id,
        sender_of(update),
        has_test=not (current and current.has_test),
    )
    await query_of(update).answer()
    await show_draft(update, view, edit=True)


@button
async def ask(update: Update, context: BotContext, pressed: Callback) -> str:
    """Change hours / date, a reflection: ask, and wait for the answer (the conversation's
    entry; pressing another such button asks that instead)."""
    await query_of(update).answer()
    context.conversation[QUESTION] = {"claim_id": pressed.claim_id, "field": pressed.arg}
    await reply(update, QUESTIONS[pressed.arg])
    return ANSWER


async def answer(update: Update, context: BotContext) -> object:
    """The member's answer to the question asked; a bad one is refused and asked again."""
    message = update.effective_message
    asked = context.conversation.get(QUESTION)
    if message is None or message.text is None or not isinstance(asked, dict):
        return ConversationHandler.END
    service = context.service
    field, claim_id = str(asked["field"]), int(asked["claim_id"])
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
            view, said = await call(
                service.add_reflection,
                claim_id,
                sender_of(update),
                keyboards.ACTION_FIELD[field],
                message.text,
            )
            if said:  # a late impact reflection on an accepted claim
                context.conversation.pop(QUESTION, None)
                await reply(update, said)
                return ConversationHandler.END
    except ClaimError as exc:
        await reply(update, str(exc))
        return None  # still waiting for an answer
    context.conversation.pop(QUESTION, None)
    await show_draft(update, view)
    return ConversationHandler.END
