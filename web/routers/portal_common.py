"""What the portal's routers share: their templates, a page rendered with the layout's
context (the user, the CSRF token, the body's name, the current nav entry), a one-time
notice carried over a redirect, and the CSRF check of a multipart form."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from cpd.claims.texts import KIND_LABELS, fmt, long_date
from cpd.claims.web_access import WebUser
from cpd.web.config import WebConfig
from cpd.web.deps import csrf_token

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.filters["num"] = fmt
templates.env.filters["long_date"] = long_date
templates.env.globals["kind_label"] = lambda kind: KIND_LABELS.get(kind, kind)

NOTICE_KEY = "portal_notice"


def page(
    request: Request,
    name: str,
    user: WebUser,
    config: WebConfig,
    current: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A portal page: ``portal/<name>`` with the layout's context and any notice left by the
    redirect that led here."""
    notice = request.session.pop(NOTICE_KEY, None)
    return templates.TemplateResponse(
        request,
        f"portal/{name}",
        {
            "user": user,
            "csrf": csrf_token(request),
            "body_name": config.body_name,
            "current": current,
            "notice": notice if isinstance(notice, str) else None,
            **(context or {}),
        },
        status_code=status_code,
    )


def redirect(request: Request, url: str, notice: str | None = None) -> RedirectResponse:
    """303 to ``url`` (a plain form's POST ends here), with a notice for the next page."""
    if notice:
        request.session[NOTICE_KEY] = notice[:500]
    return RedirectResponse(url, status_code=303)


def check_form_csrf(request: Request, given: object) -> None:
    """403 unless a multipart form's ``csrf`` field (or htmx's header) is the session's."""
    expected = request.session.get("csrf")
    token = request.headers.get("X-CSRF-Token") or (given if isinstance(given, str) else "")
    if not isinstance(expected, str) or not secrets.compare_digest(token, expected):
        raise HTTPException(status_code=403, detail="Missing or wrong CSRF token.")


async def form_values(request: Request) -> dict[str, str]:
    """A urlencoded form's text fields (already parsed by the CSRF check)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}
