"""The server-rendered pages (Jinja2): for now ``/``, who is signed in and, for a secretary,
the pending queue."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from cpd.claims import web_claims
from cpd.web.deps import Config, MaybeUser, Service, csrf_token

router = APIRouter()
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, service: Service, user: MaybeUser, config: Config) -> HTMLResponse:
    """The start page: sign-in help, or who you are and (a secretary) the pending queue."""
    pending = []
    if user is not None and user.is_secretary:
        pending = await run_in_threadpool(
            web_claims.visible_claims, service, user, "pending", None, 200, 0
        )
        pending.sort(key=lambda c: (c["submitted_at"] or "", c["id"]))
    return templates.TemplateResponse(
        request,
        "home.html",
        {
            "user": user,
            "pending": pending,
            "body_name": config.body_name,
            "csrf": csrf_token(request) if user is not None else "",
        },
    )
