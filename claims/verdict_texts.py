"""What members and the secretary are told about who sent a mail (issue 10)."""

from __future__ import annotations

from cpd.claims.intake import ClaimView
from cpd.claims.texts import describe


def confirm_by_mail(view: ClaimView, secret: str, days: int) -> str:
    """The mail to the registered address asking to confirm a held claim."""
    return "\n".join(
        [
            f"We received a CPD claim by mail in your name (#{view.id}), but we could not "
            "verify that it came from your mailbox, so it is on hold:",
            "",
            describe(view),
            "",
            "If you sent it, reply to this mail keeping this line:",
            "",
            f"Confirm: {secret}",
            "",
            f"If you did not send it, do nothing: the claim is withdrawn after {days} days. "
            "The line above works once.",
        ]
    )


def confirm_by_telegram(view: ClaimView, days: int) -> str:
    """The Telegram message with the confirm button for a held claim."""
    return (
        f"A CPD claim by mail in your name (#{view.id}) could not be verified as coming from "
        f"your mailbox:\n\n{describe(view)}\n\nIf you sent it, tap Confirm. Otherwise ignore "
        f"this: it is withdrawn after {days} days."
    )


IMPERSONATION_NOTICE = (
    "Someone sent a mail to the CPD claims address with your address as the sender, but it "
    "did not come from your mail provider, so nothing was recorded. You need not do anything; "
    "if you sent it yourself, please write again from your usual mail program, or use "
    "Telegram. (You hear of this at most once a day.)"
)

OVER_CAP = (
    "We received more than {cap} claims by mail from your address within an hour, so the "
    "rest were not recorded. If an automatic reply or forwarding rule is sending them, please "
    "switch it off. (You hear of this at most once an hour.)"
)

DISPENSATION_UNVERIFIED = (
    "Your dispensation request could not be accepted by mail: we could not verify that it "
    "came from your mailbox. Please ask with /dispensation in Telegram, or write again from "
    "your usual mail provider."
)

CONFIRMED = "Thank you: your claim #{id} is confirmed and was sent to the membership secretary."
