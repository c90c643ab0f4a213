"""Who a mail says it is from: exactly one ``From:`` mailbox, or a refusal saying why not.

A member's claim needs one author. :func:`author_of` refuses a mail with no or two ``From:``
headers, two mailboxes in one, group syntax, a source route (``<@relay:jane@example.com>``),
a ``Sender:`` naming someone else, or anything the strict header parser of the standard
library reports as invalid (``jane@example.com <evil@attacker.net>`` is read by some programs
as one address and by others as the other, so it is nobody's). The display name is never
looked at. The address is compared after normalisation: Unicode NFC, lower case, and the
domain as its IDNA 2008 A-label, so ``jane@exаmple.com`` with a Cyrillic ``а`` is
``jane@xn--exmple-4nf.com``, a stranger, and a domain IDNA 2008 does not allow (full-width
letters, symbols) is refused.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from email import errors, policy
from email.message import Message
from email.parser import BytesHeaderParser

import idna

MAX_ADDRESS_CHARS = 254


@dataclass(frozen=True, slots=True)
class Author:
    """The one mailbox a mail is from, normalised for comparison.

    ``address`` is ``local@domain`` in lower case with the domain as A-label: the key to
    compare with a member's registered address; ``domain`` is the A-label domain (what DNS
    and DMARC look at); ``unicode_domain`` is the same domain in Unicode, for showing.
    """

    address: str
    local: str
    domain: str
    unicode_domain: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """The mail has no single author; ``reason`` says why, in words for the audit trail."""

    reason: str


def author_of(raw_or_message: bytes | Message) -> Author | Refusal:
    """The single ``From:`` mailbox of a mail (raw bytes or a parsed message), or a refusal."""
    message = _headers_of(raw_or_message)
    if isinstance(message, Refusal):
        return message
    froms = _raw_values(message, "From")
    if not froms:
        return Refusal("no From header")
    if len(froms) > 1:
        return Refusal(f"{len(froms)} From headers")
    author = _one_mailbox(froms[0], "From")
    if isinstance(author, Refusal):
        return author
    senders = _raw_values(message, "Sender")
    if len(senders) > 1:
        return Refusal(f"{len(senders)} Sender headers")
    if senders:
        sender = _one_mailbox(senders[0], "Sender")
        if isinstance(sender, Refusal):
            return sender
        if sender.address != author.address:
            return Refusal(f"Sender {sender.address} is not the From mailbox {author.address}")
    return author


def normalise_address(address: str) -> str | None:
    """``local@domain`` normalised as :class:`Author` does, or None when it is not one."""
    local, at, domain = address.strip().rpartition("@")
    if not at:
        return None
    author = _normalised(local, domain, "address")
    return None if isinstance(author, Refusal) else author.address


def normalise_domain(domain: str) -> str | None:
    """A domain as its lower-case IDNA 2008 A-label, or None when it is not a valid one."""
    text = unicodedata.normalize("NFC", domain.strip()).lower()
    if not text or len(text) > 253 or text.endswith(".") or text.startswith("["):
        return None
    try:
        if text.isascii():
            labels = text.split(".")
            if len(labels) < 2 or not all(_ascii_label(label) for label in labels):
                return None
            if any(label.startswith("xn--") for label in labels):
                idna.decode(text)  # an A-label must decode to a valid U-label
            return text
        return idna.encode(text, uts46=False).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None


def _ascii_label(label: str) -> bool:
    return (
        0 < len(label) < 64
        and all(ch.isalnum() or ch == "-" for ch in label)
        and not label.startswith("-")
        and not label.endswith("-")
    )


def _headers_of(raw_or_message: bytes | Message) -> Message | Refusal:
    if isinstance(raw_or_message, Message):
        return raw_or_message
    if not isinstance(raw_or_message, bytes | bytearray | memoryview):
        return Refusal("not a mail")
    try:
        head = header_section(bytes(raw_or_message))
        return BytesHeaderParser(policy=policy.compat32).parsebytes(head)
    except Exception as exc:  # the parser is lenient; anything it still raises is fatal
        return Refusal(f"headers cannot be parsed: {type(exc).__name__}")


def header_section(raw: bytes) -> bytes:
    """The headers and the blank line after them (the whole mail when there is none): the
    header parser would otherwise decode the whole body too (a 24 MB mail, 100 MB of text)."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(separator)
        if end >= 0:
            return raw[: end + len(separator)]
    return raw


def _raw_values(message: Message, name: str) -> list[str]:
    """Every value of a header as sent, unfolded; 8-bit bytes read as UTF-8."""
    values = []
    for key, value in message.raw_items():
        if key.strip().lower() == name.lower():
            text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            values.append(text.replace("\r\n", "").replace("\n", "").replace("\r", ""))
    return values


def _one_mailbox(value: str, name: str) -> Author | Refusal:
    if "\ufffd" in value:
        return Refusal(f"{name} is not valid UTF-8")
    try:
        header = policy.default.header_factory(name, value)
    except Exception as exc:
        return Refusal(f"{name} cannot be parsed: {type(exc).__name__}")
    defects = list(header.defects)
    if any("route" in str(defect) for defect in defects):
        return Refusal(f"{name} has a source route")
    # A UTF-8 local part is what SMTPUTF8 (RFC 6531) mail carries: a member's real address.
    allowed = (errors.ObsoleteHeaderDefect, errors.NonASCIILocalPartDefect)
    invalid = [d for d in defects if not isinstance(d, allowed)]
    if invalid:
        return Refusal(f"{name} is malformed: {invalid[0]}")
    groups = list(header.groups)
    if any(group.display_name is not None for group in groups):
        return Refusal(f"{name} uses group syntax")
    mailboxes = [address for group in groups for address in group.addresses]
    if not mailboxes:
        return Refusal(f"{name} has no mailbox")
    if len(mailboxes) > 1:
        return Refusal(f"{name} has {len(mailboxes)} mailboxes")
    mailbox = mailboxes[0]
    if not mailbox.username or not mailbox.domain:
        return Refusal(f"{name} has no address with a domain")
    if mailbox.domain.lower() not in value.lower():
        return Refusal(f"{name} address is not written plainly")  # e.g. inside an encoded-word
    return _normalised(mailbox.username, mailbox.domain, name)


def _normalised(local: str, domain: str, name: str) -> Author | Refusal:
    local = unicodedata.normalize("NFC", local).lower()
    if not local or "@" in local or any(ch.isspace() or ord(ch) < 32 for ch in local):
        return Refusal(f"{name} has an unusable local part")
    alabel = normalise_domain(domain)
    if alabel is None:
        return Refusal(f"{name} domain {domain!r} is not a valid domain name")
    address = f"{local}@{alabel}"
    if len(address) > MAX_ADDRESS_CHARS:
        return Refusal(f"{name} address is too long")
    return Author(address, local, alabel, idna.decode(alabel))
