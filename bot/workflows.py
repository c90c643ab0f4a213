"""Bot commands for scheme workflows: /dispensation, /declare, /diploma, /submit, /export,
/evidence, and the secretary's buttons on dispensation and diploma cards."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from cpd.bot import limits
from cpd.bot.callbacks import decode
from cpd.bot.common import call, reply, sender_of, service_of
from cpd.bot.fallbacks import STALE_BUTTON
from cpd.claims.intake import ClaimError
from cpd.claims.workflows import Workflows

AWAITING_REASON = "awaiting_dispensation_reason"
DISPENSATION = "g"  # secretary: grant / refuse a dispensation
DIPLOMA = "v"  # secretary: validate a diploma


def flows_of(context: ContextTypes.DEFAULT_TYPE) -> Workflows:
    """The workflows the application was built with."""
    return context.application.bot_data["workflows"]


async def _run(update: Update, func, *args) -> None:  # type: ignore[no-untyped-def]
    try:
        text = await call(func, *args)
    except ClaimError as exc:
        text = str(exc)
    await reply(update, text if isinstance(text, str) else "Done.")


async def dispensation(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/dispensation REASON: ask the secretary for relief from this period's target."""
    reason = " ".join(context.args or [])
    if not reason:
        await reply(
            update,
            "Why do you ask for a dispensation? Send /dispensation followed by "
            "the reason, e.g. /dispensation retired in June.",
        )
        return
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


async def declare(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/declare: the IIM annual CPD declaration."""
    await _run(update, flows_of(context).declare, sender_of(update))


async def diploma(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/diploma: where the IBMS diploma stands."""
    try:
        status = await call(flows_of(context).diploma_status, sender_of(update))
    except ClaimError as exc:
        await reply(update, str(exc))
        return
    categories = ", ".join(status["categories"]) or "none yet"
    ready = "ready: send /submit" if status["ready"] else "not ready yet"
    await reply(
        update,
        f"Diploma since {status['start']}: {status['counted']} of 24 reflected "
        f"activities; categories: {categories}. It is {ready}.",
    )


async def submit_diploma(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/submit: send a ready IBMS diploma for validation."""
    await _run(update, flows_of(context).submit_diploma, sender_of(update))


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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


async def evidence(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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


async def on_secretary_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Grant / Refuse on a dispensation card, Validate on a diploma card."""
    query = update.callback_query
    assert query is not None
    pressed = decode(query.data)
    if pressed is None:
        await query.answer(STALE_BUTTON, show_alert=True)
        return
    flows = flows_of(context)
    try:
        if pressed.prefix == DISPENSATION:
            outcome = await call(
                flows.decide_dispensation,
                pressed.claim_id,
                sender_of(update),
                pressed.arg == "grant",
            )
        else:
            outcome = await call(flows.validate_diploma, pressed.claim_id, sender_of(update))
    except ClaimError as exc:
        await query.answer(str(exc)[:190], show_alert=True)
        return
    await query.answer(outcome[:190])
    text = getattr(query.message, "text", "") or ""
    await query.edit_message_text(limits.fit(f"{text}\n\n{outcome}"), reply_markup=None)


async def on_declaration_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "I confirm" on the annual declaration prompt."""
    query = update.callback_query
    assert query is not None
    try:
        outcome = await call(flows_of(context).declare, sender_of(update))
    except ClaimError as exc:
        await query.answer(str(exc)[:190], show_alert=True)
        return
    await query.answer("Recorded")
    await query.edit_message_text(limits.fit(outcome), reply_markup=None)


async def standings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/standings (secretaries): every member's standing as a CSV document."""
    service = service_of(context)
    if not await call(service.is_secretary, sender_of(update)):
        await reply(update, "Only the membership secretary can have the standings.")
        return
    data = await call(flows_of(context).standings_csv)
    if update.effective_message is not None:
        await update.effective_message.reply_document(
            data, filename="cpd-standings.csv", caption="Every member's standing today"
        )


async def undeclared(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/undeclared (secretaries): who has not made this year's declaration."""
    service = service_of(context)
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
