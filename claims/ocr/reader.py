"""A file's text: its pages decoded (:mod:`~cpd.claims.ocr.decode`), put upright
(:mod:`~cpd.claims.ocr.orient`) and read by Tesseract, each page within its time."""

from __future__ import annotations

import dataclasses
import functools
import logging
import time

import pytesseract
from PIL import Image
from PIL.Image import Resampling

from cpd.claims.ocr import decode, orient
from cpd.claims.ocr.results import (
    FAILED,
    NO_TEXT,
    READ,
    REFUSED,
    UNSUPPORTED,
    Failed,
    OcrLimits,
    OcrResult,
    Refused,
)

log = logging.getLogger(__name__)

MAX_SIDE = 2600
"""Longer page images are scaled down to this (a 12-megapixel phone photo reads as well, and
faster)."""
MIN_SIDE = 1100
"""Shorter ones are scaled up to this (Tesseract wants letters of 20 pixels or more)."""
MAX_TEXT_CHARS = 20_000


def readable(data: bytes, content_type: str) -> bool:
    """Whether the reader reads this kind of file (a photo or a PDF)."""
    return decode.kind_of(data, content_type) != "other"


@functools.lru_cache(maxsize=4)
def engine_name(cmd: str) -> str:
    """``tesseract 5.3.0`` (the version of the command in use)."""
    pytesseract.pytesseract.tesseract_cmd = cmd
    return f"tesseract {pytesseract.get_tesseract_version()}"


def read_file(data: bytes, content_type: str, limits: OcrLimits | None = None) -> OcrResult:
    """The text of a photo or PDF (never raises for a bad file: see :class:`OcrResult`)."""
    limits = limits or OcrLimits()
    started = time.monotonic()
    kind = decode.kind_of(data, content_type)
    if kind == "other":
        return OcrResult(UNSUPPORTED, note=f"{content_type or 'this file'} is not read by OCR")
    try:
        if kind == "image":
            result = _read_pages([decode.Page(image=decode.open_image(data, limits))], limits)
        else:
            pages, total = decode.pdf_pages(data, limits)
            result = _read_pages(pages, limits)
            if total > len(pages):
                note = f"only the first {len(pages)} of {total} pages were read"
                result = dataclasses.replace(result, note=_join(result.note, note))
    except Refused as exc:
        result = OcrResult(REFUSED, note=str(exc))
    except Failed as exc:
        result = OcrResult(FAILED, note=str(exc))
    return dataclasses.replace(result, seconds=round(time.monotonic() - started, 3))


def _read_pages(pages: list[decode.Page], limits: OcrLimits) -> OcrResult:
    texts: list[str] = []
    confidences: list[float] = []
    engines: list[str] = []
    notes: list[str] = []
    for number, page in enumerate(pages, start=1):
        if page.text is not None:
            texts.append(page.text.strip())
            engines.append("pdf-text")
            continue
        assert page.image is not None
        try:
            text, confidence = _ocr(page.image, limits)
        except Failed as exc:
            if len(pages) == 1:
                raise
            notes.append(f"page {number}: {exc}")
            continue
        engines.append(engine_name(limits.tesseract_cmd))
        texts.append(text)
        if confidence is not None:
            confidences.append(confidence)
    text = "\n\n".join(t for t in texts if t)[:MAX_TEXT_CHARS]
    if not engines:
        return OcrResult(FAILED, pages=len(pages), note="; ".join(notes))
    return OcrResult(
        READ if any(ch.isalnum() for ch in text) else NO_TEXT,
        text=text,
        engine=" + ".join(dict.fromkeys(engines)),
        confidence=round(sum(confidences) / len(confidences), 3) if confidences else None,
        pages=len(pages),
        note="; ".join(notes),
    )


def _ocr(image: Image.Image, limits: OcrLimits) -> tuple[str, float | None]:
    """One page through Tesseract: (text, mean word confidence 0..1). Failed for a missing
    ``tesseract`` or a page over its time."""
    pytesseract.pytesseract.tesseract_cmd = limits.tesseract_cmd
    deadline = time.monotonic() + limits.page_seconds
    image = _sized(image)
    try:
        image, quarter, skew = orient.upright(image, min(5.0, limits.page_seconds / 3))
        if quarter or skew:
            log.debug("page turned %d degrees and straightened %.1f", quarter, skew)
        remaining = max(1.0, deadline - time.monotonic())
        data = pytesseract.image_to_data(
            image, lang=limits.language, output_type=pytesseract.Output.DICT, timeout=remaining
        )
    except pytesseract.TesseractNotFoundError:
        raise Failed(f"tesseract is not installed ({limits.tesseract_cmd} not found)") from None
    except RuntimeError as exc:  # pytesseract's "Tesseract process timeout"
        if "timeout" in str(exc).lower():
            raise Failed(f"the page took longer than {limits.page_seconds:g} s to read") from None
        raise Failed(f"tesseract failed: {exc}") from None
    except pytesseract.TesseractError as exc:
        raise Failed(f"tesseract failed: {exc.message}") from None
    return _text_of(data)


def _sized(image: Image.Image) -> Image.Image:
    side = max(image.size)
    if side > MAX_SIDE:
        factor = MAX_SIDE / side
    elif side < MIN_SIDE:
        factor = min(3.0, MIN_SIDE / max(side, 1))
    else:
        return image
    size = (max(1, int(image.width * factor)), max(1, int(image.height * factor)))
    return image.resize(size, Resampling.LANCZOS)


def _text_of(data: dict[str, list[object]]) -> tuple[str, float | None]:
    """Lines rebuilt from Tesseract's words (block, paragraph, line), and their confidence."""
    lines: dict[tuple[int, int, int], list[str]] = {}
    confidences: list[float] = []
    for block, par, line, word, conf in zip(
        data["block_num"],
        data["par_num"],
        data["line_num"],
        data["text"],
        data["conf"],
        strict=False,
    ):
        text = str(word).strip()
        if not text:
            continue
        lines.setdefault((_int(block), _int(par), _int(line)), []).append(text)
        value = float(str(conf))
        if value >= 0:
            confidences.append(value / 100)
    text = "\n".join(" ".join(words) for words in lines.values())
    return text, (sum(confidences) / len(confidences) if confidences else None)


def _int(value: object) -> int:
    return int(str(value))


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)
