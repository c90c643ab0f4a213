"""Putting a page upright before it is read.

Quarter turns come from Tesseract's orientation and script detection (``--psm 0``); small
skews (a sheet laid crooked on the scanner, up to :data:`MAX_SKEW` degrees) from a
projection profile: the page's ink is summed row by row at a range of trial angles, and the
angle whose rows are sharpest (text lines and the gaps between them) wins. No OpenCV.
"""

from __future__ import annotations

import numpy as np
import pytesseract
from PIL import Image, ImageFilter
from PIL.Image import Resampling

MAX_SKEW = 6.0
"""Degrees either way the profile searches."""
MIN_SKEW = 0.3
"""Smaller skews are left alone (Tesseract reads them as they are)."""
PROFILE_WIDTH = 700
"""The profile is computed on a copy this many pixels wide (fast, and enough)."""
MIN_OSD_CONFIDENCE = 1.5


def osd_rotation(image: Image.Image, seconds: float) -> int:
    """Degrees clockwise that turn the page upright (0, 90, 180 or 270), by Tesseract's OSD;
    0 when OSD cannot tell (too little text) or is unsure. Raises what pytesseract raises for a
    missing ``tesseract`` or a timeout (RuntimeError)."""
    try:
        osd = pytesseract.image_to_osd(
            image, config="--psm 0", output_type=pytesseract.Output.DICT, timeout=seconds
        )
    except pytesseract.TesseractError:  # "Too few characters", "Invalid resolution"
        return 0
    rotate = int(osd.get("rotate", 0)) % 360
    if float(osd.get("orientation_conf", 0.0)) < MIN_OSD_CONFIDENCE:
        return 0
    return rotate if rotate in (90, 180, 270) else 0


def turn(image: Image.Image, clockwise: float) -> Image.Image:
    """The image turned ``clockwise`` degrees, the new corners filled with white."""
    if not clockwise:
        return image
    if clockwise % 90 == 0:
        return image.rotate(-clockwise, expand=True)
    return image.rotate(-clockwise, expand=True, resample=Resampling.BICUBIC, fillcolor=255)


def _ink(image: Image.Image) -> np.ndarray:
    """A small 0/1 map of dark strokes: darker than their neighbourhood (robust to a dark
    table around a photographed sheet and to uneven light)."""
    scale = PROFILE_WIDTH / max(image.width, 1)
    small = image.resize((PROFILE_WIDTH, max(1, int(image.height * scale))), Resampling.BILINEAR)
    local = small.filter(ImageFilter.BoxBlur(12))
    grey = np.asarray(small, dtype=np.int16)
    mean = np.asarray(local, dtype=np.int16)
    return (grey < mean - 25).astype(np.uint8) * 255


def _sharpness(ink: Image.Image, angle: float) -> float:
    turned = ink.rotate(angle, resample=Resampling.NEAREST, fillcolor=0)
    rows = np.asarray(turned, dtype=np.float64).sum(axis=1)
    return float(np.square(np.diff(rows)).sum())


def skew_angle(image: Image.Image) -> float:
    """Degrees clockwise that straighten the text lines (0 when nothing to straighten)."""
    ink = _ink(image)
    if ink.sum() == 0:
        return 0.0
    map_ = Image.fromarray(ink)
    coarse = [a / 2 for a in range(int(-MAX_SKEW * 2), int(MAX_SKEW * 2) + 1)]
    best = max(coarse, key=lambda a: _sharpness(map_, a))
    fine = [best + d / 10 for d in range(-5, 6)]
    best = max(fine, key=lambda a: _sharpness(map_, a))
    # PIL turns counter-clockwise for a positive angle: the best counter-clockwise turn
    return -best if abs(best) >= MIN_SKEW else 0.0


def upright(image: Image.Image, osd_seconds: float) -> tuple[Image.Image, int, float]:
    """The page turned upright and straightened, with the quarter turn and skew applied."""
    quarter = osd_rotation(image, osd_seconds)
    image = turn(image, quarter)
    skew = skew_angle(image)
    return turn(image, skew), quarter, skew
