"""Callback data carried by inline buttons: short ``prefix:id:arg`` strings (≤ 64 bytes).

Every button the bot makes has a tight grammar here, used twice: as the ``pattern`` of its
``CallbackQueryHandler`` (anything else falls through to the catch-all that answers "This
button is no longer valid") and by :func:`decode`, which handlers use to read it. Ids are at
most 18 digits, so every one fits a database integer. Anything that arrives in a callback is
checked again by the claims service (who may act on which claim), so a forged or stale button
does nothing it should not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cpd.bot.limits import CALLBACK_DATA_MAX

DRAFT = "d"  # member actions on a draft
KIND = "k"  # member picks a kind
CATEGORY = "c"  # member picks a category
DECIDE = "s"  # secretary decisions
WITHDRAW = "w"  # member withdraws a pending claim
DISPENSATION = "g"  # secretary: grant / refuse a dispensation
DIPLOMA = "v"  # secretary: validate a diploma
DECLARATION = "y"  # member: the annual declaration (the id is the year)
CONFIRM = "u"  # member: confirm a claim by mail held unverified

DRAFT_ACTIONS = (
    "submit",
    "cancel",
    "kind",
    "hours",
    "date",
    "reflect",
    "behaviour",
    "impact",
    "test",
    "category",
)
ARGS: dict[str, str] = {
    DRAFT: "|".join(DRAFT_ACTIONS),
    KIND: r"\d{1,2}",
    CATEGORY: r"[A-Za-z0-9_.-]{1,40}",
    DECIDE: "accept|points|decline",
    WITHDRAW: "x",
    DISPENSATION: "grant|refuse",
    DIPLOMA: "ok",
    DECLARATION: "ok",
    CONFIRM: "ok",
}
ID = r"\d{1,18}"  # below 2**63: any such id is a valid database integer


@dataclass(frozen=True, slots=True)
class Callback:
    """A decoded button press."""

    prefix: str
    claim_id: int
    arg: str


def pattern(*prefixes: str) -> re.Pattern[str]:
    """The full-match grammar of the buttons with these prefixes (for a handler's pattern)."""
    alternatives = "|".join(f"{re.escape(p)}:{ID}:(?:{ARGS[p]})" for p in prefixes)
    return re.compile(f"^(?:{alternatives})$")


_ANY = pattern(*ARGS)


def encode(prefix: str, claim_id: int, arg: str = "") -> str:
    """The callback data for a button."""
    data = f"{prefix}:{claim_id}:{arg}"
    if len(data.encode("utf-8")) > CALLBACK_DATA_MAX:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def decode(data: str | None) -> Callback | None:
    """The button press, or None when the data is not one of ours (or out of range)."""
    if not data or not _ANY.fullmatch(data):
        return None
    prefix, number, arg = data.split(":", 2)
    return Callback(prefix, int(number), arg)
