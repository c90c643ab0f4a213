"""The member's portal: ``/me`` (progress, the chart, what is needed by when), the chart
image ``/charts/{membership_no}.png`` (also for the desk's member record), and the
downloads ``/me/record.pdf``, ``/me/record.csv`` and ``/me/evidence.zip``."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from cpd.claims import portal_downloads, portal_progress
from cpd.web.deps import Config, Service, User
from cpd.web.routers.portal_common import page

router = APIRouter()

Period = Annotated[str, Query(pattern="^(current|all)$")]
PRIVATE = {"Cache-Control": "private, no-store"}


def _file_part(membership_no: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", membership_no)[:40] or "member"


@router.get("/me", response_class=HTMLResponse)
async def me(request: Request, service: Service, user: User, config: Config) -> HTMLResponse:
    """Progress: the standing, the chart, and what is still needed by when."""
    found = await run_in_threadpool(portal_progress.progress, service, user)
    return page(
        request,
        "me.html",
        user,
        config,
        "me",
        {"p": found, "due": portal_progress.due_line(found)},
    )


@router.get("/charts/{membership_no}.png")
async def chart(membership_no: str, service: Service, user: User) -> Response:
    """The member's progress chart (their own, or anyone's for a secretary; 404 otherwise),
    drawn in a worker thread."""
    png = await run_in_threadpool(portal_progress.chart_png, service, user, membership_no[:64])
    return Response(png, media_type="image/png", headers=PRIVATE)


@router.get("/me/record.pdf")
async def record_pdf(service: Service, user: User, period: Period = "current") -> Response:
    """The member's record as a PDF (the same as ``cpd export`` and the bot's /export)."""
    data = await run_in_threadpool(portal_downloads.record, service, user, "pdf", period)
    name = f"cpd-record-{_file_part(user.membership_no)}-{period}.pdf"
    return Response(
        data,
        media_type="application/pdf",
        headers={**PRIVATE, "Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/me/record.csv")
async def record_csv(service: Service, user: User, period: Period = "current") -> Response:
    """The member's record as CSV (UTF-8, one line per claim)."""
    data = await run_in_threadpool(portal_downloads.record, service, user, "csv", period)
    name = f"cpd-record-{_file_part(user.membership_no)}-{period}.csv"
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={**PRIVATE, "Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/me/evidence.zip")
async def evidence_zip(service: Service, user: User) -> Response:
    """The member's own evidence files as a zip, built in a temporary file and streamed
    from it (deleted once sent)."""
    path = await run_in_threadpool(portal_downloads.evidence_zip, service, user)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"cpd-evidence-{_file_part(user.membership_no)}.zip",
        headers=PRIVATE,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
