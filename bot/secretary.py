"""The secretary's side: decision buttons on claim cards, the answers they ask for, /pending.

A press is checked by the claims service (only members with the secretary role may decide; a
forged or stale button is refused and logged). The card itself is edited through the outbox
once the decision is committed.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from cpd.bot import limits
from cpd.bot.callbacks import decode
from cpd.bot.common import call, reply, sender_of, service_of
from cpd.bot.fallbacks import STALE_BUTTON
from cpd.claims.intake import ClaimError, NotAllowed
from cpd.claims.service import MAX_MANUAL_POINTS
from cpd.claims.texts import amount, fmt

log = logging.getLogger(__name__)
AWAITING_DECISION = "awaiting_decision"
MAX_PENDING_MESSAGES = 20  # /pending: at most this many messages (about 1,500 claims)


async def on_decision_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Accept, Other points (asks how many) or Decline (asks why)."""
    query = update.callback_query
    assert query is not None
    pressed = decode(query.data)
    service = service_of(context)
    sender = sender_of(update)
    if pressed is None or pressed.prefix != "s":
        await query.answer(STALE_BUTTON, show_alert=True)
        return
    if not await call(service.is_secretary, sender):
        await call(service._refuse, sender, pressed.claim_id, pressed.arg)
        await query.answer("Only the membership secretary can decide claims.", show_alert=True)
        return
    if pressed.arg == "accept":
        await _decide(update, context, pressed.claim_id, "accept")
        return
    question = (
        "How many points should it earn? Reply with a number."
        if pressed.arg == "points"
        else "Why is it declined? Your reply is sent to the member."
    )
    context.user_data[AWAITING_DECISION] = {"claim_id": pressed.claim_id, "action": pressed.arg}
    await query.answer()
    await reply(update, f"Claim #{pressed.claim_id}: {question}")


async def _decide(
    update: Update, context: ContextTypes.DEFAULT_TYPE, claim_id: int, action: str, **values: Any
) -> None:
    service = service_of(context)
    try:
        decision = await call(service.decide, claim_id, sender_of(update), action, **values)
    except NotAllowed as exc:
        await _tell(update, str(exc), alert=True)
        return
    except ClaimError as exc:
        await _tell(update, str(exc), alert=True)
        return
    view = decision.claim
    if decision.applied and view.status == "accepted" and view.scheme == "ibms":
        await call(
            context.application.bot_data["workflows"].notify_if_diploma_ready, view.member_no
        )
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


async def on_group_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In the secretary chat: the number of points or the reason the bot asked for."""
    awaiting = context.user_data.get(AWAITING_DECISION) if context.user_data is not None else None
    message = update.effective_message
    if not awaiting or message is None or not message.text:
        return
    claim_id, action = awaiting["claim_id"], awaiting["action"]
    if action == "points":
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
            return
        context.user_data.pop(AWAITING_DECISION, None)
        await _decide(update, context, claim_id, "accept_points", points=points)
    else:
        context.user_data.pop(AWAITING_DECISION, None)
        await _decide(update, context, claim_id, "decline", reason=message.text.strip()[:1000])


async def pending(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/pending: the claims that wait for a decision (secretaries only)."""
    service = service_of(context)
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
