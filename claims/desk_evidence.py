"""A claim's evidence files for the web: the file itself and a PNG thumbnail (an image scaled
down, or a PDF's first page rendered with pypdfium2), for the claim's member or a secretary
only (anyone else is told there is no such file).

A file is served inline only when its type is an image or a PDF that a browser shows safely;
anything else is offered as a download of ``application/octet-stream``, so a stored file can
never run as a page of the site. Thumbnails are kept in memory (a bounded cache keyed by the
file's sha256), never on disk, so a purged file leaves nothing behind.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageOps

from cpd.claims.web_access import NotFound, WebUser
from cpd.storage import claims_repo, reading

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService

INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"})
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic"})
THUMB_SIZE = (480, 480)
CACHE_ENTRIES = 256
MAX_PIXELS = 60_000_000

_cache: OrderedDict[str, bytes] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class EvidenceDownload:
    """What the web sends for an evidence file: where it is, as which type and name, and
    whether a browser may show it inline."""

    path: Path
    media_type: str
    filename: str
    inline: bool
    sha256: str
    content_type: str


def evidence_for(
    service: ClaimsService, user: WebUser, claim_id: int, evidence_id: int
) -> EvidenceDownload:
    """The file, when it belongs to the claim and the user is the claim's member or a
    secretary (NotFound otherwise, also when the file is gone from the disk)."""
    with reading(service.engine) as session:
        claim = claims_repo.get(session, claim_id)
        if claim is None or not (user.is_secretary or claim.member_id == user.member_id):
            raise NotFound("There is no such evidence file.")
        files = [e for e in claims_repo.evidence_of(session, [claim_id]) if e.id == evidence_id]
    if not files or not Path(files[0].stored_path).is_file():
        raise NotFound("There is no such evidence file.")
    found = files[0]
    content_type = found.content_type.split(";")[0].strip().lower()
    inline = content_type in INLINE_TYPES
    name = found.original_name or f"evidence-{evidence_id}"
    return EvidenceDownload(
        Path(found.stored_path),
        content_type if inline else "application/octet-stream",
        name,
        inline,
        found.sha256,
        content_type,
    )


def _placeholder(label: str) -> Image.Image:
    picture = Image.new("RGB", (240, 160), "#eeeef2")
    ImageDraw.Draw(picture).text((16, 70), label, fill="#5e5e66")
    return picture


def _render(path: Path, content_type: str) -> Image.Image:
    if content_type == "application/pdf":
        import pypdfium2

        document = pypdfium2.PdfDocument(str(path))
        try:
            if len(document) == 0:
                return _placeholder("empty PDF")
            page = document[0]
            width, height = page.get_size()
            scale = min(THUMB_SIZE[0] / max(width, 1), THUMB_SIZE[1] / max(height, 1), 4.0)
            rendered: Image.Image = page.render(scale=scale).to_pil().convert("RGB")
            return rendered
        finally:
            document.close()
    if content_type == "image/heic":
        import pillow_heif

        pillow_heif.register_heif_opener()
    with Image.open(path) as opened:
        if opened.width * opened.height > MAX_PIXELS:
            return _placeholder("image too large to preview")
        opened.draft("RGB", THUMB_SIZE)  # JPEG: decode at a reduced size
        picture = ImageOps.exif_transpose(opened).convert("RGB")
    picture.thumbnail(THUMB_SIZE)
    return picture


def thumbnail_png(download: EvidenceDownload) -> bytes:
    """A PNG at most 480 pixels on a side: the image, a PDF's first page, or a labelled
    placeholder for anything else (or a file that cannot be read)."""
    key = f"{download.sha256}:{download.content_type}"
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    try:
        if download.content_type in IMAGE_TYPES or download.content_type == "application/pdf":
            picture = _render(download.path, download.content_type)
        else:
            picture = _placeholder(download.content_type or "file")
    except Exception:  # a damaged or hostile file: a placeholder, never an error page
        picture = _placeholder("no preview")
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", optimize=True)
    data = buffer.getvalue()
    with _cache_lock:
        _cache[key] = data
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
    return data
