"""Who a notification is for: roles, never addresses.

The outbox addresses **the member** (``member:<id>``) and **the secretaries**
(``secretaries``); a mail to someone who is no member (a stranger's claim answered at the
envelope sender) is addressed ``stranger:<address>``. Each channel's sender turns a role into
its own address at delivery time with :func:`addresses`, one query for a whole batch: the
member's Telegram chat or registered mail address as they are then, the configured secretary
chat. Recipients written before roles existed (a chat id, an address) are used as they are.
"""

from __future__ import annotations

from collections.abc import Iterable

from cpd.storage import Engine, models, reading
from cpd.storage import members as members_repo

MEMBER = "member:"
SECRETARIES = "secretaries"
STRANGER = "stranger:"
ROLES = (MEMBER, SECRETARIES, STRANGER)


def member(person: models.Member | int) -> str:
    """The recipient "the member" (by member id)."""
    member_id = person if isinstance(person, int) else members_repo.id_of(person)
    return f"{MEMBER}{member_id}"


def stranger(address: str) -> str:
    """The recipient for someone who is no member, known only by a mail address."""
    return f"{STRANGER}{address}"


def is_role(recipient: str) -> bool:
    """Whether ``recipient`` names a role (what claims/ writes into the outbox)."""
    return recipient == SECRETARIES or recipient.startswith((MEMBER, STRANGER))


def member_id(recipient: str) -> int | None:
    """The member id of a ``member:<id>`` recipient, else None."""
    if not recipient.startswith(MEMBER):
        return None
    number = recipient[len(MEMBER) :]
    return int(number) if number.isdigit() else None


def addresses(
    engine: Engine, channel: str, recipients: Iterable[str], secretary_chat_id: int | None
) -> dict[str, str | None]:
    """Each recipient's address on ``channel`` now (a Telegram chat id as text, a mail
    address), None where the role has none there (a member who unlinked, no secretary chat)."""
    wanted = set(recipients)
    ids = [i for i in (member_id(r) for r in wanted) if i is not None]
    with reading(engine) as session:
        contacts = members_repo.contacts(session, ids)
    found: dict[str, str | None] = {}
    for recipient in wanted:
        number = member_id(recipient)
        if number is not None:
            telegram, email = contacts.get(number, (None, None))
            if channel == "telegram":
                found[recipient] = str(telegram) if telegram is not None else None
            else:
                found[recipient] = email or None
        elif recipient == SECRETARIES:
            chat = secretary_chat_id if channel == "telegram" else None
            found[recipient] = str(chat) if chat is not None else None
        elif recipient.startswith(STRANGER):
            found[recipient] = recipient[len(STRANGER) :] if channel == "email" else None
        else:
            found[recipient] = recipient  # written before roles: already an address
    return found
