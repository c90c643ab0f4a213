"""What a failed send to the relay means: the recipient refused for good, the relay down
(mail waits, nothing counts against the notification), or a temporary failure."""

from __future__ import annotations

import ssl

import aiosmtplib

RELAY_DOWN_ERRORS: tuple[type[BaseException], ...] = (
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPConnectTimeoutError,
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPTimeoutError,
    OSError,
    TimeoutError,
)


def _relay_misconfigured(error: BaseException) -> bool:
    """A failure every mail would meet (a certificate that does not verify, STARTTLS
    required but not offered, a rejected login): the relay counts as down, mail waits."""
    if isinstance(error, aiosmtplib.SMTPAuthenticationError | ssl.SSLError):
        return True
    return isinstance(error, aiosmtplib.SMTPException) and "STARTTLS" in str(error).upper()


def classify(error: BaseException) -> tuple[bool, bool]:
    """``(permanent, relay_down)`` for a failed send.

    Permanent: the relay refused the recipient with a 5xx reply. Relay down: no connection,
    a timeout, a dropped connection, a 421, or a TLS or login failure. Everything else is temporary.
    """
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refusal.code for refusal in error.recipients]
        return bool(codes) and all(500 <= code < 600 for code in codes), False
    if isinstance(error, aiosmtplib.SMTPRecipientRefused):
        return 500 <= error.code < 600, False
    if isinstance(error, RELAY_DOWN_ERRORS) or _relay_misconfigured(error):
        return False, True
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return False, error.code == 421
    return False, False
