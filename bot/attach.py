"""Files that could not be kept with a claim, and files a member adds later by replying to a
message about the claim."""

from __future__ import annotations

import re

from telegram import Message, Update

from cpd.bot.callbacks import NOT_CLAIMS, decode
from cpd.bot.common import call, reply, sender_of, service_of
from cpd.bot.context import BotContext
from cpd.bot.downloads import Fetched
from cpd.claims.intake import ClaimError


def missing_note(claim_id: int, missing: list[str]) -> str:
    """What the member is told about files that could not be kept with a claim."""
    return (
        f"{'; '.join(missing)}, so claim #{claim_id} is saved without it. To add it, send "
        "the file again as a reply to this message."
    )


def replied_claim(message: Message) -> int | None:
    """The claim a message answers: a reply to a bot message naming exactly one claim
    (``#12`` in its text, or the claim's buttons)."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or not replied.from_user.is_bot:
        return None
    found = {int(n) for n in re.findall(r"#(\d{1,18})\b", replied.text or replied.caption or "")}
    markup = replied.reply_markup
    for row in markup.inline_keyboard if markup is not None else ():
        for button in row:
            pressed = decode(button.callback_data if isinstance(button.callback_data, str) else "")
            if pressed is not None and pressed.prefix not in NOT_CLAIMS:
                found.add(pressed.claim_id)
    return found.pop() if len(found) == 1 else None


async def attach_by_reply(
    update: Update, context: BotContext, claim_id: int, fetched: Fetched
) -> None:
    """A file sent as a reply about a claim: added to that claim."""
    if fetched.missing and not fetched.attachments:
        await reply(update, missing_note(claim_id, fetched.missing))
        return
    service = service_of(context)
    lines = []
    for attachment in fetched.attachments:
        try:
            view, kept = await call(
                service.attach_to_claim, claim_id, sender_of(update), attachment
            )
        except ClaimError as exc:
            await reply(update, str(exc))
            return
        lines.append(
            f"Added {attachment.name} to claim #{view.id}."
            if kept
            else f"{attachment.name} is too big to keep; claim #{view.id} is unchanged."
        )
    if fetched.missing:
        lines.append(missing_note(claim_id, fetched.missing))
    await reply(update, "\n".join(lines))
