"""``/api/claims``: list, one claim, a secretary's decision, a member's web claim and submit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cpd.claims import web_claims
from cpd.claims.intake import Attachment
from cpd.web.deps import Changing, Config, Service, User
from cpd.web.errors import validation_response
from cpd.web.schemas import ClaimForm, ClaimsQuery, DecisionIn

router = APIRouter(prefix="/api/claims")

ALLOWED_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/heic",
    "application/pdf",
)


@router.get("")
def list_claims(
    service: Service, user: User, query: Annotated[ClaimsQuery, Query()]
) -> list[dict[str, Any]]:
    """Claims this user may see (a member: their own; a secretary: all), newest first;
    ``auto=1``: only those accepted automatically, ``duplicates=1``: only possible repeats."""
    return web_claims.visible_claims(
        service,
        user,
        query.status,
        query.member,
        query.limit,
        query.offset,
        auto=query.auto,
        duplicates=query.duplicates,
    )


@router.get("/{claim_id}")
def one_claim(claim_id: int, service: Service, user: User) -> dict[str, Any]:
    """One claim with its reflections and history (404 for another member's claim)."""
    return web_claims.claim_detail(service, user, claim_id)


@router.post("/{claim_id}/decision")
def decision(claim_id: int, body: DecisionIn, service: Service, user: Changing) -> dict[str, Any]:
    """A secretary accepts (optionally with other points) or declines a pending claim."""
    return web_claims.decide(service, user, claim_id, body.action, body.points, body.reason)


@router.post("/{claim_id}/submit")
def submit(claim_id: int, service: Service, user: Changing) -> dict[str, Any]:
    """The member sends their draft to the secretaries."""
    return web_claims.submit(service, user, claim_id)


@router.post("", status_code=201)
async def new_claim(request: Request, service: Service, user: Changing, config: Config) -> Any:
    """A member's claim through the web (multipart ``text``, ``files``, ``date``): a draft."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > config.max_upload_bytes + 65536:
        raise HTTPException(413, f"At most {config.max_upload_bytes // 2**20} MB in all.")
    form = await request.form(max_files=config.max_upload_files, max_fields=20)
    try:
        fields = ClaimForm.model_validate({k: v for k, v in form.items() if isinstance(v, str)})
    except ValidationError as exc:
        return validation_response(exc.errors())
    attachments: list[Attachment] = []
    total = 0
    for item in form.getlist("files"):
        if not isinstance(item, UploadFile):
            continue
        data = await item.read(config.max_upload_bytes + 1)
        if not data and not item.filename:
            continue  # an empty file input
        total += len(data)
        if total > config.max_upload_bytes:
            raise HTTPException(413, f"At most {config.max_upload_bytes // 2**20} MB in all.")
        content_type = (item.content_type or "").split(";")[0].strip().lower()
        if content_type not in ALLOWED_TYPES:
            return JSONResponse(
                {
                    "error": f"files: {content_type or 'this type'} is not an image or a PDF",
                    "field": "files",
                },
                status_code=415,
            )
        # the name is only shown, never used as a path (the service cleans it)
        attachments.append(Attachment(data=data, content_type=content_type, name=item.filename))
    await form.close()
    return await run_in_threadpool(
        web_claims.start_claim,
        service,
        user,
        fields.text,
        attachments,
        fields.date,
        fields.reflections(),
    )
