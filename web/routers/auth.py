"""Sign-in by single-use link, sign-out, and ``GET /api/me``."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cpd.web.deps import Changing, Service, User, csrf_token

router = APIRouter()


@router.get("/signin/{token}")
async def signin(token: str, request: Request, service: Service) -> Response:
    """Use the link once: a fresh session for its member, then ``/`` (401 page when the link
    is used, expired or unknown)."""
    user = await run_in_threadpool(service.web_sign_in, token[:200])
    request.session.clear()
    request.session["member_id"] = user.member_id
    request.session["csrf"] = secrets.token_urlsafe(24)
    return RedirectResponse("/", status_code=303)


@router.post("/signout")
async def signout(request: Request, user: Changing) -> Response:
    """End the session (CSRF token required); a page's form is sent back to ``/``."""
    request.session.clear()
    if "application/json" in request.headers.get("accept", ""):
        return Response(status_code=204)
    return RedirectResponse("/", status_code=303)


@router.get("/api/me")
async def me(request: Request, user: User) -> dict[str, Any]:
    """Who is signed in, and the CSRF token for their state-changing requests."""
    return {
        "membership_no": user.membership_no,
        "name": user.name,
        "role": user.role,
        "csrf": csrf_token(request),
    }
