"""The OCR reader on certificates drawn in the fixtures: turned a quarter and a half, skewed,
noisy and JPEG-compressed, photographed at an angle, scanned into an image-only PDF, saved
as HEIC; and what it refuses (a decompression bomb) or gives up (a page over its time, no
``tesseract``), each with a note and no exception.

Real Tesseract; the images are small (about 1280x900) and few, each read once.
"""

from __future__ import annotations

import io
import random
import struct
import zlib

import pillow_heif
import pytest
from fpdf import FPDF
from PIL import Image

from cpd.claims.ocr import OcrLimits, read_file, readable
from cpd.claims.ocr.decode import open_image
from cpd.claims.ocr.orient import skew_angle
from tests.support import certificates as certs

pillow_heif.register_heif_opener()


def _certificate(seed: int, layout: str) -> certs.Certificate:
    return certs.draw(random.Random(seed), layout=layout, font_name="DejaVuSans.ttf")


def _says(text: str, cert: certs.Certificate) -> None:
    """The reading holds the certificate's title and its hours."""
    flat = " ".join(text.split()).lower()
    assert cert.title.lower() in flat, text
    assert f"{cert.hours:g}" in flat, text


@pytest.mark.parametrize(
    ("variant", "layout"),
    [("rot90", "classic"), ("rot180", "table"), ("skew_noisy", "letter"), ("photo", "award")],
)
def test_distorted_photos_are_read_upright(variant: str, layout: str) -> None:
    rng = random.Random(7)
    cert = _certificate(len(variant), layout)
    image = cert.image
    if variant == "rot90":
        image = certs.rotate(image, 90)
    elif variant == "rot180":
        image = certs.rotate(image, 180)
    elif variant == "skew_noisy":
        image = certs.noisy(certs.rotate(image, 3.5), rng)
    else:
        image = certs.photographed(image, rng)
    result = read_file(certs.jpeg(image, quality=40), "image/jpeg")
    assert result.status == "read", result.note
    assert result.engine.startswith("tesseract ")
    assert result.confidence is not None and result.confidence > 0.6
    _says(result.text, cert)


def test_the_profile_measures_a_small_skew() -> None:
    """No Tesseract: the projection profile alone finds the angle a sheet was laid at."""
    cert = _certificate(3, "classic")
    assert skew_angle(cert.image) == 0.0
    for degrees in (-4.0, 2.5):  # PIL turns counter-clockwise: straightening is clockwise
        found = skew_angle(certs.rotate(cert.image, degrees).convert("L"))
        assert found == pytest.approx(degrees, abs=0.4)


def test_a_scanned_pdf_without_a_text_layer_is_rendered_and_read() -> None:
    cert = _certificate(11, "classic")
    buffer = io.BytesIO()
    cert.image.save(buffer, "PDF", resolution=110)
    scan = buffer.getvalue()
    result = read_file(scan, "application/pdf", OcrLimits(dpi=150))
    assert result.status == "read" and result.pages == 1, result.note
    assert result.engine.startswith("tesseract")
    _says(result.text, cert)


def test_a_pdf_text_layer_is_taken_as_it_is() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text="This is to certify that Jane attended the workshop. CPD hours: 4")
    result = read_file(bytes(pdf.output()), "application/octet-stream")
    assert (result.status, result.engine, result.confidence) == ("read", "pdf-text", None)
    assert "CPD hours: 4" in result.text


def test_a_heic_photo_is_decoded() -> None:
    cert = _certificate(5, "table")
    buffer = io.BytesIO()
    cert.image.save(buffer, format="HEIF", quality=70)
    data = buffer.getvalue()
    assert data[4:12] == b"ftypheic"
    assert readable(data, "application/octet-stream")
    result = read_file(data, "image/heic")
    assert result.status == "read", result.note
    _says(result.text, cert)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` with a few bytes of pixels: a
    decompression bomb as far as anything that trusts the header is concerned."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("size", "limit"), [(30_000, 60_000_000), (9_000, 60_000_000)])
def test_a_decompression_bomb_is_refused_unread(size: int, limit: int) -> None:
    result = read_file(_png_header_only(size, size), "image/png", OcrLimits(max_pixels=limit))
    assert result.status == "refused"
    assert "too large" in result.note or "over the 60 megapixels limit" in result.note
    assert result.text == "" and result.seconds < 1


def test_a_page_over_its_time_fails_with_a_note() -> None:
    data = certs.png(_certificate(2, "classic").image)
    result = read_file(data, "image/png", OcrLimits(page_seconds=0.05))
    assert result.status == "failed"
    assert "longer than 0.05 s" in result.note


def test_without_tesseract_the_file_fails_with_a_note() -> None:
    data = certs.png(_certificate(2, "classic").image.resize((320, 225)))
    result = read_file(data, "image/png", OcrLimits(tesseract_cmd="/nonexistent/tesseract"))
    assert result.status == "failed"
    assert "tesseract is not installed" in result.note


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (
            b"PK\x03\x04 an office document",
            "application/vnd.oasis.opendocument.text",
            "unsupported",
        ),
        (b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg", "failed"),
        (b"%PDF-1.4 broken", "application/pdf", "failed"),
    ],
)
def test_files_it_cannot_read_say_why(data: bytes, content_type: str, status: str) -> None:
    result = read_file(data, content_type)
    assert result.status == status and result.note


def test_exif_orientation_is_applied_before_reading() -> None:
    """A phone stores a photo sideways with an EXIF turn: decoded as the phone shows it."""
    upright = _certificate(9, "award").image
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    buffer = io.BytesIO()
    upright.rotate(90, expand=True).save(buffer, "JPEG", quality=60, exif=exif)
    decoded = open_image(buffer.getvalue(), OcrLimits())
    assert decoded.size == upright.size and decoded.mode == "L"
