"""Sends one evidence file under the secretary's card: as a photo when Telegram takes it, else
as a document, else as a line naming it, so a file Telegram refuses never hides the claim.

Network failures and 429s propagate (the outbox retries this file alone); only refusals
(400) move down the chain.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from telegram import Bot, ReplyParameters
from telegram.error import BadRequest

from cpd.bot import limits

log = logging.getLogger(__name__)


def caption(claim_id: int, name: str) -> str:
    """The caption under an evidence file."""
    return limits.fit(f"Evidence for claim #{claim_id}: {name}", limits.CAPTION_MAX)


def named_line(claim_id: int, name: str, size: int, why: str) -> str:
    """The text that stands in for a file Telegram would not take."""
    return limits.fit(
        f"Evidence for claim #{claim_id}: {name} ({limits.human_size(size)}) {why}. "
        "See it in the member's record (cpd export) or their evidence zip."
    )


async def send_evidence(
    bot: Bot,
    chat_id: int,
    claim_id: int,
    evidence: Any,
    reply_to: int | None = None,
) -> str:
    """Deliver one ``EvidenceFile``; how it went: ``photo``, ``document`` or ``text``."""
    name = str(evidence.original_name or "file")
    path = Path(evidence.stored_path)
    size = int(evidence.size or 0)
    reply = (
        ReplyParameters(reply_to, allow_sending_without_reply=True)
        if reply_to is not None
        else None
    )
    if not path.is_file():
        await bot.send_message(
            chat_id,
            named_line(claim_id, name, size, "is missing from the evidence store"),
            reply_parameters=reply,
        )
        return "text"
    size = path.stat().st_size
    if size > limits.FILE_MAX_BYTES:
        why = f"is over Telegram's {limits.human_size(limits.FILE_MAX_BYTES)} limit for bots"
        await bot.send_message(
            chat_id, named_line(claim_id, name, size, why), reply_parameters=reply
        )
        return "text"
    data = path.read_bytes()
    text = caption(claim_id, name)
    if limits.photo_fits(data, evidence.content_type or ""):
        try:
            await bot.send_photo(chat_id, data, caption=text, filename=name, reply_parameters=reply)
            return "photo"
        except BadRequest as exc:
            log.warning("evidence %s refused as a photo (%s): sending a document", name, exc)
    try:
        await bot.send_document(chat_id, data, caption=text, filename=name, reply_parameters=reply)
        return "document"
    except BadRequest as exc:
        log.warning("evidence %s refused as a document (%s): naming it instead", name, exc)
    await bot.send_message(
        chat_id, named_line(claim_id, name, size, "was refused by Telegram"), reply_parameters=reply
    )
    return "text"
