"""What an uploaded file really is, from its first bytes: images and PDFs only. The client's
``Content-Type`` and the file's name are never believed (the name is only shown, cleaned by
the claims service)."""

from __future__ import annotations

HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"heif")


def sniff(data: bytes) -> str | None:
    """The content type of an image (JPEG, PNG, GIF, WebP, HEIC/HEIF) or a PDF, read from its
    magic bytes; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "image/heic"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def shown_name(name: str | None, limit: int = 80) -> str:
    """A client's file name as it may be echoed in an error: its last path part, printable
    characters only (it is never used as a path)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in "<>\"'&").strip(". ")
    return cleaned[:limit] or "this file"
