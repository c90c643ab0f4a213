"""Perceptual hashes of evidence photos (issue 15): the same photo re-encoded, resized or
trimmed at its edges hashes within a few bits of the original; a different photo does not.

``imagehash.phash`` (64 bits) on a greyscale image decoded in JPEG draft mode (a phone photo
of 12 MP decodes at 1/8 scale in a few milliseconds). Images over :data:`MAX_PIXELS` are not
decoded at all (a decompression bomb gets no hash, and the claim is kept as it is); large
files are hashed in a worker thread bounded by :data:`HASH_SECONDS`, so a pathological file
cannot hold the intake's transaction: it simply gets no hash.

:data:`SAME_PHOTO_BITS` is the Hamming distance at or below which two hashes are the same
photo. Measured on generated photos (tests/claims/test_duplicates.py): re-encoding at JPEG
quality 20 at half size moves at most 4 bits, trimming 3% from every edge at most 10, 5% from
one edge at most 14; different photos were 22 bits apart or more.
"""

from __future__ import annotations

import concurrent.futures
import io
import warnings

import imagehash
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 60_000_000
"""Images larger than this (width x height) are not hashed."""
SAME_PHOTO_BITS = 14
"""Hashes this many bits apart or fewer are the same photo."""
THREAD_FROM_BYTES = 2_000_000
"""Files this big are hashed in a worker thread with a time limit."""
HASH_SECONDS = 10.0
"""How long a worker thread may take over one image."""

_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="phash")

try:  # HEIC photos from iPhones (pillow-heif registers itself as a PIL opener)
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a dependency
    pass


def _hash(data: bytes) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                return None
            image.draft("L", (256, 256))  # JPEG: decode at a fraction of the size
            return str(imagehash.phash(image.convert("L")))
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        SyntaxError,
    ):
        return None


def photo_hash(data: bytes, content_type: str = "") -> str | None:
    """The perceptual hash of an image file as 16 hex digits, or None when it is not an image
    PIL reads, too large, or takes too long."""
    if (
        content_type
        and not content_type.startswith("image/")
        and content_type not in ("application/octet-stream",)
    ):
        return None
    if len(data) < THREAD_FROM_BYTES:
        return _hash(data)
    future = _POOL.submit(_hash, data)
    try:
        return future.result(timeout=HASH_SECONDS)
    except concurrent.futures.TimeoutError:
        return None


def distance(first: str, second: str) -> int:
    """Hamming distance between two hashes made by :func:`photo_hash`."""
    return bin(int(first, 16) ^ int(second, 16)).count("1")


def same_photo(first: str | None, second: str | None) -> bool:
    """Whether two hashes are of the same photo (None never matches)."""
    if not first or not second:
        return False
    return distance(first, second) <= SAME_PHOTO_BITS
