"""A claim form's uploads, checked the same way for the JSON API and the portal's page:
25 MB in all, at most ``max_upload_files`` files, images and PDFs only. The sender's file
name is only ever shown (the service cleans it), never used as a path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from cpd.claims.intake import Attachment
from cpd.web.config import WebConfig
from cpd.web.schemas import ClaimForm

ALLOWED_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/heic",
    "application/pdf",
)
FORM_OVERHEAD = 65536
"""Bytes of a multipart body beyond its files (boundaries, the text fields)."""


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
        errors = exc.errors()
        field = ".".join(str(p) for p in errors[0].get("loc", ())) or None
        await form.close()
        listed = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg")}
            for e in errors
        ]
        raise UploadRefused(422, field, f"{field}: {errors[0].get('msg')}", listed) from None
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
            content_type = (item.content_type or "").split(";")[0].strip().lower()
            if content_type not in ALLOWED_TYPES:
                raise UploadRefused(
                    415, "files", f"files: {content_type or 'this type'} is not an image or a PDF"
                )
            attachments.append(Attachment(data=data, content_type=content_type, name=item.filename))
    finally:
        await form.close()
    return ClaimUpload(fields, tuple(attachments), form)
