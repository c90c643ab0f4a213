"""``GET /healthz``: 200 when the database answers, else 503."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from cpd.web.deps import Service

router = APIRouter()


@router.get("/healthz")
async def healthz(service: Service) -> JSONResponse:
    """Whether this instance can serve: the database answers a query."""
    if await run_in_threadpool(service.database_answers):
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "unavailable", "error": "the database does not answer"}, 503)
