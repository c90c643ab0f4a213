"""Errors as JSON for the API (for a sign-in link, the sign-in page saying why): a user mistake
is a 4xx naming the field, never a 500. A browser asking for a page instead gets a page: without
a session it is sent to the start page to sign in, and a refusal is said in words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from cpd.claims.intake import ClaimError, NotAllowed, NotLinked
from cpd.claims.web_access import LinkRefused, NotFound
from cpd.claims.web_claims import AlreadyDecided
from cpd.web.deps import get_config
from cpd.web.routers.pages import signin_page, templates

HEADINGS = {403: "Not for you", 404: "Not found"}


def validation_body(errors: Sequence[Any]) -> dict[str, Any]:
    """The error body of invalid input: a message naming the first bad field, and every error."""
    first = errors[0] if errors else {"loc": (), "msg": "invalid input"}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(loc) or None
    message = str(first.get("msg", "invalid input"))
    if first.get("type") == "json_invalid":  # the body as a whole, not a field "0"
        field, message = None, "the body is not valid JSON"
    return {
        "error": f"{field}: {message}" if field else message,
        "field": field,
        "errors": [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg")}
            for e in errors
        ],
    }


def validation_response(errors: Sequence[Any]) -> JSONResponse:
    """422 with :func:`validation_body`."""
    return JSONResponse(validation_body(errors), status_code=422)


def _wants_page(request: Request) -> bool:
    """A browser asking for a page (not the JSON API, not an htmx fragment)."""
    return (
        not request.url.path.startswith("/api/")
        and "text/html" in request.headers.get("accept", "")
        and "hx-request" not in request.headers
    )


def _answer(request: Request, status: int, message: str, headers: Any = None) -> Response:
    """The refusal as JSON, or for a browser's page a page (401: off to sign in)."""
    if not _wants_page(request) or status not in (401, *HEADINGS):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    if status == 401:
        return RedirectResponse("/", status_code=303)
    context = {
        "user": None,
        "csrf": "",
        "body_name": get_config(request).body_name,
        "heading": HEADINGS[status],
        "message": message,
    }
    return templates.TemplateResponse(request, "error.html", context, status_code=status)


def install(app: FastAPI) -> None:
    """Register the handlers that turn the claims layer's refusals into HTTP answers."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(exc.errors())

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return _answer(request, exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(LinkRefused)
    async def _link(request: Request, exc: LinkRefused) -> HTMLResponse:
        # the sign-in page, saying why, with the form to mail a new link
        return signin_page(request, get_config(request), refused=str(exc), status_code=401)

    @app.exception_handler(AlreadyDecided)
    async def _late(request: Request, exc: AlreadyDecided) -> JSONResponse:
        return JSONResponse(
            {
                "error": str(exc),
                "decided_by": exc.decided_by,
                "decided_at": exc.decided_at.isoformat() if exc.decided_at else None,
            },
            status_code=409,
        )

    @app.exception_handler(NotAllowed)
    async def _forbidden(request: Request, exc: NotAllowed) -> Response:
        return _answer(request, 403, str(exc))

    @app.exception_handler(NotLinked)
    async def _unknown(request: Request, exc: NotLinked) -> Response:
        return _answer(request, 403, str(exc))

    @app.exception_handler(NotFound)
    async def _missing(request: Request, exc: NotFound) -> Response:
        return _answer(request, 404, str(exc))

    @app.exception_handler(ClaimError)
    async def _refused(request: Request, exc: ClaimError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=422)
