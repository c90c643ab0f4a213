"""One-click unsubscribe from reminder mail (RFC 8058), at the URL ``List-Unsubscribe`` names.

``POST /unsubscribe/<token>`` with ``List-Unsubscribe=One-Click`` is what mail clients send
when the member presses their "Unsubscribe" button: it mutes the member everywhere (as
``/mute`` does) and needs no session and no CSRF token — the signed token is the proof. A
``GET`` only shows a page with a button that posts the same form, because mail scanners open
links by themselves and must not unsubscribe anybody.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from cpd.web.deps import Config, Service
from cpd.web.routers.pages import templates

router = APIRouter()

MAX_TOKEN_CHARS = 200


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
async def confirm_page(request: Request, token: str, config: Config) -> HTMLResponse:
    """A page asking the member to confirm (opening the link changes nothing)."""
    return templates.TemplateResponse(
        request,
        "unsubscribe.html",
        {"token": token[:MAX_TOKEN_CHARS], "done": None, "body_name": config.body_name},
    )


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe(
    request: Request, token: str, service: Service, config: Config
) -> HTMLResponse:
    """Mute the member the token names; 404 for a token that names nobody (nothing changes)."""
    done = len(token) <= MAX_TOKEN_CHARS and await run_in_threadpool(
        service.unsubscribe_by_token, token
    )
    return templates.TemplateResponse(
        request,
        "unsubscribe.html",
        {"token": "", "done": done, "body_name": config.body_name},
        status_code=200 if done else 404,
    )
