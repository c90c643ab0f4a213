"""``/web``: a linked member or secretary gets their own single-use sign-in link to the web
desk and portal, in their private chat (valid 15 minutes, once)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram import LinkPreviewOptions, Update

from cpd.bot.common import call, is_private, reply, sender_of, service_of
from cpd.bot.context import BotContext
from cpd.claims.intake import NotLinked
from cpd.claims.texts import NOT_LINKED

NO_WEB = "The web desk is not switched on here: ask your membership secretary."
PRIVATE_ONLY = "Send /web to me in a private chat: a sign-in link is for you alone."

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def link_text(url: str) -> str:
    """The message that carries the link."""
    return (
        f"Your sign-in link to the web desk:\n{url}\n\n"
        "It works once, within 15 minutes. Do not forward it: it signs in as you."
    )


def web_command(web_url: str | None) -> Handler:
    """The ``/web`` handler for a web desk at ``web_url`` (None: the desk is off)."""
    base = (web_url or "").rstrip("/")

    async def web(update: Update, context: BotContext) -> None:
        """/web: a sign-in link for the member behind this chat."""
        if not is_private(update):
            await reply(update, PRIVATE_ONLY)
            return
        if not base:
            await reply(update, NO_WEB)
            return
        try:
            token, _ = await call(service_of(context).web_link, sender_of(update))
        except NotLinked:
            await reply(update, NOT_LINKED)
            return
        await reply(
            update,
            link_text(f"{base}/signin/{token}"),
            link_preview_options=LinkPreviewOptions(is_disabled=True),  # no fetch of the link
        )

    return web
