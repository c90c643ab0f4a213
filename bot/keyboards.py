"""Inline keyboards the bot shows. What a draft's card offers for a scheme (its reflections
and their credits, a test toggle, a category) comes from the scheme's file, through
:func:`cpd.claims.scheme_facts.scheme_facts`."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from cpd.bot.callbacks import (
    CATEGORY,
    CONFIRM,
    DECIDE,
    DECLARATION,
    DIPLOMA,
    DISPENSATION,
    DRAFT,
    KIND,
    WITHDRAW,
    encode,
)
from cpd.claims.intake import ClaimView
from cpd.claims.scheme_facts import SchemeFacts, scheme_facts
from cpd.claims.texts import KIND_LABELS, fmt

# The draft action that asks for each reflection field.
REFLECTION_ACTION = {"new_knowledge": "reflect", "behaviour": "behaviour", "impact": "impact"}
ACTION_FIELD = {action: field for field, action in REFLECTION_ACTION.items()}


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def _with_credit(label: str, credit: float) -> str:
    return f"{label} +{fmt(credit)}" if credit > 0 else label


def scheme_rows(view: ClaimView, facts: SchemeFacts) -> list[list[InlineKeyboardButton]]:
    """The scheme's own buttons on a draft: its reflections (uncredited ones alone on a row,
    credited ones together), its test toggle; else Add reflection and Category when the claim
    needs them or the member chooses categories."""
    cid = view.id
    rows: list[list[InlineKeyboardButton]] = []
    if facts.reflections:
        credited = []
        for choice in facts.reflections:
            button = _button(
                _with_credit(choice.label, choice.credit),
                encode(DRAFT, cid, REFLECTION_ACTION[choice.field]),
            )
            if choice.credit > 0:
                credited.append(button)
            else:
                rows.append([button])
        if credited:
            rows.append(credited)
        if facts.test_label is not None:
            label = (
                facts.no_test_label
                if view.has_test
                else _with_credit(facts.test_label, facts.test_credit)
            )
            rows.append([_button(label, encode(DRAFT, cid, "test"))])
    elif "reflection" in view.needs or "category" in view.needs or facts.member_chooses_category:
        rows.append(
            [
                _button("Add reflection", encode(DRAFT, cid, "reflect")),
                _button("Category", encode(DRAFT, cid, "category")),
            ]
        )
    return rows


def draft(view: ClaimView) -> InlineKeyboardMarkup:
    """Submit (Send anyway on a draft that repeats a claim), corrections, scheme questions,
    Cancel."""
    cid = view.id
    first = (
        _button("Send anyway", encode(DRAFT, cid, "anyway"))
        if view.duplicate_of is not None
        else _button("✅ Submit", encode(DRAFT, cid, "submit"))
    )
    rows = [
        [first],
        [
            _button("Change kind", encode(DRAFT, cid, "kind")),
            _button("Change hours", encode(DRAFT, cid, "hours")),
            _button("Change date", encode(DRAFT, cid, "date")),
        ],
        *scheme_rows(view, scheme_facts(view.scheme)),
        [_button("Cancel", encode(DRAFT, cid, "cancel"))],
    ]
    return InlineKeyboardMarkup(rows)


def impact_followup(claim_id: int, label: str) -> InlineKeyboardMarkup:
    """The button on an impact follow-up: asks for the claim's impact reflection."""
    return InlineKeyboardMarkup([[_button(label, encode(DRAFT, claim_id, "impact"))]])


def kinds(claim_id: int, cancel: bool = False) -> InlineKeyboardMarkup:
    """One button per kind of activity, carrying the kind's id (and Cancel, when it stands in
    for the draft's)."""
    buttons = [_button(label, encode(KIND, claim_id, kind)) for kind, label in KIND_LABELS.items()]
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
                _button("Grant", encode(DISPENSATION, request_id, "grant")),
                _button("Refuse", encode(DISPENSATION, request_id, "refuse")),
            ]
        ]
    )


def diploma(member_id: int) -> InlineKeyboardMarkup:
    """Validate on a submitted diploma card."""
    return InlineKeyboardMarkup([[_button("Validate and issue", encode(DIPLOMA, member_id, "ok"))]])


def declaration(year: int) -> InlineKeyboardMarkup:
    """One tap for the annual CPD declaration."""
    return InlineKeyboardMarkup([[_button("I confirm", encode(DECLARATION, year, "ok"))]])


def confirm_held(claim_id: int) -> InlineKeyboardMarkup:
    """One tap to confirm a claim by mail that is held unverified."""
    return InlineKeyboardMarkup([[_button("Confirm", encode(CONFIRM, claim_id, "ok"))]])
