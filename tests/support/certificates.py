"""Certificates drawn with PIL, for the OCR tests and ``benchmarks/ocr.py``: several layouts
and DejaVu fonts, with the distortions of a phone photo or a scanner (rotation, skew, noise,
JPEG compression, a perspective warp), and the facts each one states (kind, hours, date,
provider) so a reading can be scored against them."""

from __future__ import annotations

import calendar
import datetime as dt
import io
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansCondensed.ttf", "DejaVuSerifCondensed.ttf")
BOLD = {
    "DejaVuSans.ttf": "DejaVuSans-Bold.ttf",
    "DejaVuSerif.ttf": "DejaVuSerif-Bold.ttf",
    "DejaVuSansCondensed.ttf": "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSerifCondensed.ttf": "DejaVuSerifCondensed-Bold.ttf",
}

# (kind, words on the certificate for it, a title)
ACTIVITIES = (
    ("training", "the training course", "Corrosion Control in Marine Engines"),
    ("training", "the workshop", "Records Retention and Disposal"),
    ("training", "the webinar", "Hybrid Drive Diagnostics"),
    ("conference", "the conference", "Annual Marine Surveying Conference"),
    ("conference", "the symposium", "Clinical Biochemistry Symposium"),
    ("exhibition", "the exhibition", "Southampton International Boat Show"),
    ("training", "the e-learning module", "Electric Vehicle Safety Level 2"),
    ("conference", "the congress", "European Haematology Congress"),
)
PROVIDERS = (
    ("external", "Marine Training Ltd"),
    ("external", "Northgate College"),
    ("external", "Bosch Automotive Academy"),
    ("institute", "International Institute of Marine Surveying"),
    ("institute", "Institute of the Motor Industry"),
    ("external", "Royal Yachting Association"),
)
MONTHS = list(calendar.month_name)[1:]


@dataclass(frozen=True)
class Certificate:
    """One drawn certificate and what it states."""

    image: Image.Image
    kind: str
    hours: float
    date: dt.date
    provider: str
    issuer: str
    title: str
    layout: str


def font(name: str, size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """A DejaVu font."""
    return ImageFont.truetype(str(FONT_DIR / (BOLD[name] if bold else name)), size)


def _date_text(day: dt.date, style: int) -> str:
    if style == 0:
        return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    if style == 1:
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def _hours_text(hours: float) -> str:
    return f"{hours:g}"


def lines_for(
    layout: str, name: str, activity: tuple[str, str, str], issuer: str, hours: float, day: dt.date
) -> list[tuple[str, bool]]:
    """The certificate's lines (text, bold) for one of the layouts."""
    _, words, title = activity
    date_style = {"classic": 0, "table": 1, "letter": 2, "award": 0}[layout]
    when = _date_text(day, date_style)
    h = _hours_text(hours)
    if layout == "classic":
        return [
            ("CERTIFICATE OF ATTENDANCE", True),
            ("This is to certify that", False),
            (name, True),
            (f"attended {words}", False),
            (title, True),
            (f"Date of attendance: {when}", False),
            (f"CPD hours: {h}", False),
            (f"Issued by {issuer}", False),
        ]
    if layout == "table":
        return [
            (issuer, True),
            ("Certificate of Completion", True),
            (f"Participant: {name}", False),
            (f"Course: {title}", False),
            (f"Date: {when}", False),
            (f"Duration: {h} hours", False),
            ("Signed on behalf of the organisers", False),
        ]
    if layout == "letter":
        return [
            (issuer, True),
            ("CPD CERTIFICATE", True),
            (f"We confirm that {name} took part in {words}", False),
            (f'"{title}"', False),
            (f"held on {when}.", False),
            (f"This activity is worth {h} CPD hours.", False),
        ]
    return [
        ("Certificate of Achievement", True),
        ("Awarded to", False),
        (name, True),
        (f"for completing {words}", False),
        (title, True),
        (f"{h} hours of CPD   {when}", False),
        (f"Presented by {issuer}", False),
    ]


LAYOUTS = ("classic", "table", "letter", "award")
NAMES = ("Jane Smith", "Omar Haddad", "Priya Natarajan", "Tom O'Brien", "Lucy Chen")


def draw(
    rng: random.Random, layout: str | None = None, font_name: str | None = None, scale: float = 1.0
) -> Certificate:
    """A clean certificate (A4 landscape at about 110 dpi times ``scale``)."""
    layout = layout or rng.choice(LAYOUTS)
    font_name = font_name or rng.choice(FONTS)
    activity = rng.choice(ACTIVITIES)
    provider, issuer = rng.choice(PROVIDERS)
    hours = rng.choice((1, 1.5, 2, 3, 3.5, 4, 6, 7, 7.5, 12))
    day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(0, 300))
    width, height = int(1280 * scale), int(900 * scale)
    image = Image.new("RGB", (width, height), (250, 248, 240))
    pen = ImageDraw.Draw(image)
    pen.rectangle((20, 20, width - 20, height - 20), outline=(120, 90, 40), width=6)
    lines = lines_for(layout, rng.choice(NAMES), activity, issuer, hours, day)
    y = int(80 * scale)
    for text, bold in lines:
        size = int((44 if bold else 32) * scale)
        face = font(font_name, size, bold)
        w = pen.textlength(text, font=face)
        x = (width - w) / 2 if layout != "table" else int(90 * scale)
        pen.text((x, y), text, fill=(20, 20, 30), font=face)
        y += int(size * 1.9)
    return Certificate(image, activity[0], float(hours), day, provider, issuer, activity[2], layout)


def rotate(image: Image.Image, degrees: float) -> Image.Image:
    """Turned counter-clockwise by ``degrees`` on a paper-coloured ground."""
    return image.rotate(degrees, expand=True, fillcolor=(250, 248, 240), resample=Image.BICUBIC)


def noisy(image: Image.Image, rng: random.Random, amount: int = 40) -> Image.Image:
    """Speckled with salt-and-pepper dots and a slight blur (a poor scan)."""
    out = image.copy()
    pixels = out.load()
    assert pixels is not None
    w, h = out.size
    for _ in range(w * h // amount):
        shade = rng.choice((0, 90, 255))
        pixels[rng.randrange(w), rng.randrange(h)] = (shade, shade, shade)
    return out.filter(ImageFilter.GaussianBlur(0.6))


def jpeg(image: Image.Image, quality: int = 35) -> bytes:
    """JPEG bytes at a low quality."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def png(image: Image.Image) -> bytes:
    """PNG bytes."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def photographed(image: Image.Image, rng: random.Random, strength: float = 0.08) -> Image.Image:
    """Seen at an angle: a perspective warp onto a darker table, with uneven light."""
    w, h = image.size
    pad = int(max(w, h) * 0.08)
    ground = Image.new("RGB", (w + 2 * pad, h + 2 * pad), (70, 60, 55))
    ground.paste(image, (pad, pad))
    gw, gh = ground.size

    def jitter(limit: float) -> float:
        return rng.uniform(0, limit)

    s = strength
    # where the corners of the output come from in the input (a trapezoid of the input)
    quad = (
        jitter(s * gw),
        jitter(s * gh),
        jitter(s * gw * 0.3),
        gh - jitter(s * gh),
        gw - jitter(s * gw * 0.3),
        gh - jitter(s * gh),
        gw - jitter(s * gw),
        jitter(s * gh),
    )
    warped = ground.transform((gw, gh), Image.QUAD, quad, resample=Image.BICUBIC)
    light = Image.linear_gradient("L").resize((gw, gh)).point(lambda v: 255 - v // 5)
    shade = Image.merge("RGB", (light, light, light))
    return Image.composite(warped, Image.new("RGB", (gw, gh), (0, 0, 0)), shade.convert("L"))


def distorted(rng: random.Random, variant: str) -> tuple[Certificate, bytes]:
    """A certificate in one of the benchmark's variants, as file bytes (JPEG or PNG)."""
    cert = draw(rng)
    image = cert.image
    if variant == "rot90":
        image = rotate(image, 90)
    elif variant == "rot180":
        image = rotate(image, 180)
    elif variant == "skew":
        image = rotate(image, rng.choice((-1, 1)) * rng.uniform(2.0, 4.0))
    elif variant == "noisy":
        image = noisy(image, rng)
    elif variant == "photo":
        image = photographed(image, rng)
    data = jpeg(image, quality=rng.choice((30, 45, 60))) if variant != "clean" else png(image)
    return cert, data


VARIANTS = ("clean", "rot90", "rot180", "skew", "noisy", "photo")
