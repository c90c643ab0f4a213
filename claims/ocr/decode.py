"""From a file's bytes to page images, bounded before anything is decoded.

Photos (JPEG, PNG, WebP, GIF, TIFF's first frame, HEIC/HEIF through ``pillow-heif``) are
opened lazily: the header's width and height are checked against ``max_pixels`` before the
pixels are decoded, so a decompression bomb is refused with a note and costs nothing. PDFs
(``pypdfium2``): a page with a text layer gives its text; a page without one (a scan) is
rendered at ``dpi``, lowered when the page would exceed ``max_pixels``.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pillow_heif
import pypdfium2 as pdfium
from PIL import Image, ImageOps, UnidentifiedImageError

from cpd.claims.ocr.results import Failed, OcrLimits, Refused

pillow_heif.register_heif_opener()

IMAGE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/pjpeg",
        "image/png",
        "image/heic",
        "image/heif",
        "image/gif",
        "image/webp",
        "image/tiff",
        "image/bmp",
    }
)
PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
MIN_TEXT_LAYER_CHARS = 20
"""A PDF page with fewer letters and digits than this in its text layer is treated as a scan."""
MIN_DPI = 72

_pdfium_lock = threading.Lock()  # pdfium is not thread-safe


@dataclass(frozen=True, slots=True)
class Page:
    """One page: an image to read, or the text its PDF text layer already holds."""

    image: Image.Image | None = None
    text: str | None = None


def kind_of(data: bytes, content_type: str) -> str:
    """``image``, ``pdf`` or ``other``, from the declared type and the first bytes (a phone
    often sends a photo as ``application/octet-stream``)."""
    declared = content_type.split(";")[0].strip().lower()
    if declared in PDF_TYPES or data[:5] == b"%PDF-":
        return "pdf"
    if declared in IMAGE_TYPES or _looks_like_image(data):
        return "image"
    return "other"


def _looks_like_image(data: bytes) -> bool:
    head = data[:16]
    return (
        head.startswith((b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"II*\x00", b"MM\x00*", b"BM"))
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
        or head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypheif", b"ftyphevc")
    )


def megapixels(pixels: int) -> str:
    """``"400 megapixels"``."""
    return f"{pixels / 1_000_000:.0f} megapixels"


def open_image(data: bytes, limits: OcrLimits) -> Image.Image:
    """The decoded image, upright by its EXIF orientation, in greyscale (Refused over the
    pixel bound, Failed when it is not an image PIL can read)."""
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise Refused(f"the image is too large to read safely ({exc})") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise Failed(f"not a readable image: {exc}") from None
    width, height = image.size
    if width * height > limits.max_pixels:
        raise Refused(
            f"the image is {width}x{height} ({megapixels(width * height)}), over the "
            f"{megapixels(limits.max_pixels)} limit: not read"
        )
    try:
        image.load()
        upright = ImageOps.exif_transpose(image) or image
        if upright.mode in ("RGBA", "LA", "P", "PA"):
            rgba = upright.convert("RGBA")
            ground = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            upright = Image.alpha_composite(ground, rgba)
        return upright.convert("L")
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt pixel data
        raise Failed(f"the image could not be decoded: {exc}") from None


def pdf_pages(data: bytes, limits: OcrLimits) -> tuple[list[Page], int]:
    """The first ``max_pages`` pages of a PDF and how many it has (Failed for a broken or
    encrypted PDF)."""
    with _pdfium_lock:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise Failed(f"not a readable PDF: {exc}") from None
        try:
            total = len(document)
            return list(_pages(document, min(total, limits.max_pages), limits)), total
        finally:
            document.close()


def _pages(document: pdfium.PdfDocument, count: int, limits: OcrLimits) -> Iterator[Page]:
    for index in range(count):
        page = document[index]
        try:
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            textpage.close()
            if sum(ch.isalnum() for ch in text) >= MIN_TEXT_LAYER_CHARS:
                yield Page(text=text)
                continue
            yield Page(image=_render(page, limits))
        finally:
            page.close()


def _render(page: pdfium.PdfPage, limits: OcrLimits) -> Image.Image:
    """A scanned page as a greyscale image at ``dpi`` (lower when it would be over the bound)."""
    width_pt, height_pt = page.get_size()
    dpi = float(limits.dpi)
    pixels = (width_pt * dpi / 72) * (height_pt * dpi / 72)
    if pixels > limits.max_pixels:
        dpi *= (limits.max_pixels / pixels) ** 0.5
    if dpi < MIN_DPI:
        raise Refused(
            f"a page of {width_pt / 72:.0f}x{height_pt / 72:.0f} inches is too large to read"
        )
    bitmap = page.render(scale=dpi / 72, grayscale=True)
    try:
        image: Image.Image = bitmap.to_pil()
        return image.convert("L")
    finally:
        bitmap.close()
