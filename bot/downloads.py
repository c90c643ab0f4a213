"""Fetches a member's photos and documents from Telegram (``getFile``, then the download),
retrying passing failures a few times within seconds; what cannot be fetched is reported, so
the claim is kept without it and the member is told exactly that."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from cpd.bot import limits
from cpd.claims.intake import Attachment

log = logging.getLogger(__name__)
ATTEMPTS = 4  # one try and three retries
FIRST_DELAY = 0.5  # seconds; doubled after each failure (0.5 + 1 + 2: 3.5 s at most)
MAX_RETRY_AFTER = 5.0  # a 429 asking for longer than this ends the retries


class FetchFailed(Exception):
    """The file could not be had from Telegram."""


@dataclass
class Fetched:
    """What a message's files came to: the attachments, and what could not be fetched."""

    attachments: list[Attachment] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # a sentence per file left out


async def fetch_bytes(
    bot: Bot, file_id: str, attempts: int = ATTEMPTS, first_delay: float = FIRST_DELAY
) -> bytes:
    """The file's bytes; FetchFailed after ``attempts`` passing failures or one refusal."""
    delay = first_delay
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            telegram_file = await bot.get_file(file_id)
            return bytes(await telegram_file.download_as_bytearray())
        except (BadRequest, Forbidden) as exc:  # refused: asking again cannot help
            raise FetchFailed(str(exc)) from exc
        except RetryAfter as exc:
            seconds = exc.retry_after
            wait = seconds.total_seconds() if hasattr(seconds, "total_seconds") else float(seconds)
            if wait > MAX_RETRY_AFTER:
                raise FetchFailed(str(exc)) from exc
            last, pause = exc, wait
        except (NetworkError, OSError) as exc:
            last, pause = exc, delay
            delay *= 2
        if attempt + 1 < attempts:
            log.warning("fetching file %s failed (%s); retrying in %.1f s", file_id, last, pause)
            await asyncio.sleep(pause)
    raise FetchFailed(str(last))


async def fetch_message_files(bot: Bot, message: Message) -> Fetched:
    """The photo (largest size) and document of a message, as attachments."""
    wanted: list[tuple[str, int | None, str, str, str]] = []  # id, size, type, name, label
    if message.photo:
        largest = message.photo[-1]
        name = f"photo-{message.message_id}.jpg"
        wanted.append((largest.file_id, largest.file_size, "image/jpeg", name, "photo"))
    if message.document:
        doc = message.document
        name = doc.file_name or f"file-{message.message_id}"
        mime = doc.mime_type or "application/octet-stream"
        wanted.append((doc.file_id, doc.file_size, mime, name, f"file {name}"))
    fetched = Fetched()
    for file_id, size, mime, name, label in wanted:
        if size is not None and size > limits.DOWNLOAD_MAX_BYTES:
            fetched.missing.append(
                f"Your {label} is {limits.human_size(size)}: Telegram lets me fetch files up to "
                f"{limits.human_size(limits.DOWNLOAD_MAX_BYTES)}"
            )
            continue
        try:
            data = await fetch_bytes(bot, file_id)
        except FetchFailed as exc:
            log.error("could not fetch %s of message %s: %s", label, message.message_id, exc)
            fetched.missing.append(f"I couldn't fetch your {label} from Telegram")
            continue
        fetched.attachments.append(Attachment(data, mime, name))
    return fetched
