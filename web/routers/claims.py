"""``/api/claims``: list, one claim, a secretary's decision, a member's web claim and submit."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from cpd.claims import web_claims
from cpd.web.deps import Changing, Config, Service, User
from cpd.web.schemas import ClaimsQuery, DecisionIn
from cpd.web.uploads import UploadRefused, read_claim_form

router = APIRouter(prefix="/api/claims")

MAX_ID = 2**31 - 1
ClaimId = Annotated[int, Path(ge=1, le=MAX_ID, description="a claim's number")]
"""A claim's number in a path: a 4xx naming it, never a database overflow, when out of range."""


@router.get("")
def list_claims(service: Service, user: User, query: Annotated[ClaimsQuery, Query()]) -> Response:
    """Claims this user may see (a member: their own; a secretary: all), newest first. The
    list is serialised by orjson directly: FastAPI's encoder of a return value cost half as
    much again as building the page (benchmarks/web.py). ``auto=1``: only those accepted
    automatically, ``duplicates=1``: only possible repeats."""
    found = web_claims.visible_claims(
        service,
        user,
        query.status,
        query.member,
        query.limit,
        query.offset,
        auto=query.auto,
        duplicates=query.duplicates,
    )
    return Response(orjson.dumps(found), media_type="application/json")


@router.get("/{claim_id}")
def one_claim(claim_id: ClaimId, service: Service, user: User) -> dict[str, Any]:
    """One claim with its reflections and history (404 for another member's claim)."""
    return web_claims.claim_detail(service, user, claim_id)


@router.post("/{claim_id}/decision")
def decision(
    claim_id: ClaimId, body: DecisionIn, service: Service, user: Changing
) -> dict[str, Any]:
    """A secretary accepts (optionally with other points) or declines a pending claim."""
    return web_claims.decide(service, user, claim_id, body.action, body.points, body.reason)


@router.post("/{claim_id}/submit")
def submit(claim_id: ClaimId, service: Service, user: Changing) -> dict[str, Any]:
    """The member sends their draft to the secretaries."""
    return web_claims.submit(service, user, claim_id)


@router.post("", status_code=201)
async def new_claim(request: Request, service: Service, user: Changing, config: Config) -> Any:
    """A member's claim through the web (multipart ``text``, ``files``, ``date``): a draft."""
    try:
        upload = await read_claim_form(request, config)
    except UploadRefused as exc:
        return JSONResponse(exc.json(), status_code=exc.status)
    return await run_in_threadpool(
        web_claims.start_claim,
        service,
        user,
        upload.fields.text,
        upload.attachments,
        upload.fields.date,
        upload.fields.reflections(),
    )
