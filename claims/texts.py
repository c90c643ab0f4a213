"""Sentences about a standing that every channel shows the same way (bot, mail, CLI)."""

from __future__ import annotations

import datetime as dt

from cpd import rules
from cpd.claims.intake import ClaimView
from cpd.rules import Evaluation, Scheme
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
        cats = len(diploma.categories)
        needed = scheme.diploma.min_categories
        if diploma.ready:
            return (
                f"Your diploma is ready to submit: {diploma.counted} reflected activities "
                f"over {cats} categories."
            )
        return (
            f"{diploma.counted} of {number(evaluation.target)} reflected activities over "
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


NOT_LINKED = (
    "I don't know you yet. Ask your membership secretary for a link code, then send "
    "/start followed by the code."
)
NOTHING_TO_CLAIM = (
    "I couldn't find an activity in that message. Tell me what you did, for how long and "
    'when, e.g. "boat show today, 4 hours"; you can add a photo or certificate.'
)
KIND_LABELS = {
    "training": "Course, workshop or webinar",
    "conference": "Conference",
    "exhibition": "Exhibition or trade show",
    "reading": "Reading",
    "article": "Writing an article",
    "book": "Writing a book",
    "teaching": "Teaching or presenting",
    "examining": "Examining or assessing",
    "work_project": "Work project",
    "mentoring": "Mentoring or coaching",
    "committee": "Committee work",
    "volunteering": "Volunteering",
    "qualification": "Studying for a qualification",
    "site_visit": "Site visit or shadowing",
    "other": "Other development",
}


def fmt(value: float | None) -> str:
    """A number as people write it (``2.5``, ``3``), or ``-``."""
    return "-" if value is None else str(number(value))


def _when(view: ClaimView) -> str:
    if view.end_date and view.end_date != view.start_date:
        return f"{view.start_date:%d %b} to {view.end_date:%d %b %Y}"
    return f"{view.start_date:%d %b %Y}"


def describe(view: ClaimView) -> str:
    """Kind, title, date and hours of a claim, on a few lines."""
    hours = "not given" if view.hours is None else f"{fmt(view.hours)} h"
    lines = [
        f"{view.title}",
        f"Kind: {KIND_LABELS.get(view.kind, view.kind)}",
        f"Date: {_when(view)}",
        f"Hours: {hours}",
    ]
    if view.provider:
        lines.append(f"Provider: {'the Institute' if view.provider == 'institute' else 'external'}")
    if view.has_test:
        lines.append("With a test or exam")
    if view.category:
        lines.append(f"Category: {view.category}")
    if view.evidence_count:
        lines.append(f"Evidence: {view.evidence_count} file(s)")
    return "\n".join(lines)


def proposal(view: ClaimView) -> str:
    """The points the claim would earn and the rule behind them."""
    if view.proposed_points is None:
        return ""
    points = amount(view.proposed_points, view.unit)
    return f"Proposed: {points} ({view.rule_note})" if view.rule_note else f"Proposed: {points}"


def draft_card(view: ClaimView) -> str:
    """What the member sees after sending a claim: what was understood and what it earns."""
    lines = [
        f"Claim #{view.id}: here is what I understood.",
        "",
        describe(view),
        "",
        proposal(view),
    ]
    if "hours_out_of_range" in view.flags:
        lines.append("The hours in your message look wrong: please tap Change hours.")
    if "future_date" in view.flags:
        lines.append("The date in your message is in the future, so I used today.")
    if "kind" in view.needs:
        lines.append("What kind of activity was it? Please pick one below.")
    if "reflection" in view.needs:
        lines.append("Before you submit, add your reflection: what did you learn?")
    question = duplicate_question(view)
    if question is not None:
        lines += ["", question]
    else:
        lines.append("Tap Submit when it is right.")
    return "\n".join(line for line in lines if line is not None)


DUPLICATE_WHY = {
    "same_file": "the same file",
    "same_photo": "the same photo",
    "same_activity": "the same activity",
}
SEND_ANYWAY = "send anyway"
"""The words a member replies by mail to send a duplicate claim anyway."""


def _earlier(view: ClaimView) -> str:
    when = view.duplicate_claimed_on
    day = f" on {when.day} {when:%B %Y}" if when else ""
    why = DUPLICATE_WHY.get(view.duplicate_why or "", "the same claim")
    return f"You claimed this{day} (claim #{view.duplicate_of}, {why})"


def duplicate_question(view: ClaimView) -> str | None:
    """The member's question on a draft that repeats a claim in their record (None if not)."""
    if view.duplicate_of is None:
        return None
    return f"{_earlier(view)} — send it anyway?"


def duplicate_line(view: ClaimView) -> str | None:
    """The secretary's warning on a claim that repeats one in the member's record."""
    if view.duplicate_of is None:
        return None
    when = view.duplicate_claimed_on
    day = f", claimed {when.day} {when:%B %Y}" if when else ""
    why = DUPLICATE_WHY.get(view.duplicate_why or "", "a repeat")
    return f"⚠ Possible duplicate of claim #{view.duplicate_of} ({why}{day})"


def reflection_needed(scheme: Scheme) -> str:
    """Why a claim cannot be submitted yet."""
    if scheme.reflection_required == "new_knowledge":
        return (
            f'{scheme.short_name} needs a "New knowledge and skills" reflection before you '
            "submit: tap Add reflection and tell me what you learnt."
        )
    return "Please add a reflection (what you learnt) before you submit: tap Add reflection."


def receipt(view: ClaimView) -> str:
    """The member's receipt on submission."""
    return (
        f"Claim #{view.id} submitted: {view.title} ({_when(view)}), proposed "
        f"{amount(view.proposed_points or 0, view.unit)}. It will be verified soon."
    )


def secretary_card(view: ClaimView) -> str:
    """The card the secretary decides on."""
    lines = [
        f"Claim #{view.id} from {view.member_name} ({view.member_no}, {view.scheme.upper()})",
        "",
        describe(view),
        "",
        proposal(view),
    ]
    if (sender := sender_line(view)) is not None:
        lines.append(sender)
    if (duplicate := duplicate_line(view)) is not None:
        lines.append(duplicate)
    if view.auto_accepted:
        lines.append("Accepted automatically: it matches one of the body's events.")
    for name, label in (
        ("new_knowledge", "New knowledge and skills"),
        ("behaviour", "Behaviour and approach"),
        ("impact", "Impact and results"),
    ):
        if view.reflections.get(name):
            lines.append(f"{label}: {view.reflections[name]}")
    return "\n".join(lines)


SENDER_WORDS = {"pass": "verified", "fail": "failed verification", "none": "not verifiable"}


def sender_line(view: ClaimView) -> str | None:
    """Who sent a claim by mail, for the card and ``cpd members show`` (None: not by mail)."""
    if not view.verification:
        return None
    words = SENDER_WORDS.get(view.verification, view.verification)
    domain = f" for {view.verification_domain}" if view.verification_domain else ""
    reasons = "; ".join(view.verification_reasons[:4])
    return f"Mail sender: {words} ({view.verification}){domain}" + (
        f" [{reasons}]" if reasons else ""
    )


def card_outcome(view: ClaimView, outcome: str) -> str:
    """The secretary's card after the claim was decided or withdrawn."""
    when = f" on {view.decided_at:%d %b %Y %H:%M} UTC" if view.decided_at else ""
    points = ""
    if view.status == "accepted":
        points = f": {amount(view.awarded_points or 0, view.unit)}"
    reason = f"\nReason: {view.decision_reason}" if view.decision_reason else ""
    return f"{secretary_card(view)}\n\n{outcome[:1].upper()}{outcome[1:]}{when}{points}{reason}"


def already_decided(view: ClaimView) -> str:
    """Told to the second secretary who taps."""
    who = f" by {view.decided_by}" if view.decided_by else ""
    when = f" on {view.decided_at:%d %b %Y %H:%M} UTC" if view.decided_at else ""
    return f"Claim #{view.id} was already {view.status}{who}{when}."


def accepted(view: ClaimView, scheme: Scheme, evaluation: Evaluation) -> str:
    """The member's message on acceptance, with where they now stand."""
    added = amount(view.awarded_points or 0, view.unit)
    if scheme.diploma is not None:
        return f"Claim #{view.id} accepted: {view.title}. {balance_sentence(scheme, evaluation)}"
    deadline = long_date(evaluation.period_end)
    if evaluation.dispensation or not evaluation.compulsory:
        tail = balance_sentence(scheme, evaluation)
    elif evaluation.met:
        tail = f"you have reached your target of {number(evaluation.target)} for {deadline}"
    else:
        tail = f"you need {number(evaluation.remaining)} more by {deadline}"
    return f"Claim #{view.id} accepted: {added} added — {tail}."


def declined(view: ClaimView) -> str:
    """The member's message on decline, with the reason."""
    return (
        f"Claim #{view.id} ({view.title}) was declined: {view.decision_reason}. "
        "Reply to the membership secretary if you have more evidence."
    )


def mail_subject(event: str, title: str) -> str:
    """Subject line of a claim email."""
    words = {
        "receipt": "received",
        "accepted": "accepted",
        "declined": "declined",
        "duplicate": "received (already claimed?)",
    }
    return f"Your CPD claim {words.get(event, event)}: {title}"[:200]


UNKNOWN_SENDER = (
    "Thank you for your message. This address takes CPD claims from members only, and your "
    "address is not one we have on the register, so no claim was recorded.\n\n"
    "If you are a member, please write from the address the membership secretary has for you, "
    "or ask the secretary to add this one. Nothing else is needed: resend your claim once it "
    "is registered."
)


def mail_receipt(view: ClaimView, dropped: tuple[str, ...] = ()) -> str:
    """The receipt for a claim by mail: what was understood and what it would earn, and
    which attachments were not kept (``dropped``: over the cap on files per claim)."""
    first = f"Thank you: your claim #{view.id} was received and will be verified soon."
    if view.duplicate_of is not None and view.status == "draft":
        first = (
            f"Thank you: your claim #{view.id} was received. {_earlier(view)}, so it has not "
            "been sent to the secretary yet. To send it anyway, reply to this message with the "
            f'words "{SEND_ANYWAY}"; if you sent it twice by mistake, nothing more is needed.'
        )
    lines = [
        first,
        "",
        "Here is what we understood:",
        describe(view),
        "",
        proposal(view),
    ]
    if "reflection" in view.needs:
        lines += [
            "",
            "Your scheme asks for a reflection on what you learnt: reply to this "
            "message with it, or add it in the Telegram bot.",
        ]
    if dropped:
        names = ", ".join(dropped[:20]) + (f" and {len(dropped) - 20} more" * (len(dropped) > 20))
        lines += [
            "",
            f"That was more attachments than one claim keeps; not kept: {names}. "
            "Send them in a new mail if they belong to another claim.",
        ]
    lines += ["", "If anything is wrong, reply to this message and the secretary will correct it."]
    return "\n".join(lines)
