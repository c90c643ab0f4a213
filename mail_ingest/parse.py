"""Turn one raw mail into what the claims service needs: a cleaned body, evidence, reply headers.

``parse_mail`` reads the bytes with the standard library (``email.policy.default``) and never
trusts the sender: broken MIME is read as far as it goes, file names are display names only,
PDF text is extracted with pypdf within fixed bounds. ``to_intake`` turns the result into a
channel-neutral :class:`~cpd.claims.intake.Intake`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass
from email import policy
from email.feedparser import BytesFeedParser
from email.message import EmailMessage, Message
from email.utils import getaddresses

from cpd.claims.intake import MAX_ATTACHMENTS, Attachment, Intake, Sender
from cpd.claims.mail_verdicts import confirmation_secret
from cpd.mail_ingest import dsn
from cpd.mail_ingest.body_text import MAX_SCAN_CHARS, clean_body, html_to_text
from cpd.mail_ingest.mime_parts import (
    MAX_HEADER_CHARS,
    evidence,
    header,
    is_body,
    leaves,
    pdfs_text,
    raw_header,
    text_of,
)
from cpd.mail_ingest.normalise import clean_address, clean_line, clean_text
from cpd.mail_ingest.sender_auth import Verification
from cpd.mail_ingest.sender_identity import Author, Refusal
from cpd.mail_ingest.thread_refs import body_of, intent_of, plain_subject, thread_of

log = logging.getLogger(__name__)

MAX_REFERENCES = 20
FEED_CHUNK_BYTES = 256 * 1024


class MalformedMail(ValueError):
    """The bytes are not a mail we can answer: no usable From address, or nothing parses."""


@dataclass(frozen=True)
class ParsedMail:
    """What a mail says, cleaned: see :func:`parse_mail`."""

    message_id: str | None
    sender: str | None
    subject: str
    body: str
    attachments: tuple[Attachment, ...]
    pdf_text: str
    in_reply_to: str | None
    references: str | None
    automatic: bool
    recipients: tuple[str, ...] = ()
    """The addresses the headers say it was delivered to (``cpd.mail_ingest.dsn``)."""
    delivery_reports: tuple[dict[str, str], ...] = ()
    """The recipient blocks of a delivery status notification (RFC 3464)."""
    confirm_secret: str | None = None
    """A ``Confirm: <secret>`` line anywhere in the text, quoted lines included (issue 10)."""


# -- entry points -------------------------------------------------------------------------


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse raw RFC 5322 bytes; raise :class:`MalformedMail` when there is no usable sender.

    Defects (a broken boundary, bad base64, 8-bit garbage in headers) are tolerated: whatever
    can be read is used.
    """
    message = _read(raw)
    sender = _sender(message)
    if sender is None:
        raise MalformedMail("the mail has no usable From address")
    parts = list(leaves(message))
    html_parts = [p for p in parts if is_body(p, "text/html")]
    html = "\n".join(text_of(p) for p in html_parts)
    plain = [text_of(p) for p in parts if is_body(p, "text/plain")]
    text = "\n\n".join(t for t in plain if t.strip()) or html_to_text(html)
    attachments = tuple(evidence(parts, html))
    return ParsedMail(
        message_id=_message_id(message),
        sender=sender,
        subject=header(message, "Subject"),
        body=clean_body(text),
        attachments=attachments,
        pdf_text=pdfs_text(attachments),
        in_reply_to=_message_id(message, "In-Reply-To"),
        references=_references(message),
        automatic=is_automatic(message, sender),
        recipients=tuple(dsn.recipients(message)),
        delivery_reports=tuple(dsn.delivery_reports(message)),
        confirm_secret=confirmation_secret(clean_text(text[:MAX_SCAN_CHARS])),
    )


def to_intake(
    parsed: ParsedMail,
    raw: bytes,
    received_at: dt.datetime,
    *,
    max_attachments: int = MAX_ATTACHMENTS,
    verification: Verification | None = None,
    author: Author | Refusal | None = None,
    envelope_sender: str | None = None,
) -> Intake:
    """The claims service's intake for a parsed mail (``received_at`` must be timezone-aware).

    Every string is normalised (see :mod:`cpd.mail_ingest.normalise`) so that what got a
    ``250`` can be stored; evidence beyond ``max_attachments`` is named in ``dropped``.
    With ``verification`` and ``author`` (what the channel found out, see
    :mod:`cpd.mail_ingest.sender_auth`) the sender is the normalised author and the source
    key is the sender's (:func:`sender_source_key`); without them, as before.
    """
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError("received_at must be timezone-aware")
    text = parsed.subject + "\n" + parsed.body
    if parsed.pdf_text and not any(ch.isdigit() for ch in parsed.body):
        text += "\n" + parsed.pdf_text
    kept = parsed.attachments[: max(0, max_attachments)]
    dropped = tuple(
        a.name or f"attachment {index}"
        for index, a in enumerate(parsed.attachments, start=1)
        if index > len(kept)
    )
    address = clean_address(parsed.sender)
    key, refusal = source_key(parsed.message_id, raw), None
    legacy: tuple[str, ...] = ()
    if isinstance(author, Author):
        address = author.address
    elif isinstance(author, Refusal):
        refusal = author.reason
    if verification is not None or author is not None:
        verdict = verification.verdict if verification is not None else None
        verdict = "fail" if refusal else verdict  # nobody's mail: keyed by its content
        key = sender_source_key(parsed.message_id, raw, address, verdict)
        legacy = (source_key(parsed.message_id, raw),) if verdict == "pass" and not refusal else ()
    subject = clean_line(parsed.subject, MAX_HEADER_CHARS)
    thread = thread_of(parsed.message_id, parsed.in_reply_to, _thread(parsed))
    text = clean_text(text, MAX_SCAN_CHARS)
    return Intake(
        channel="email",
        source_key=key,
        sender=Sender(email=address),
        text=text,
        received_at=received_at,
        attachments=kept,
        intent=intent_of(subject, thread),
        reply_to=thread,
        subject=plain_subject(subject),
        body=body_of(text, subject),
        automatic=parsed.automatic,
        recipients=tuple(parsed.recipients),
        delivery_reports=tuple(dict(r) for r in parsed.delivery_reports),
        confirm_secret=parsed.confirm_secret,
        dropped=dropped,
        verification=verification.verdict if verification is not None else None,
        verification_domain=verification.domain if verification is not None else "",
        verification_reasons=verification.reasons if verification is not None else (),
        refusal=refusal,
        envelope_sender=envelope_sender,
        legacy_keys=legacy,
    )


def source_key(message_id: str | None, raw: bytes) -> str:
    """``email:<Message-ID>``, or ``email:sha256:<hex of the raw bytes>`` without one.

    A Message-ID too long for the 255-character key column is hashed instead
    (``email:mid-sha256:<hex>``), which is as stable across deliveries as the ID itself.
    """
    if not message_id:
        return "email:sha256:" + hashlib.sha256(raw).hexdigest()
    key = "email:" + message_id
    if len(key) > 255:
        return "email:mid-sha256:" + hashlib.sha256(message_id.encode()).hexdigest()
    return key


def sender_source_key(
    message_id: str | None, raw: bytes, sender: str | None, verdict: str | None
) -> str:
    """The duplicate key of a mail whose sender was looked at (issue 10, item 5).

    A verified (or unchecked) sender's mail is keyed by that sender with its Message-ID,
    ``email:<sender>:<Message-ID>``, so a mail from someone else with the same Message-ID
    never shadows it; anything not verified is keyed by its content,
    ``email:sha256:<hex>``, so a forgery cannot take the key of a genuine mail either. Keys
    too long for the column are hashed (``email:sid-sha256:<hex>``). Mails stored by
    earlier releases kept ``email:<Message-ID>``, which is looked up as a legacy key.
    """
    if not message_id or verdict not in (None, "pass"):
        return "email:sha256:" + hashlib.sha256(raw).hexdigest()
    key = f"email:{sender or ''}:{message_id}"
    if len(key) > 255:
        text = f"{sender or ''}\n{message_id}".encode("utf-8", "replace")
        return "email:sid-sha256:" + hashlib.sha256(text).hexdigest()
    return key


# -- headers ------------------------------------------------------------------------------


def _read(raw: bytes) -> EmailMessage:
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise MalformedMail("the mail is not bytes")
    if isinstance(raw, memoryview):
        raw = raw.tobytes()
    if not raw or raw.isspace():
        raise MalformedMail("the mail is empty")
    try:
        # fed in chunks: parsing the whole bytes at once holds them decoded and split into
        # lines besides (a 24 MB mail peaked at 180 MB; this way at about 65 MB)
        parser = BytesFeedParser(policy=policy.default)
        view = memoryview(raw)
        for start in range(0, len(view), FEED_CHUNK_BYTES):
            parser.feed(bytes(view[start : start + FEED_CHUNK_BYTES]))
        message = parser.close()
    except Exception as exc:  # the parser is lenient; anything it still raises is fatal
        raise MalformedMail(f"the mail cannot be parsed: {type(exc).__name__}") from exc
    assert isinstance(message, EmailMessage)
    return message


def _sender(message: Message) -> str | None:
    """The first From address, lower-case, when it looks like an address."""
    address = ""
    try:
        header = message.get("From")
        addresses = getattr(header, "addresses", ())
        if addresses:
            address = addresses[0].addr_spec
    except Exception:
        address = ""
    if not _looks_like_address(address):
        raw = raw_header(message, "From") or ""
        found = [a for _, a in getaddresses([raw]) if _looks_like_address(a)]
        address = found[0] if found else ""
    return clean_address(address) if _looks_like_address(address) else None


def _looks_like_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain) and not any(ch.isspace() for ch in address)


def _message_id(message: Message, name: str = "Message-ID") -> str | None:
    """A message id as sent, whitespace removed (angle brackets kept), or None.

    The raw header is used: the structured parser cuts ids at a space. Only printable ASCII
    is kept (ids are keys and headers of replies).
    """
    value = _printable(raw_header(message, name) or "")
    bracketed = re.search(r"<[^<>]*>", value)  # drops comments like "(Jane's message)"
    return (bracketed.group(0) if bracketed else value)[:MAX_HEADER_CHARS] or None


def _printable(text: str) -> str:
    return "".join(ch for ch in text if "!" <= ch <= "~")


def _references(message: Message) -> str | None:
    """The References ids, the newest ``MAX_REFERENCES`` of them, space-separated."""
    raw = raw_header(message, "References") or ""
    ids = [_printable(i) for i in re.findall(r"<[^<>]*>", raw)] or raw.split()
    kept = [i[:MAX_HEADER_CHARS] for i in ids if i][-MAX_REFERENCES:]
    return " ".join(kept) or None


def _thread(parsed: ParsedMail) -> str | None:
    """References for a reply: the mail's References (or In-Reply-To) plus its Message-ID."""
    ids = (parsed.references or parsed.in_reply_to or "").split()
    if parsed.message_id and parsed.message_id not in ids:
        ids.append(parsed.message_id)
    return " ".join(ids[-MAX_REFERENCES:]) or None


def is_automatic(message: Message, sender: str | None) -> bool:
    """An auto-reply, bounce or list mail, which must never be answered."""
    auto_submitted = header(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if header(message, "Precedence").lower() in {"bulk", "junk", "list"}:
        return True
    if any(header(message, h) for h in ("X-Autoreply", "X-Autorespond", "List-Id")):
        return True
    if message.get_content_type() == "multipart/report":
        return True
    if sender and sender.partition("@")[0] in {"mailer-daemon", "mailerdaemon"}:
        return True
    return_path = raw_header(message, "Return-Path")
    return return_path is not None and return_path.strip() in {"", "<>"}


# -- parts --------------------------------------------------------------------------------
