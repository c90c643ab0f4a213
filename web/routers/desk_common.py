"""What the desk's routers share: the templates, the secretary dependency (no session: back
to ``/``; a member: 403, decided by ``claims.web_access``), a page renderer and flash notes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from cpd.claims.web_access import WebUser, require_secretary
from cpd.web.deps import Changing, MaybeUser, csrf_token, get_config

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
FLASH = "desk_flash"


async def secretary(user: MaybeUser) -> WebUser:
    """The signed-in secretary: without a session, a redirect to ``/`` (the sign-in page);
    a member is refused by the claims layer's role check (403)."""
    if user is None:
        raise HTTPException(status_code=303, detail="Sign in first.", headers={"Location": "/"})
    require_secretary(user)
    return user


async def changing_secretary(user: Changing) -> WebUser:
    """A state-changing request's secretary: the CSRF token checked first, then the role."""
    require_secretary(user)
    return user


Secretary = Annotated[WebUser, Depends(secretary)]
SecretaryChanging = Annotated[WebUser, Depends(changing_secretary)]


def is_htmx(request: Request) -> bool:
    """Whether htmx made the request (a partial update)."""
    return request.headers.get("HX-Request") == "true"


def flash(request: Request, kind: str, text: str, items: list[str] | None = None) -> None:
    """A note shown once on the next page."""
    request.session[FLASH] = {"kind": kind, "text": text, "items": (items or [])[:200]}


def render(
    request: Request,
    user: WebUser,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
    active: str = "",
) -> HTMLResponse:
    """A desk page with the layout's context (user, CSRF token, the body's name, the nav)."""
    config = get_config(request)
    note = request.session.pop(FLASH, None)
    return templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "csrf": csrf_token(request),
            "body_name": config.body_name,
            "active": active,
            "flash": note,
            **context,
        },
        status_code=status_code,
    )
