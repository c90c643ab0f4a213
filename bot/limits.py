"""Telegram's limits, in one place, and the helpers that keep every send within them.

Telegram counts text lengths in UTF-16 code units (an emoji outside the BMP counts twice), so
:func:`fit` measures that way. Figures from the Bot API documentation.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

TEXT_MAX = 4096  # sendMessage / editMessageText text
CAPTION_MAX = 1024  # photo and document captions
CALLBACK_ANSWER_MAX = 200  # answerCallbackQuery text
CALLBACK_DATA_MAX = 64  # bytes of an inline button's callback_data
PHOTO_MAX_BYTES = 10 * 1024 * 1024  # sendPhoto upload
PHOTO_MAX_DIMENSION_SUM = 10_000  # width + height of a photo
PHOTO_MAX_RATIO = 20  # longer side / shorter side of a photo
FILE_MAX_BYTES = 50 * 1024 * 1024  # sendDocument upload
DOWNLOAD_MAX_BYTES = 20 * 1024 * 1024  # getFile: bots may fetch files up to this size
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
ELLIPSIS = "…"


def utf16_len(text: str) -> int:
    """The length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int = TEXT_MAX) -> str:
    """``text`` cut to ``limit`` (UTF-16 units) on a line or word boundary, with an ellipsis
    when anything was cut; unchanged when it fits."""
    if utf16_len(text) <= limit:
        return text
    budget = limit - utf16_len(ELLIPSIS)
    cut = text
    while utf16_len(cut) > budget:  # at most a few passes: each trims by the excess
        excess = utf16_len(cut) - budget
        cut = cut[: max(0, len(cut) - max(1, excess // 2))]
    for boundary in ("\n", " "):
        at = cut.rfind(boundary)
        if at >= len(cut) * 3 // 4:  # a boundary near the end; else cut mid-word
            cut = cut[:at]
            break
    return cut.rstrip() + ELLIPSIS


def chunks(lines: Iterable[str], limit: int = TEXT_MAX) -> list[str]:
    """Lines joined into as few messages of at most ``limit`` as they fit (a line longer than
    ``limit`` is cut with :func:`fit`)."""
    messages: list[str] = []
    current = ""
    for raw in lines:
        line = fit(raw, limit)
        candidate = f"{current}\n{line}" if current else line
        if utf16_len(candidate) <= limit:
            current = candidate
            continue
        messages.append(current)
        current = line
    if current:
        messages.append(current)
    return messages


def photo_fits(data: bytes, content_type: str) -> bool:
    """Whether ``data`` may go with sendPhoto: a JPEG, PNG or WebP of at most 10 MB, width +
    height at most 10,000 and a side ratio of at most 20. Anything else goes as a document; an
    image whose header cannot be read is tried as a photo (Telegram's refusal then sends it as
    a document)."""
    if content_type.lower() not in PHOTO_TYPES or len(data) > PHOTO_MAX_BYTES:
        return False
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return True
    if width <= 0 or height <= 0 or width + height > PHOTO_MAX_DIMENSION_SUM:
        return False
    return max(width, height) / min(width, height) <= PHOTO_MAX_RATIO


def human_size(size: int) -> str:
    """``812 KB``, ``12.5 MB``."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB"
