"""Turn one raw mail into what the claims service needs: a cleaned body, evidence, reply headers.

``parse_mail`` reads the bytes with the standard library (``email.policy.default``) and never
trusts the sender: broken MIME is read as far as it goes, file names are display names only,
PDF text is extracted with pypdf within fixed bounds. ``to_intake`` turns the result into a
channel-neutral :class:`~cpd.claims.intake.Intake`.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.feedparser import BytesFeedParser
from email.message import EmailMessage, Message
from email.utils import getaddresses

from cpd.claims.intake import MAX_ATTACHMENTS, Attachment, Intake, Sender
from cpd.claims.mail_verdicts import confirmation_secret
from cpd.mail_ingest import dsn
from cpd.mail_ingest.body_text import MAX_SCAN_CHARS, clean_body, html_to_text
from cpd.mail_ingest.normalise import MAX_NAME_CHARS, clean_address, clean_line, clean_text
from cpd.mail_ingest.sender_auth import Verification
from cpd.mail_ingest.sender_identity import Author, Refusal
from cpd.mail_ingest.thread_refs import body_of, intent_of, plain_subject, thread_of

log = logging.getLogger(__name__)

"""Text parts are cut to this before cleaning (a 10 MB body costs no more than this)."""
PDF_MAX_PAGES = 5
PDF_MAX_CHARS = 20_000
LOGO_MAX_BYTES = 10 * 1024
"""An image with a Content-ID below this size is a signature logo."""
REFERENCED_LOGO_MAX_BYTES = 100 * 1024
"""An image referenced by ``cid:`` from the HTML part is decoration up to this size; larger
ones are photos pasted into the mail and kept as evidence."""
MAX_REFERENCES = 20
MAX_HEADER_CHARS = 998
FEED_CHUNK_BYTES = 256 * 1024

EVIDENCE_TYPES = {
    "image/jpeg": ".jpg",
    "image/pjpeg": ".jpg",
    "image/png": ".png",
    "image/heic": ".heic",
    "image/heif": ".heif",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}
TYPES_BY_EXTENSION = {ext: kind for kind, ext in EVIDENCE_TYPES.items() if kind != "image/pjpeg"}
TYPES_BY_EXTENSION[".jpeg"] = "image/jpeg"
GENERIC_TYPES = {"application/octet-stream", "application/x-download", "binary/octet-stream"}


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
    parts = list(_leaves(message))
    html_parts = [p for p in parts if _is_body(p, "text/html")]
    html = "\n".join(_text_of(p) for p in html_parts)
    plain = [_text_of(p) for p in parts if _is_body(p, "text/plain")]
    text = "\n\n".join(t for t in plain if t.strip()) or html_to_text(html)
    attachments = tuple(_evidence(parts, html))
    return ParsedMail(
        message_id=_message_id(message),
        sender=sender,
        subject=_header(message, "Subject"),
        body=clean_body(text),
        attachments=attachments,
        pdf_text=_pdfs_text(attachments),
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


def _raw_header(message: Message, name: str) -> str | None:
    """The header's raw (undecoded) value; 8-bit bytes become U+FFFD."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return None


def _header(message: Message, name: str) -> str:
    """A header as one line of decoded text ("" when missing or unreadable)."""
    try:
        value = message.get(name)
        text = "" if value is None else str(value)
    except Exception:
        text = _raw_header(message, name) or ""
    return clean_line(text, MAX_HEADER_CHARS)


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
        raw = _raw_header(message, "From") or ""
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
    value = _printable(_raw_header(message, name) or "")
    bracketed = re.search(r"<[^<>]*>", value)  # drops comments like "(Jane's message)"
    return (bracketed.group(0) if bracketed else value)[:MAX_HEADER_CHARS] or None


def _printable(text: str) -> str:
    return "".join(ch for ch in text if "!" <= ch <= "~")


def _references(message: Message) -> str | None:
    """The References ids, the newest ``MAX_REFERENCES`` of them, space-separated."""
    raw = _raw_header(message, "References") or ""
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
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if _header(message, "Precedence").lower() in {"bulk", "junk", "list"}:
        return True
    if any(_header(message, h) for h in ("X-Autoreply", "X-Autorespond", "List-Id")):
        return True
    if message.get_content_type() == "multipart/report":
        return True
    if sender and sender.partition("@")[0] in {"mailer-daemon", "mailerdaemon"}:
        return True
    return_path = _raw_header(message, "Return-Path")
    return return_path is not None and return_path.strip() in {"", "<>"}


# -- parts --------------------------------------------------------------------------------


def _leaves(message: Message) -> Iterator[Message]:
    """Every non-multipart part, attached messages included (they are walked into)."""
    try:
        for part in message.walk():
            if not part.is_multipart():
                yield part
    except Exception:  # a part the walker chokes on ends the walk, keeping what was read
        log.debug("mail walk stopped early", exc_info=True)


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _filename(part: Message) -> str | None:
    """The part's file name as a display name: control characters removed, bounded."""
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        return None
    cleaned = "".join(ch for ch in clean_line(str(name)) if ch.isprintable()).strip()
    return cleaned[:MAX_NAME_CHARS] or None


def _is_body(part: Message, content_type: str) -> bool:
    """A text part of the body (not a text file attached to the mail, e.g. a disclaimer)."""
    if part.get_content_type() != content_type:
        return False
    return _disposition(part) != "attachment" and _filename(part) is None


def _payload(part: Message) -> bytes:
    """The decoded payload ("" when unreadable). Base64 is decoded straight from the text:
    the standard library splits and joins it first, three more copies of a large file."""
    raw = part.get_payload()
    if isinstance(raw, str) and str(part.get("Content-Transfer-Encoding", "")).lower().strip() == (
        "base64"
    ):
        try:
            return binascii.a2b_base64(raw)
        except (binascii.Error, ValueError):
            pass  # bad padding, 8-bit text: the lenient decoder below recovers what it can
    try:
        data = part.get_payload(decode=True)
    except Exception:
        return b""
    return data if isinstance(data, bytes) else b""


def _text_of(part: Message) -> str:
    """A text part decoded: the declared charset, else UTF-8, else Windows-1252; bounded."""
    data = _payload(part)[: MAX_SCAN_CHARS * 4]
    try:
        declared = part.get_content_charset()
    except Exception:
        declared = None
    for charset in (declared, "utf-8", "cp1252"):
        if not charset:
            continue
        try:
            return data.decode(charset)[:MAX_SCAN_CHARS]
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return data.decode("latin-1")[:MAX_SCAN_CHARS]


def _evidence_type(part: Message, name: str | None) -> str | None:
    """The evidence content type of a part, or None when it is not evidence."""
    content_type = part.get_content_type()
    if content_type in EVIDENCE_TYPES:
        return "image/jpeg" if content_type == "image/pjpeg" else content_type
    if content_type in GENERIC_TYPES and name:
        extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
        return TYPES_BY_EXTENSION.get(extension)
    return None


def _content_id(part: Message) -> str | None:
    value = _header(part, "Content-ID").strip().strip("<>").strip()
    return value or None


def _is_logo(part: Message, data: bytes, html: str) -> bool:
    """An image that decorates the mail (a signature logo) rather than shows evidence."""
    cid = _content_id(part)
    if cid is None or not part.get_content_type().startswith("image/"):
        return False
    if len(data) < LOGO_MAX_BYTES:
        return True
    referenced = f"cid:{cid}".lower() in html.lower()
    return referenced and len(data) <= REFERENCED_LOGO_MAX_BYTES


def _evidence(parts: list[Message], html: str) -> Iterator[Attachment]:
    """Images, PDFs and office documents; not calendars, vcards, logos, winmail.dat."""
    for part in parts:
        name = _filename(part)
        content_type = _evidence_type(part, name)
        if content_type is None:
            continue
        data = _payload(part)
        if not data or _is_logo(part, data, html):
            continue
        yield Attachment(data=data, content_type=content_type, name=name)


# -- PDF ----------------------------------------------------------------------------------


def _pdfs_text(attachments: tuple[Attachment, ...]) -> str:
    texts: list[str] = []
    total = 0
    for attachment in attachments:
        if attachment.content_type != "application/pdf" or total >= PDF_MAX_CHARS:
            continue
        text = pdf_text(attachment.data)
        if text:
            texts.append(text)
            total += len(text) + 1
    return "\n".join(texts)[:PDF_MAX_CHARS]


def pdf_text(data: bytes) -> str:
    """The text of a PDF's first pages, bounded; "" for a broken or encrypted PDF."""
    from pypdf import PdfReader  # here, not at the top: every `cpd` start-up would import it

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            return ""
        texts: list[str] = []
        total = 0
        for index in range(min(PDF_MAX_PAGES, len(reader.pages))):
            text = reader.pages[index].extract_text() or ""
            texts.append(text)
            total += len(text)
            if total >= PDF_MAX_CHARS:
                break
    except Exception:  # pypdf raises many kinds on hostile input; a bad PDF has no text
        log.debug("PDF text extraction failed", exc_info=True)
        return ""
    joined = "\n".join(texts)
    lines = (" ".join(line.split()) for line in joined.splitlines())
    return "\n".join(line for line in lines if line)[:PDF_MAX_CHARS]
