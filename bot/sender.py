"""Delivers the outbox to Telegram: member messages, secretary cards, their evidence files,
card edits. A failure (429, network, outage) is recorded and retried later with backoff, so a
Telegram outage delays messages and loses none.

A card, and each evidence file under it, is never given up while its claim is pending: any
failure, a refusal included, is retried with the outbox's backoff (capped at ten minutes), and
``/pending`` lists the claim meanwhile. The card goes first; its evidence files follow as
outbox rows of their own (see ``cpd.claims.cards``), so a retry never repeats a delivered file.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from cpd.bot import keyboards, limits
from cpd.bot.common import call, service_of
from cpd.bot.context import BotContext
from cpd.bot.evidence import send_evidence
from cpd.claims.notifications import Notification
from cpd.claims.service import ClaimsService

log = logging.getLogger(__name__)
CARD_TEMPLATES = frozenset({"secretary_card", "card_evidence"})


async def deliver_due(context: BotContext) -> None:
    """Job: deliver everything that is due in the outbox."""
    service = service_of(context)
    # Empty the outbox rather than one batch per tick: every outcome either records the
    # message or moves its next attempt into the future, so this loop ends.
    while batch := await call(service.due_notifications, "telegram", 100):
        addresses = await call(service.addresses, "telegram", batch)  # one query per batch
        for notification in batch:
            await deliver_one(context.bot, service, notification, addresses)


async def _keep_trying(service: ClaimsService, notification: Notification) -> bool:
    """Whether this notification must never be given up: a card (or its evidence) whose
    claim still waits for a decision."""
    if notification.template not in CARD_TEMPLATES:
        return False
    view = await call(service.claim, int(notification.payload["claim_id"]))
    return view is not None and view.status == "pending"


async def deliver_one(
    bot: Bot,
    service: ClaimsService,
    notification: Notification,
    addresses: Mapping[str, str | None] | None = None,
) -> bool:
    """Send one notification to its recipient's chat now (from ``addresses``, the batch's,
    else looked up for this one, see ``ClaimsService.addresses``); record the outcome. True
    when delivered."""
    if addresses is None:
        addresses = await call(service.addresses, "telegram", [notification])
    chat = addresses.get(notification.recipient)
    if chat is None or not chat.lstrip("-").isdigit():
        # the member unlinked, or there is no secretary chat: nobody to send it to
        await call(
            service.delivery_failed,
            notification,
            f"no Telegram chat for {notification.recipient[:40]}",
            None,
            True,
        )
        log.error("notification %s has no Telegram chat to go to", notification.id)
        return False
    try:
        await _send(bot, service, notification, int(chat))
    except RetryAfter as exc:
        seconds = exc.retry_after
        wait = seconds.total_seconds() if hasattr(seconds, "total_seconds") else float(seconds)
        await call(service.delivery_failed, notification, f"429: {exc}", wait, False, True)
        return False
    except (Forbidden, BadRequest) as exc:
        if isinstance(exc, BadRequest) and "not modified" in str(exc).lower():
            await call(service.delivered, notification)
            return True
        keep = await _keep_trying(service, notification)
        # A user who blocked the bot, or a message Telegram refuses: retrying cannot help,
        # except for a pending claim's card, which retries until it is posted.
        await call(service.delivery_failed, notification, f"refused: {exc}", None, not keep, keep)
        log.error(
            "notification %s (%s) refused by Telegram%s: %s",
            notification.id,
            notification.template,
            ", retrying: its claim is pending" if keep else "",
            exc,
        )
        return False
    except (NetworkError, TelegramError, OSError) as exc:
        down = isinstance(exc, NetworkError | OSError) or await _keep_trying(service, notification)
        await call(
            service.delivery_failed,
            notification,
            f"{type(exc).__name__}: {exc}",
            None,
            False,
            down,
        )
        return False
    if notification.template != "secretary_card":  # the card records its own delivery
        await call(service.delivered, notification)
    return True


async def _send(bot: Bot, service: ClaimsService, notification: Notification, chat_id: int) -> None:
    """Deliver one notification (recording it, where the send has a result to keep)."""
    payload = notification.payload
    text = limits.fit(str(payload.get("text", "")))
    template = notification.template
    if template == "secretary_card":
        claim_id = int(payload["claim_id"])
        message = await bot.send_message(chat_id, text, reply_markup=keyboards.decision(claim_id))
        await call(service.card_posted, claim_id, message.chat_id, message.message_id, notification)
    elif template == "card_evidence":
        claim_id = int(payload["claim_id"])
        evidence = await call(service.evidence_file, int(payload["evidence_id"]))
        if evidence is None:
            return  # the file's row is gone: nothing to show
        location = await call(service.card_location, claim_id)
        reply_to = location[1] if location is not None and location[0] == chat_id else None
        how = await send_evidence(bot, chat_id, claim_id, evidence, reply_to)
        log.info("evidence %s of claim %s sent as %s", evidence.id, claim_id, how)
    elif template == "dispensation_card":
        await bot.send_message(
            chat_id, text, reply_markup=keyboards.dispensation(int(payload["dispensation_id"]))
        )
    elif template == "diploma_card":
        await bot.send_message(
            chat_id, text, reply_markup=keyboards.diploma(int(payload["member_id"]))
        )
    elif template == "declaration_prompt":
        await bot.send_message(
            chat_id, text, reply_markup=keyboards.declaration(int(payload["year"]))
        )
    elif template == "confirm_claim":
        await bot.send_message(
            chat_id, text, reply_markup=keyboards.confirm_held(int(payload["claim_id"]))
        )
    elif template == "impact_followup":
        label = str(payload.get("button") or "Add impact and results")
        await bot.send_message(
            chat_id, text, reply_markup=keyboards.impact_followup(int(payload["claim_id"]), label)
        )
    elif template == "card_update":
        claim_id = int(payload["claim_id"])
        buttons = keyboards.decision(claim_id) if payload.get("buttons") else None
        await _update_card(bot, service, chat_id, claim_id, text, buttons)
    elif template == "card_note":
        location = await call(service.card_location, int(payload["claim_id"]))
        reply_to = location[1] if location is not None and location[0] == chat_id else None
        await bot.send_message(chat_id, text, reply_to_message_id=reply_to)
    else:
        await bot.send_message(chat_id, text)


async def _update_card(
    bot: Bot,
    service: ClaimsService,
    chat_id: int,
    claim_id: int,
    text: str,
    buttons: InlineKeyboardMarkup | None = None,
) -> None:
    """Edit the card to show the outcome (or, with ``buttons``, a pending claim's amended
    text under its decision buttons); a card that cannot be edited (never posted, deleted,
    too old) gets the text as a new message instead."""
    location = await call(service.card_location, claim_id)
    if location is not None:
        try:
            await bot.edit_message_text(
                text, chat_id=location[0], message_id=location[1], reply_markup=buttons
            )
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
            log.warning(
                "card of claim %s cannot be edited (%s): sending the outcome", claim_id, exc
            )
    await bot.send_message(chat_id, text, reply_markup=buttons)
