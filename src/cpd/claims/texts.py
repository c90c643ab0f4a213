"""Sentences about a standing that every channel shows the same way (bot, mail, CLI)."""

from __future__ import annotations

import datetime as dt

from cpd import rules
from cpd.rules.values import number


def long_date(day: dt.date) -> str:
    """A date as people write it: ``31 December 2026``."""
    return f"{day.day} {day.strftime('%B %Y')}"


def amount(value: float, unit: str) -> str:
    """``1 point``, ``2.5 credits``, ``3 activities``."""
    shown = number(value)
    singular = {"points": "point", "credits": "credit", "activities": "activity"}[unit]
    return f"{shown} {singular if shown == 1 else unit}"


def balance_sentence(scheme: rules.Scheme, evaluation: rules.Evaluation) -> str:
    """One sentence: where the member stands and what is still needed, by when."""
    unit = scheme.unit
    if scheme.diploma is not None and evaluation.diploma is not None:
        diploma = evaluation.diploma
        cats = len(diploma["categories"])
        needed = scheme.diploma.min_categories
        if diploma["ready"]:
            return (
                f"Your diploma is ready to submit: {diploma['counted']} reflected activities "
                f"over {cats} categories."
            )
        return (
            f"{diploma['counted']} of {number(evaluation.target)} reflected activities over "
            f"{cats} of {needed} categories since {long_date(evaluation.period_start)}."
        )
    held = amount(evaluation.total, unit)
    if evaluation.carried_in:
        held += f" (including {amount(evaluation.carried_in, unit)} carried in)"
    deadline = long_date(evaluation.period_end)
    if evaluation.dispensation:
        return f"{held}; you have a dispensation for this period, so there is no target."
    if not evaluation.compulsory:
        return f"{held} this period; CPD is optional for your grade."
    if evaluation.met:
        return f"{held} of {number(evaluation.target)}: target met for the period to {deadline}."
    return (
        f"{held} of {number(evaluation.target)}; you need {number(evaluation.remaining)} "
        f"more by {deadline}."
    )
