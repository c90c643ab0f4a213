"""Evidence files: ``/evidence/{claim}/{file}`` (the file, with a safe Content-Disposition)
and ``/evidence/{claim}/{file}/thumb.png``, for the claim's member or a secretary (the check
is ``claims.desk_evidence``'s; anyone else gets 404)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from cpd.claims import desk_evidence
from cpd.web.deps import Service, User

router = APIRouter(prefix="/evidence")

SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"}
# nothing in a served file may run as a page of the site (Chromium's PDF viewer does not
# open under a sandbox, and it runs no script of the file's own)
SANDBOX = {**SAFE_HEADERS, "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'"}


@router.get("/{claim_id}/{evidence_id}")
async def evidence_file(claim_id: int, evidence_id: int, service: Service, user: User) -> Response:
    """The file: images and PDFs inline, anything else as a download."""
    found = await run_in_threadpool(
        desk_evidence.evidence_for, service, user, claim_id, evidence_id
    )
    return FileResponse(
        found.path,
        media_type=found.media_type,
        filename=found.filename,
        content_disposition_type="inline" if found.inline else "attachment",
        headers=SAFE_HEADERS if found.media_type == "application/pdf" else SANDBOX,
    )


@router.get("/{claim_id}/{evidence_id}/thumb.png")
async def thumbnail(claim_id: int, evidence_id: int, service: Service, user: User) -> Response:
    """A PNG thumbnail: the image scaled down, or a PDF's first page."""
    found = await run_in_threadpool(
        desk_evidence.evidence_for, service, user, claim_id, evidence_id
    )
    data = await run_in_threadpool(desk_evidence.thumbnail_png, found)
    return Response(data, media_type="image/png", headers=SANDBOX)
