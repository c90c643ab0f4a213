"""Sign-in: a single-use link (``GET /signin/TOKEN``), the "mail me a link" form
(``POST /signin``), sign-out, and ``GET /api/me``."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from cpd.claims.web_signin import Asked, SigninLimits
from cpd.web.deps import Changing, Config, Service, User, csrf_token
from cpd.web.routers.pages import signin_page

router = APIRouter()
log = logging.getLogger(__name__)

LIMITED = "Too many sign-in links were asked for in the last hour. Try again later."


class SigninForm(BaseModel):
    """``POST /signin``: the address to mail a link to."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")


@router.post("/signin", response_class=HTMLResponse)
async def mail_link(request: Request, service: Service, config: Config) -> Response:
    """Mail a sign-in link to the member registered with the address given. The answer is the
    same whether or not it is registered; 429 past the limits (per address and per client, an
    hour); 422 for something that is not an address."""
    form = await request.form(max_files=0, max_fields=5)
    raw = form.get("email")
    address = raw if isinstance(raw, str) else ""
    try:
        fields = SigninForm.model_validate({"email": address})
    except ValidationError:
        return signin_page(
            request,
            config,
            error="email: give the mail address you are registered with (name@example.org).",
            address=address[:320],
            status_code=422,
        )
    client = request.client.host if request.client is not None else "unknown"
    asked = await run_in_threadpool(
        service.mail_signin_link,
        fields.email,
        client,
        config.signin_url(""),
        SigninLimits(config.signin_per_address, config.signin_per_client),
    )
    if asked is Asked.LIMITED:
        log.info("sign-in link refused: too many asks (client %s)", client)
        return signin_page(request, config, error=LIMITED, status_code=429)
    return signin_page(request, config, sent=True)


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
