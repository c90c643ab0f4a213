"""The bot's typed context: what every handler gets as ``context``.

``BotData`` is the application's ``bot_data`` (never persisted: it holds the claims service);
``BotContext`` reads it with types, so handlers write ``context.service`` rather than looking
up untyped keys. ``CONTEXT_TYPES`` is given to the ``ApplicationBuilder``.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from cpd.claims.service import ClaimsService
from cpd.claims.workflows import Workflows

UserData = dict[str, Any]  # per user: what a conversation is about (a claim id, a field)
ChatData = dict[Any, Any]


class BotData:
    """The application's shared data: the claims service and its workflows."""

    __slots__ = ("service", "workflows")

    def __init__(self) -> None:
        self.service: ClaimsService | None = None
        self.workflows: Workflows | None = None

    def wire(self, service: ClaimsService) -> None:
        """Attach the claims service (done once, when the application is built)."""
        self.service = service
        self.workflows = Workflows(service)


class BotContext(CallbackContext[ExtBot[Any], UserData, ChatData, BotData]):
    """``CallbackContext`` with the claims service and workflows typed."""

    @property
    def service(self) -> ClaimsService:
        """The claims service the application was built with."""
        service = self.bot_data.service
        if service is None:
            raise RuntimeError("the bot's application has no claims service")
        return service

    @property
    def workflows(self) -> Workflows:
        """The scheme workflows on top of the service."""
        flows = self.bot_data.workflows
        if flows is None:
            raise RuntimeError("the bot's application has no claims service")
        return flows

    @property
    def conversation(self) -> UserData:
        """The user's data (where a conversation keeps what it is about)."""
        data = self.user_data
        if data is None:
            raise RuntimeError("this update has no user")
        return data


CONTEXT_TYPES: ContextTypes[BotContext, UserData, ChatData, BotData] = ContextTypes(
    context=BotContext, bot_data=BotData, user_data=dict, chat_data=dict
)
BotApp = Application[ExtBot[Any], BotContext, UserData, ChatData, BotData, Any]
