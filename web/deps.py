"""FastAPI dependencies: the claims service, the signed-in user, and the CSRF check."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from cpd.claims.service import ClaimsService
from cpd.claims.web_access import WebUser
from cpd.web.config import WebConfig

CSRF_HEADER = "X-CSRF-Token"


def get_service(request: Request) -> ClaimsService:
    """The claims service the app was built with."""
    service = request.app.state.service
    if not isinstance(service, ClaimsService):
        raise TypeError("the web app was built without a ClaimsService (create_app sets it)")
    return service


def get_config(request: Request) -> WebConfig:
    """The web channel's settings."""
    config = request.app.state.config
    if not isinstance(config, WebConfig):
        raise TypeError("the web app was built without a WebConfig (create_app sets it)")
    return config


async def optional_user(
    request: Request, service: Annotated[ClaimsService, Depends(get_service)]
) -> WebUser | None:
    """The signed-in user, or None (a session for a member who is gone counts as none)."""
    member_id = request.session.get("member_id")
    if not isinstance(member_id, int):
        return None
    user = await run_in_threadpool(service.web_user, member_id)
    if user is None:
        request.session.clear()
    return user


async def current_user(user: Annotated[WebUser | None, Depends(optional_user)]) -> WebUser:
    """The signed-in user (401 without a session)."""
    if user is None:
        raise HTTPException(status_code=401, detail="Sign in first: ask for a sign-in link.")
    return user


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on sign-in)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request, user: Annotated[WebUser, Depends(current_user)]) -> WebUser:
    """The signed-in user, after the request's ``X-CSRF-Token`` matched the session's (403
    otherwise). Every state-changing request depends on this."""
    expected = request.session.get("csrf")
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):  # a page's own form (sign-out) carries it as a field
        given = str((await request.form()).get("csrf") or "")
    if not isinstance(expected, str) or not secrets.compare_digest(given, expected):
        raise HTTPException(status_code=403, detail="Missing or wrong CSRF token.")
    return user


Service = Annotated[ClaimsService, Depends(get_service)]
User = Annotated[WebUser, Depends(current_user)]
MaybeUser = Annotated[WebUser | None, Depends(optional_user)]
Changing = Annotated[WebUser, Depends(check_csrf)]
Config = Annotated[WebConfig, Depends(get_config)]
