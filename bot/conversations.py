"""The bot's multi-step exchanges, as python-telegram-bot ``ConversationHandler``s.

- the member conversation: a draft's Change hours / Change date / reflection buttons, and
  /dispensation without a reason, ask a question; the member's next text is the answer
  (a bad hour or date is refused and asked again; another such button asks that instead);
- the secretary conversation: Other points and Decline on a claim card ask how many points or
  why; the secretary's next message in that chat is the answer.

Both are keyed by chat and user and are persistent when the application has a persistence
(see :mod:`cpd.bot.persistence`), so that a restart between the question and the answer
keeps the conversation: the state is written before the inbox row of the update that set it
is marked handled. What a question is about (the claim, the field) is kept in ``user_data``,
which the same persistence keeps.
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from cpd.bot import drafts, secretary, workflows
from cpd.bot.callbacks import ASKING_ACTIONS, DECIDE, DECIDE_ASKING, DRAFT, action_pattern
from cpd.bot.context import BotContext

MEMBER = "member_questions"
SECRETARY = "secretary_questions"
Conversation = ConversationHandler[BotContext]


def _answer(chats: filters.BaseFilter) -> filters.BaseFilter:
    return chats & filters.TEXT & ~filters.COMMAND


def _conversation(
    name: str,
    entry_points: list[BaseHandler[Any, BotContext, object]],
    states: dict[object, list[BaseHandler[Any, BotContext, object]]],
    persistent: bool,
) -> Conversation:
    with warnings.catch_warnings():
        # per_message=False is meant: a question's answer is a message, not a button press
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        return ConversationHandler(
            entry_points=entry_points,
            states=states,
            fallbacks=[],
            allow_reentry=True,
            per_chat=True,
            per_user=True,
            per_message=False,
            name=name,
            persistent=persistent,
        )


def member_conversation(persistent: bool) -> Conversation:
    """Questions the bot asks a member in the private chat."""
    private = filters.ChatType.PRIVATE
    return _conversation(
        MEMBER,
        [
            CallbackQueryHandler(drafts.ask, pattern=action_pattern(DRAFT, *ASKING_ACTIONS)),
            CommandHandler("dispensation", workflows.dispensation, filters=private),
        ],
        {
            drafts.ANSWER: [MessageHandler(_answer(private), drafts.answer)],
            workflows.REASON: [MessageHandler(_answer(private), workflows.on_dispensation_reason)],
        },
        persistent,
    )


def secretary_conversation(persistent: bool) -> Conversation:
    """Questions the bot asks a secretary in the secretary chat."""
    groups = filters.ChatType.GROUPS
    return _conversation(
        SECRETARY,
        [CallbackQueryHandler(secretary.ask, pattern=action_pattern(DECIDE, *DECIDE_ASKING))],
        {
            secretary.POINTS: [MessageHandler(_answer(groups), secretary.on_points)],
            secretary.REASON: [MessageHandler(_answer(groups), secretary.on_reason)],
        },
        persistent,
    )
