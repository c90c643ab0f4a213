"""Callback data carried by inline buttons: short ``prefix:id:arg`` strings (≤ 64 bytes).

The one place where the prefixes and their grammar are defined. Every button the bot makes is
encoded here, and every ``CallbackQueryHandler`` takes its ``pattern`` from :func:`pattern`
(anything else falls through to the catch-all that answers "This button is no longer valid");
handlers read a press with :func:`decode`. Ids are at most 18 digits, so every one fits a
database integer. Anything that arrives in a callback is checked again by the claims service
(who may act on which claim), so a forged or stale button does nothing it should not.

A kind button carries the kind's id (``k:12:training``). Buttons sent before carried the
kind's position in :data:`LEGACY_KIND_ORDER` (``k:12:0``); those are still read, through
that frozen list.
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

# Draft actions that ask a question (the answer is the next message: a conversation).
ASKING_ACTIONS = ("hours", "date", "reflect", "behaviour", "impact")
DRAFT_ACTIONS = ("submit", "anyway", "cancel", "kind", "test", "category", *ASKING_ACTIONS)
# Secretary decisions that ask a question (how many points, why declined).
DECIDE_ASKING = ("points", "decline")
# The kinds in the order the first buttons numbered them; frozen, only for buttons sent then.
LEGACY_KIND_ORDER = (
    "training",
    "conference",
    "exhibition",
    "reading",
    "article",
    "book",
    "teaching",
    "examining",
    "work_project",
    "mentoring",
    "committee",
    "volunteering",
    "qualification",
    "site_visit",
    "other",
)
_LEGACY_POSITION = "|".join(str(i) for i in range(len(LEGACY_KIND_ORDER)))
ARGS: dict[str, str] = {
    DRAFT: "|".join(DRAFT_ACTIONS),
    KIND: rf"[a-z][a-z_]{{1,30}}|{_LEGACY_POSITION}",
    CATEGORY: r"[A-Za-z0-9_.-]{1,40}",
    DECIDE: "accept|points|decline",
    WITHDRAW: "x",
    DISPENSATION: "grant|refuse",
    DIPLOMA: "ok",
    DECLARATION: "ok",
    CONFIRM: "ok",
}
ID = r"\d{1,18}"  # below 2**63: any such id is a valid database integer
# Buttons whose id is not a claim (a year, a dispensation request, a member).
NOT_CLAIMS = (DECLARATION, DISPENSATION, DIPLOMA)


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


def action_pattern(prefix: str, *args: str) -> re.Pattern[str]:
    """The grammar of one action: the buttons with ``prefix`` and one of ``args``."""
    unknown = [a for a in args if not re.fullmatch(ARGS[prefix], a)]
    if unknown:
        raise ValueError(f"{unknown} are not arguments of {prefix!r} buttons")
    choices = "|".join(re.escape(a) for a in args)
    return re.compile(f"^{re.escape(prefix)}:{ID}:(?:{choices})$")


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


def kind_of(arg: str) -> str:
    """The kind a kind button names: its id, or (older buttons) its legacy position."""
    return LEGACY_KIND_ORDER[int(arg)] if arg.isdigit() else arg
