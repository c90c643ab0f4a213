"""What the OCR reader is bounded by and what it returns."""

from __future__ import annotations

from dataclasses import dataclass

READ = "read"
"""Text was found (by Tesseract or in a PDF's text layer)."""
NO_TEXT = "no_text"
"""The file was read and held no text."""
REFUSED = "refused"
"""The file was not read: over the pixel bound (a decompression bomb), or too many pages."""
FAILED = "failed"
"""Reading failed: a broken file, ``tesseract`` missing, a page over its time."""
UNSUPPORTED = "unsupported"
"""Not a type the reader reads (an office document)."""


@dataclass(frozen=True, slots=True)
class OcrLimits:
    """Bounds on one file: pixels per page (checked from the header before anything is
    decoded), pages per PDF, seconds of Tesseract per page, the PDF rendering resolution."""

    max_pixels: int = 60_000_000
    max_pages: int = 5
    page_seconds: float = 20.0
    dpi: int = 250
    tesseract_cmd: str = "tesseract"
    language: str = "eng"


@dataclass(frozen=True, slots=True)
class OcrResult:
    """The text of one file: ``status`` is one of ``read``, ``no_text``, ``refused``,
    ``failed``, ``unsupported``; ``note`` says why for the last three (and for pages left
    out); ``engine`` names what produced the text (``tesseract 5.3.0``, ``pdf-text``);
    ``confidence`` is Tesseract's mean word confidence, 0..1 (None for a text layer)."""

    status: str
    text: str = ""
    engine: str = ""
    confidence: float | None = None
    pages: int = 0
    note: str = ""
    seconds: float = 0.0


class Refused(Exception):
    """A file or page is not read (the message is the note)."""


class Failed(Exception):
    """Reading went wrong (the message is the note)."""
