"""Bot commands for scheme workflows: /dispensation, /declare, /diploma, /submit, /export,
/evidence, and the secretary's buttons on dispensation and diploma cards."""

from __future__ import annotations

from collections.abc import Callable

from telegram import Update
from telegram.ext import ConversationHandler

from cpd.bot import limits
from cpd.bot.callbacks import Callback
from cpd.bot.common import call, message_text, query_of, reply, sender_of
from cpd.bot.context import BotContext
from cpd.bot.drafts import button
from cpd.claims.intake import ClaimError, Sender
from cpd.claims.scheme_facts import scheme_facts
from cpd.claims.workflows import Workflows

REASON = "dispensation_reason"  # the member conversation waits for a dispensation's reason


def flows_of(context: BotContext) -> Workflows:
    """The workflows the application was built with."""
    return context.workflows


async def _run(update: Update, func: Callable[[Sender], object], sender: Sender) -> None:
    try:
        text = await call(func, sender)
    except ClaimError as exc:
        text = str(exc)
    await reply(update, text if isinstance(text, str) else "Done.")


async def dispensation(update: Update, context: BotContext) -> object:
    """/dispensation REASON: ask the secretary for relief from this period's target;
    /dispensation alone asks for the reason and takes the next message as it."""
    reason = " ".join(context.args or [])
    if not reason:
        await reply(
            update,
            "Why do you ask for a dispensation? Reply with the reason, or send /dispensation "
            "followed by it, e.g. /dispensation retired in June.",
        )
        return REASON
    await _request_dispensation(update, context, reason)
    return None  # a question asked before still waits for its answer


async def on_dispensation_reason(update: Update, context: BotContext) -> object:
    """The reason the member was asked for."""
    message = update.effective_message
    if message is not None and message.text:
        await _request_dispensation(update, context, message.text.strip()[:1000])
    return ConversationHandler.END


async def _request_dispensation(update: Update, context: BotContext, reason: str) -> None:
    try:
        request = await call(flows_of(context).request_dispensation, sender_of(update), reason)
    except ClaimError as exc:
        await reply(update, str(exc))
        return
    await reply(
        update,
        f"Your request for {request.period_key} was sent to the membership "
        "secretary. You will hear the decision here.",
    )


async def declare(update: Update, context: BotContext) -> None:
    """/declare: the annual CPD declaration (schemes that ask for one)."""
    await _run(update, flows_of(context).declare, sender_of(update))


async def diploma(update: Update, context: BotContext) -> None:
    """/diploma: where the member's diploma stands (schemes with a diploma)."""
    try:
        status = await call(flows_of(context).diploma_status, sender_of(update))
    except ClaimError as exc:
        await reply(update, str(exc))
        return
    member = await call(context.service.member_for, sender_of(update))
    facts = scheme_facts(member.scheme).diploma if member is not None else None
    if facts is None:  # (the service has already said when the scheme has no diploma)
        return
    categories = ", ".join(str(c) for c in _list(status.get("categories"))) or "none yet"
    text = facts.describe(
        status.get("start"), status.get("counted"), categories, bool(status.get("ready"))
    )
    await reply(update, text)


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


async def submit_diploma(update: Update, context: BotContext) -> None:
    """/submit: send a ready diploma for validation."""
    await _run(update, flows_of(context).submit_diploma, sender_of(update))


async def export(update: Update, context: BotContext) -> None:
    """/export [csv] [all]: the member's records as a PDF (or CSV) document."""
    args = [a.lower() for a in context.args or []]
    fmt = "csv" if "csv" in args else "pdf"
    period = "all" if "all" in args else "current"
    try:
        data = await call(flows_of(context).export, sender_of(update), fmt, period)
    except ClaimError as exc:
        await reply(update, str(exc))
        return
    if len(data) > limits.FILE_MAX_BYTES:
        await reply(
            update, f"Your CPD record is {limits.human_size(len(data))}: too big to send here."
        )
        return
    if update.effective_message is not None:
        await update.effective_message.reply_document(
            data, filename=f"cpd-record.{fmt}", caption="Your CPD record"
        )


async def evidence(update: Update, context: BotContext) -> None:
    """/evidence: a zip of the member's evidence files, for an audit."""
    try:
        data = await call(flows_of(context).evidence_zip, sender_of(update))
    except ClaimError as exc:
        await reply(update, str(exc))
        return
    if len(data) > limits.FILE_MAX_BYTES:
        await reply(
            update,
            f"Your evidence zip is {limits.human_size(len(data))}, more than the "
            f"{limits.human_size(limits.FILE_MAX_BYTES)} Telegram lets a bot send: please ask "
            "the membership secretary for a copy.",
        )
        return
    if update.effective_message is not None:
        await update.effective_message.reply_document(
            data, filename="cpd-evidence.zip", caption="Your CPD evidence files"
        )


@button
async def on_dispensation_button(update: Update, context: BotContext, pressed: Callback) -> None:
    """Grant / Refuse on a dispensation card."""
    outcome = await call(
        flows_of(context).decide_dispensation,
        pressed.claim_id,
        sender_of(update),
        pressed.arg == "grant",
    )
    await _settled(update, outcome)


@button
async def on_diploma_button(update: Update, context: BotContext, pressed: Callback) -> None:
    """Validate on a diploma card."""
    outcome = await call(flows_of(context).validate_diploma, pressed.claim_id, sender_of(update))
    await _settled(update, outcome)


async def _settled(update: Update, outcome: str) -> None:
    query = query_of(update)
    await query.answer(outcome[:190])
    text = message_text(query.message)
    await query.edit_message_text(limits.fit(f"{text}\n\n{outcome}"), reply_markup=None)


async def on_declaration_button(update: Update, context: BotContext) -> None:
    """ "I confirm" on the annual declaration prompt."""
    query = query_of(update)
    try:
        outcome = await call(flows_of(context).declare, sender_of(update))
    except ClaimError as exc:
        await query.answer(str(exc)[:190], show_alert=True)
        return
    await query.answer("Recorded")
    await query.edit_message_text(limits.fit(outcome), reply_markup=None)


async def standings(update: Update, context: BotContext) -> None:
    """/standings (secretaries): every member's standing as a CSV document."""
    service = context.service
    if not await call(service.is_secretary, sender_of(update)):
        await reply(update, "Only the membership secretary can have the standings.")
        return
    data = await call(flows_of(context).standings_csv)
    if update.effective_message is not None:
        await update.effective_message.reply_document(
            data, filename="cpd-standings.csv", caption="Every member's standing today"
        )


async def undeclared(update: Update, context: BotContext) -> None:
    """/undeclared (secretaries): who has not made this year's declaration."""
    service = context.service
    if not await call(service.is_secretary, sender_of(update)):
        await reply(update, "Only the membership secretary can list declarations.")
        return
    year = service.today().year
    missing = await call(flows_of(context).missing_declarations, year)
    await reply(
        update,
        f"No declaration for {year} yet: {', '.join(missing)}"
        if missing
        else f"Everyone has made their declaration for {year}.",
    )
