"""Inline keyboards the bot shows."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from cpd.bot.callbacks import CATEGORY, DECIDE, DRAFT, KIND, WITHDRAW, encode
from cpd.claims.intake import ClaimView
from cpd.claims.texts import KIND_LABELS

KIND_ORDER = tuple(KIND_LABELS)


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def draft(view: ClaimView) -> InlineKeyboardMarkup:
    """Submit, corrections, scheme questions, Cancel."""
    cid = view.id
    rows = [
        [_button("✅ Submit", encode(DRAFT, cid, "submit"))],
        [
            _button("Change kind", encode(DRAFT, cid, "kind")),
            _button("Change hours", encode(DRAFT, cid, "hours")),
            _button("Change date", encode(DRAFT, cid, "date")),
        ],
    ]
    if view.scheme == "imi":
        rows.append([_button("Add reflection (new knowledge)", encode(DRAFT, cid, "reflect"))])
        rows.append(
            [
                _button("Behaviour and approach +2", encode(DRAFT, cid, "behaviour")),
                _button("Impact and results +4", encode(DRAFT, cid, "impact")),
            ]
        )
        rows.append(
            [
                _button(
                    "There was a test +1" if not view.has_test else "No test",
                    encode(DRAFT, cid, "test"),
                )
            ]
        )
    elif "reflection" in view.needs or "category" in view.needs or view.scheme == "ibms":
        rows.append(
            [
                _button("Add reflection", encode(DRAFT, cid, "reflect")),
                _button("Category", encode(DRAFT, cid, "category")),
            ]
        )
    rows.append([_button("Cancel", encode(DRAFT, cid, "cancel"))])
    return InlineKeyboardMarkup(rows)


def kinds(claim_id: int, cancel: bool = False) -> InlineKeyboardMarkup:
    """One button per kind of activity (and Cancel, when it stands in for the draft's)."""
    buttons = [
        _button(KIND_LABELS[k], encode(KIND, claim_id, str(i))) for i, k in enumerate(KIND_ORDER)
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if cancel:
        rows.append([_button("Cancel", encode(DRAFT, claim_id, "cancel"))])
    return InlineKeyboardMarkup(rows)


def categories(claim_id: int, options: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """One button per category of the member's scheme."""
    return InlineKeyboardMarkup(
        [[_button(name, encode(CATEGORY, claim_id, cat_id))] for cat_id, name in options]
    )


def decision(claim_id: int) -> InlineKeyboardMarkup:
    """The secretary's buttons on a claim card."""
    return InlineKeyboardMarkup(
        [
            [
                _button("Accept", encode(DECIDE, claim_id, "accept")),
                _button("Other points", encode(DECIDE, claim_id, "points")),
                _button("Decline", encode(DECIDE, claim_id, "decline")),
            ]
        ]
    )


def withdraw(views: Sequence[ClaimView]) -> InlineKeyboardMarkup:
    """One button per pending claim the member may withdraw."""
    return InlineKeyboardMarkup(
        [[_button(f"Withdraw #{v.id}: {v.title[:40]}", encode(WITHDRAW, v.id, "x"))] for v in views]
    )


def dispensation(request_id: int) -> InlineKeyboardMarkup:
    """Grant / Refuse on a dispensation request card."""
    return InlineKeyboardMarkup(
        [
            [
                _button("Grant", encode("g", request_id, "grant")),
                _button("Refuse", encode("g", request_id, "refuse")),
            ]
        ]
    )


def diploma(member_id: int) -> InlineKeyboardMarkup:
    """Validate on a submitted diploma card."""
    return InlineKeyboardMarkup([[_button("Validate and issue", encode("v", member_id, "ok"))]])


def declaration(year: int) -> InlineKeyboardMarkup:
    """One tap for the annual CPD declaration."""
    return InlineKeyboardMarkup([[_button("I confirm", encode("y", year, "ok"))]])


def confirm_held(claim_id: int) -> InlineKeyboardMarkup:
    """One tap to confirm a claim by mail that is held unverified."""
    return InlineKeyboardMarkup([[_button("Confirm", encode("u", claim_id, "ok"))]])
