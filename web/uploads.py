"""A claim form's uploads, checked the same way for the JSON API and the portal's page:
25 MB in all, at most ``max_upload_files`` files, images and PDFs only, known by their first
bytes: the client's ``Content-Type`` and the file's name are never believed (the name is only
shown, cleaned by the claims service, never used as a path)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from cpd.claims.intake import Attachment
from cpd.web.config import WebConfig
from cpd.web.errors import validation_body
from cpd.web.schemas import ClaimForm

ALLOWED_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/heic",
    "application/pdf",
)
"""What :func:`sniff` recognises: the only types a claim form takes."""
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"heif")
FORM_OVERHEAD = 65536
"""Bytes of a multipart body beyond its files (boundaries, the text fields)."""


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


class UploadRefused(Exception):
    """A claim form that cannot be taken: the HTTP status, the field and a message."""

    def __init__(
        self, status: int, field: str | None, message: str, errors: list[Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message
        self.errors = errors or []

    def json(self) -> dict[str, Any]:
        """The API's error body: the message, the field, and every error."""
        return {"error": self.message, "field": self.field, "errors": self.errors}


@dataclass(frozen=True, slots=True)
class ClaimUpload:
    """A claim form's checked fields and files, and the raw form (for other fields)."""

    fields: ClaimForm
    attachments: tuple[Attachment, ...]
    form: FormData


def _too_big(config: WebConfig) -> UploadRefused:
    return UploadRefused(413, "files", f"At most {config.max_upload_bytes // 2**20} MB in all.")


async def read_claim_form(request: Request, config: WebConfig) -> ClaimUpload:
    """The multipart claim form, checked (UploadRefused saying what is wrong). A declared
    body over the limit is refused before it is read."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > config.max_upload_bytes + FORM_OVERHEAD:
        raise _too_big(config)
    try:
        form = await request.form(max_files=config.max_upload_files, max_fields=20)
    except Exception as exc:  # starlette's MultiPartException: too many files or fields
        raise UploadRefused(400, "files", str(getattr(exc, "message", exc))) from None
    try:
        fields = ClaimForm.model_validate({k: v for k, v in form.items() if isinstance(v, str)})
    except ValidationError as exc:
        await form.close()
        body = validation_body(exc.errors())
        raise UploadRefused(422, body["field"], body["error"], body["errors"]) from None
    attachments: list[Attachment] = []
    total = 0
    try:
        for item in form.getlist("files"):
            if not isinstance(item, UploadFile):
                continue
            data = await item.read(config.max_upload_bytes + 1)
            if not data and not item.filename:
                continue  # an empty file input
            total += len(data)
            if total > config.max_upload_bytes:
                raise _too_big(config)
            content_type = sniff(data)  # what the bytes are, not what the client says
            if content_type is None:
                raise UploadRefused(
                    415,
                    "files",
                    f"files: {shown_name(item.filename)} is not an image or a PDF "
                    "(JPEG, PNG, GIF, WebP, HEIC or PDF)",
                )
            attachments.append(Attachment(data=data, content_type=content_type, name=item.filename))
    finally:
        await form.close()
    return ClaimUpload(fields, tuple(attachments), form)
