"""TLS for the mail channel: the SMTP listener's certificate and the outbound relay's trust.

``server_context(cert, key)`` is what STARTTLS on the inbound listener uses (PEM files; the
key must belong to the certificate). ``relay_context(ca)`` verifies the outbound relay
against a CA file of its own (a self-signed relay) instead of the system's CAs, hostname
checked. Both raise :class:`TlsFileError` with one line that names the file.

Outbound modes (``CPD_SMTP_RELAY_TLS``): ``auto`` is STARTTLS when the relay offers it,
verified (aiosmtplib's default, what the product always did); ``starttls`` requires it;
``tls`` is implicit TLS from the first byte (port 465); ``none`` never encrypts. With a CA
file, ``auto`` means ``starttls``: a relay one trusts by its own CA must not be talked to in
the clear because it stopped offering STARTTLS.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal

RelayTls = Literal["auto", "starttls", "tls", "none"]
RELAY_TLS_MODES: tuple[str, ...] = ("auto", "starttls", "tls", "none")


class TlsFileError(ValueError):
    """A certificate, key or CA file is missing, unreadable or does not fit."""


def readable_file(path: Path) -> Path:
    """``path`` when it is a readable regular file; TlsFileError otherwise."""
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except IsADirectoryError:
        raise TlsFileError(f"{path}: is a directory") from None
    except OSError as exc:
        raise TlsFileError(f"{path}: {exc.strerror or exc}") from None
    return path


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context for STARTTLS with ``cert`` and its ``key`` (TLS 1.2 or later)."""
    readable_file(cert)
    readable_file(key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert), str(key))
    except ssl.SSLError as exc:
        reason = exc.reason or str(exc)
        if "KEY_VALUES_MISMATCH" in str(reason).upper():
            raise TlsFileError(f"{key}: not the key of the certificate {cert}") from None
        raise TlsFileError(f"{cert} / {key}: not a PEM certificate and key ({reason})") from None
    return context


def relay_context(ca: Path | None) -> ssl.SSLContext:
    """A client context verifying the relay against ``ca`` (None: the system's CAs)."""
    if ca is None:
        return ssl.create_default_context()
    readable_file(ca)
    try:
        return ssl.create_default_context(cafile=str(ca))
    except ssl.SSLError as exc:
        raise TlsFileError(f"{ca}: not a PEM CA certificate ({exc.reason or exc})") from None


def effective_relay_tls(mode: str, ca: Path | None) -> RelayTls:
    """The mode in force: ``auto`` with a CA file is ``starttls``."""
    if mode not in RELAY_TLS_MODES:
        raise ValueError(f"expected one of {', '.join(RELAY_TLS_MODES)}, got {mode!r}")
    if mode == "auto" and ca is not None:
        return "starttls"
    return mode  # type: ignore[return-value]


def relay_send_options(mode: str, context: ssl.SSLContext | None) -> dict[str, Any]:
    """aiosmtplib keyword arguments for ``mode`` (see the module docstring)."""
    if mode == "none":
        return {"use_tls": False, "start_tls": False}
    options: dict[str, Any] = {"tls_context": context} if context is not None else {}
    if mode == "tls":
        return {**options, "use_tls": True, "start_tls": False}
    if mode == "starttls":
        return {**options, "use_tls": False, "start_tls": True}
    return {**options, "use_tls": False, "start_tls": None}
