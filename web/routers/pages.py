"""The start page and the sign-in pages (Jinja2): ``/`` sends a secretary to the desk and a
member to their portal; nobody signed in gets the "mail me a sign-in link" form, which
``POST /signin`` answers (:mod:`cpd.web.routers.auth`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from cpd.claims.web_access import WebUser
from cpd.web.config import WebConfig
from cpd.web.deps import Config, MaybeUser, csrf_token

router = APIRouter()
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))

DESK = "/desk"
PORTAL = "/me"


def start_of(user: WebUser) -> str:
    """Where a signed-in user starts: the desk for a secretary, the portal for a member."""
    return DESK if user.is_secretary else PORTAL


def signin_page(
    request: Request,
    config: WebConfig,
    *,
    sent: bool = False,
    error: str | None = None,
    refused: str | None = None,
    address: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """The sign-in page: the form, the answer after it was sent, or why a link was refused."""
    context: dict[str, Any] = {
        "user": None,
        "csrf": "",
        "body_name": config.body_name,
        "sent": sent,
        "error": error,
        "refused": refused,
        "address": address,
    }
    return templates.TemplateResponse(request, "home.html", context, status_code=status_code)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, user: MaybeUser, config: Config) -> Response:
    """The start page: a secretary goes to the desk, a member to their record, anybody else
    sees how to sign in."""
    if user is not None:
        csrf_token(request)  # the session has its token before any page needs it
        return RedirectResponse(start_of(user), status_code=303)
    return signin_page(request, config)


@router.get("/signin", response_class=HTMLResponse)
async def signin_form(request: Request, user: MaybeUser, config: Config) -> Response:
    """The "mail me a sign-in link" form (someone signed in already goes to their start)."""
    if user is not None:
        return RedirectResponse(start_of(user), status_code=303)
    return signin_page(request, config)
