"""The secretary's side: decision buttons on claim cards, the answers they ask for, /pending.

A press is checked by the claims service (only members with the secretary role may decide; a
forged or stale button is refused and logged). The card itself is edited through the outbox
once the decision is committed.
"""

from __future__ import annotations

import logging
import math

from telegram import Update
from telegram.ext import ConversationHandler

from cpd.bot import limits
from cpd.bot.callbacks import DECIDE, decode
from cpd.bot.common import call, query_of, reply, sender_of
from cpd.bot.context import BotContext
from cpd.bot.fallbacks import STALE_BUTTON
from cpd.claims.intake import ClaimError, NotAllowed
from cpd.claims.scheme_facts import scheme_facts
from cpd.claims.service import MAX_MANUAL_POINTS
from cpd.claims.texts import amount, fmt

log = logging.getLogger(__name__)
DECISION = "decision_question"  # user_data: {"claim_id", "action"} of the question asked
POINTS, REASON = "points", "reason"  # the secretary conversation's states
MAX_PENDING_MESSAGES = 20  # /pending: at most this many messages (about 1,500 claims)
QUESTIONS = {
    "points": "How many points should it earn? Reply with a number.",
    "decline": "Why is it declined? Your reply is sent to the member.",
}


async def _pressed_by_secretary(update: Update, context: BotContext) -> tuple[int, str] | None:
    """The (claim id, action) of a decision button pressed by a secretary; None (answered,
    and a press by anyone else recorded) otherwise."""
    query = query_of(update)
    pressed = decode(query.data if isinstance(query.data, str) else None)
    if pressed is None or pressed.prefix != DECIDE:
        await query.answer(STALE_BUTTON, show_alert=True)
        return None
    service, sender = context.service, sender_of(update)
    if not await call(service.is_secretary, sender):
        await call(service._refuse, sender, pressed.claim_id, pressed.arg)
        await query.answer("Only the membership secretary can decide claims.", show_alert=True)
        return None
    return pressed.claim_id, pressed.arg


async def on_accept(update: Update, context: BotContext) -> None:
    """Accept on a claim card."""
    pressed = await _pressed_by_secretary(update, context)
    if pressed is not None:
        await _decide(update, context, pressed[0], "accept")


async def ask(update: Update, context: BotContext) -> object:
    """Other points (asks how many) or Decline (asks why): the secretary conversation's
    entry; the answer is the secretary's next message in that chat."""
    pressed = await _pressed_by_secretary(update, context)
    if pressed is None:
        return None  # a conversation under way stays as it was
    claim_id, action = pressed
    context.conversation[DECISION] = {"claim_id": claim_id, "action": action}
    await query_of(update).answer()
    await reply(update, f"Claim #{claim_id}: {QUESTIONS[action]}")
    return POINTS if action == "points" else REASON


def _asked(context: BotContext) -> int | None:
    asked = context.conversation.get(DECISION)
    return int(asked["claim_id"]) if isinstance(asked, dict) else None


async def on_points(update: Update, context: BotContext) -> object:
    """The number of points asked for; anything else is refused and asked again."""
    message, claim_id = update.effective_message, _asked(context)
    if message is None or not message.text or claim_id is None:
        return ConversationHandler.END
    try:
        points = float(message.text.strip().replace(",", "."))
    except ValueError:
        points = math.nan
    if not (math.isfinite(points) and 0 <= points <= MAX_MANUAL_POINTS):
        await reply(
            update,
            f"Please reply with a number of points from 0 to {fmt(MAX_MANUAL_POINTS)}, "
            "e.g. 3 or 2.5.",
        )
        return None
    context.conversation.pop(DECISION, None)
    await _decide(update, context, claim_id, "accept_points", points=points)
    return ConversationHandler.END


async def on_reason(update: Update, context: BotContext) -> object:
    """The reason for a decline, sent to the member."""
    message, claim_id = update.effective_message, _asked(context)
    if message is None or not message.text or claim_id is None:
        return ConversationHandler.END
    context.conversation.pop(DECISION, None)
    await _decide(update, context, claim_id, "decline", reason=message.text.strip()[:1000])
    return ConversationHandler.END


async def _decide(
    update: Update,
    context: BotContext,
    claim_id: int,
    action: str,
    points: float | None = None,
    reason: str | None = None,
) -> None:
    service = context.service
    try:
        decision = await call(
            service.decide, claim_id, sender_of(update), action, points=points, reason=reason
        )
    except NotAllowed as exc:
        await _tell(update, str(exc), alert=True)
        return
    except ClaimError as exc:
        await _tell(update, str(exc), alert=True)
        return
    view = decision.claim
    if (
        decision.applied
        and view.status == "accepted"
        and scheme_facts(view.scheme).diploma is not None
    ):
        await call(context.workflows.notify_if_diploma_ready, view.member_no)
    if decision.applied:
        summary = f"Claim #{view.id} {view.status}" + (
            f": {amount(view.awarded_points or 0, view.unit)}" if view.status == "accepted" else ""
        )
        await _tell(update, summary)
    else:
        await _tell(update, decision.message, alert=True)


async def _tell(update: Update, text: str, alert: bool = False) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(
            limits.fit(text, limits.CALLBACK_ANSWER_MAX), show_alert=alert
        )
    else:
        await reply(update, text)


async def pending(update: Update, context: BotContext) -> None:
    """/pending: the claims that wait for a decision (secretaries only)."""
    service = context.service
    if not await call(service.is_secretary, sender_of(update)):
        await reply(update, "Only the membership secretary can list pending claims.")
        return
    views = await call(service.pending)
    if not views:
        await reply(update, "Nothing waits for a decision.")
        return
    uncarded = await call(service.claims_without_card, [v.id for v in views])
    lines = [f"{len(views)} claim(s) wait for a decision:"]
    lines += [
        f"#{v.id} {v.member_name} ({v.member_no}): {v.title[:40]}, proposed "
        f"{amount(v.proposed_points or 0, v.unit)}"
        + (" (card not posted yet)" if v.id in uncarded else "")
        for v in views
    ]
    messages = limits.chunks(lines)
    if len(messages) > MAX_PENDING_MESSAGES:
        shown = sum(m.count("\n") + 1 for m in messages[:MAX_PENDING_MESSAGES]) - 1
        messages = messages[:MAX_PENDING_MESSAGES]
        messages.append(f"… and {len(views) - shown} more waiting.")
    for text in messages:
        await reply(update, text)
