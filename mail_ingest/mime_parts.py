"""The parts of a mail: its MIME leaves, which are the body and which are evidence (by type,
name and size; signature logos left out), their decoded bytes and text, and the text layer of
attached PDFs (pypdf, imported on the first PDF, within fixed bounds)."""

from __future__ import annotations

import binascii
import io
import logging
from collections.abc import Iterator
from email.message import Message

from cpd.claims.intake import Attachment
from cpd.mail_ingest.body_text import MAX_SCAN_CHARS
from cpd.mail_ingest.normalise import MAX_NAME_CHARS, clean_line

log = logging.getLogger(__name__)

"""Text parts are cut to this before cleaning (a 10 MB body costs no more than this)."""
PDF_MAX_PAGES = 5
PDF_MAX_CHARS = 20_000
LOGO_MAX_BYTES = 10 * 1024
"""An image with a Content-ID below this size is a signature logo."""
REFERENCED_LOGO_MAX_BYTES = 100 * 1024
"""An image referenced by ``cid:`` from the HTML part is decoration up to this size; larger
ones are photos pasted into the mail and kept as evidence."""
MAX_HEADER_CHARS = 998
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


def raw_header(message: Message, name: str) -> str | None:
    """The header's raw (undecoded) value; 8-bit bytes become U+FFFD."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return None


def header(message: Message, name: str) -> str:
    """A header as one line of decoded text ("" when missing or unreadable)."""
    try:
        value = message.get(name)
        text = "" if value is None else str(value)
    except Exception:
        text = raw_header(message, name) or ""
    return clean_line(text, MAX_HEADER_CHARS)


def leaves(message: Message) -> Iterator[Message]:
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


def is_body(part: Message, content_type: str) -> bool:
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


def text_of(part: Message) -> str:
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
    value = header(part, "Content-ID").strip().strip("<>").strip()
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


def evidence(parts: list[Message], html: str) -> Iterator[Attachment]:
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


def pdfs_text(attachments: tuple[Attachment, ...]) -> str:
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
