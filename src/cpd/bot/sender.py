"""Delivers the outbox to Telegram: member messages, secretary cards (with their evidence),
card edits. A failure (429, network, outage) is recorded and retried later with backoff, so a
Telegram outage delays messages and loses none."""

from __future__ import annotations

import logging
from pathlib import Path

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from cpd.bot import keyboards
from cpd.bot.member import call, service_of
from cpd.claims.notifications import Notification
from cpd.claims.service import ClaimsService

log = logging.getLogger(__name__)


async def deliver_due(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: deliver everything that is due in the outbox."""
    service = service_of(context)
    # Empty the outbox rather than one batch per tick: every outcome either records the
    # message or moves its next attempt into the future, so this loop ends.
    while batch := await call(service.due_notifications, "telegram", 100):
        for notification in batch:
            await deliver_one(context.bot, service, notification)


async def deliver_one(bot: Bot, service: ClaimsService, notification: Notification) -> bool:
    """Send one notification; record the outcome. True when delivered."""
    try:
        await _send(bot, service, notification)
    except RetryAfter as exc:
        seconds = exc.retry_after
        wait = seconds.total_seconds() if hasattr(seconds, "total_seconds") else float(seconds)
        await call(service.delivery_failed, notification, f"429: {exc}", wait, False, True)
        return False
    except Forbidden as exc:  # the user blocked the bot: retrying cannot help
        await call(service.delivery_failed, notification, f"forbidden: {exc}", None, True)
        return False
    except BadRequest as exc:
        permanent = "not modified" not in str(exc).lower()
        if not permanent:
            await call(service.delivered, notification)
            return True
        await call(service.delivery_failed, notification, f"bad request: {exc}", None, True)
        log.error("notification %s refused by Telegram: %s", notification.id, exc)
        return False
    except (NetworkError, TelegramError, OSError) as exc:
        await call(
            service.delivery_failed,
            notification,
            f"{type(exc).__name__}: {exc}",
            None,
            False,
            isinstance(exc, NetworkError | OSError),
        )
        return False
    await call(service.delivered, notification)
    return True


async def _send(bot: Bot, service: ClaimsService, notification: Notification) -> None:
    """Deliver one notification (recording it, where the send has a result to keep)."""
    chat_id = int(notification.recipient)
    payload = notification.payload
    text = str(payload.get("text", ""))[:4000]
    if notification.template == "secretary_card":
        claim_id = int(payload["claim_id"])
        for evidence in await call(service.evidence, claim_id):
            path = Path(evidence.stored_path)
            if not path.is_file():
                continue
            caption = f"Evidence for claim #{claim_id}: {evidence.original_name}"[:1000]
            if evidence.content_type.startswith("image/"):
                await bot.send_photo(
                    chat_id, path.read_bytes(), caption=caption, filename=evidence.original_name
                )
            else:
                await bot.send_document(
                    chat_id, path.read_bytes(), caption=caption, filename=evidence.original_name
                )
        message = await bot.send_message(chat_id, text, reply_markup=keyboards.decision(claim_id))
        await call(service.card_posted, claim_id, message.chat_id, message.message_id, notification)
        return
    elif notification.template == "dispensation_card":
        await bot.send_message(
            chat_id, text, reply_markup=keyboards.dispensation(int(payload["dispensation_id"]))
        )
    elif notification.template == "diploma_card":
        await bot.send_message(
            chat_id, text, reply_markup=keyboards.diploma(int(payload["member_id"]))
        )
    elif notification.template == "declaration_prompt":
        await bot.send_message(
            chat_id, text, reply_markup=keyboards.declaration(int(payload["year"]))
        )
    elif notification.template == "card_update":
        location = await call(service.card_location, int(payload["claim_id"]))
        if location is None:
            await bot.send_message(chat_id, text)
        else:
            await bot.edit_message_text(
                text, chat_id=location[0], message_id=location[1], reply_markup=None
            )
    else:
        await bot.send_message(chat_id, text)
