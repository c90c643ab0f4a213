"""Who an outbox row reaches: its role resolved as the channel's sender resolves it."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine

from cpd.claims import recipients


class Addressed(Protocol):
    """An outbox row (or a notification): its channel and recipient role."""

    channel: str
    recipient: str


def address_of(engine: Engine, row: Addressed, secretary_chat_id: int | None = None) -> str | None:
    """The address ``row``'s recipient has on its channel now."""
    found = recipients.addresses(engine, row.channel, [row.recipient], secretary_chat_id)
    return found[row.recipient]


def address(
    engine: Engine, channel: str, recipient: str, secretary_chat_id: int | None = None
) -> str | None:
    """The address of ``recipient`` on ``channel`` now."""
    return recipients.addresses(engine, channel, [recipient], secretary_chat_id)[recipient]
