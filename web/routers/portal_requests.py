"""The portal's scheme requests: ``/me/reflections`` (the reflections the member's scheme
asks for, with the credits they add, on the member's drafts) and ``/me/dispensation`` (a
request for relief from this period's target, which the secretary decides)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from cpd.claims import portal_requests
from cpd.claims.intake import ClaimError
from cpd.claims.web_access import NotFound, WebUser
from cpd.web.config import WebConfig
from cpd.web.deps import Changing, Config, Service, User
from cpd.web.routers.portal_common import form_values, page, redirect

router = APIRouter(prefix="/me")


async def _reflections(
    request: Request,
    service: Service,
    user: WebUser,
    config: WebConfig,
    error: str | None = None,
    failed: int | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = await run_in_threadpool(portal_requests.reflections_page, service, user)
    return page(
        request,
        "reflections.html",
        user,
        config,
        "reflections",
        {"r": found, "error": error, "failed": failed},
        status_code,
    )


@router.get("/reflections", response_class=HTMLResponse)
async def reflections(
    request: Request, service: Service, user: User, config: Config
) -> HTMLResponse:
    """The scheme's reflection prompts (and credits) on each of the member's drafts."""
    return await _reflections(request, service, user, config)


@router.post("/reflections/{claim_id}", response_model=None)
async def add_reflections(
    claim_id: int, request: Request, service: Service, user: Changing, config: Config
) -> Response:
    """Save the reflections written for one draft (its proposal is recomputed)."""
    values = await form_values(request)
    try:
        view = await run_in_threadpool(
            portal_requests.add_reflections, service, user, claim_id, values
        )
    except NotFound:
        raise
    except ClaimError as exc:
        return await _reflections(request, service, user, config, str(exc), claim_id, 422)
    points = "" if view.proposed_points is None else f": now {view.proposed_points:g} {view.unit}"
    return redirect(request, f"/me/reflections#claim-{claim_id}", f"Reflection saved{points}.")


async def _dispensation(
    request: Request,
    service: Service,
    user: WebUser,
    config: WebConfig,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = await run_in_threadpool(portal_requests.dispensation_page, service, user)
    return page(
        request,
        "dispensation.html",
        user,
        config,
        "dispensation",
        {"d": found, "error": error},
        status_code,
    )


@router.get("/dispensation", response_class=HTMLResponse)
async def dispensation(
    request: Request, service: Service, user: User, config: Config
) -> HTMLResponse:
    """Whether the scheme grants dispensations, the member's requests, and the form."""
    return await _dispensation(request, service, user, config)


@router.post("/dispensation", response_model=None)
async def request_dispensation(
    request: Request, service: Service, user: Changing, config: Config
) -> Response:
    """Ask for a dispensation for this period, with a reason."""
    values = await form_values(request)
    try:
        made = await run_in_threadpool(
            portal_requests.request_dispensation, service, user, values.get("reason", "")
        )
    except ClaimError as exc:
        return await _dispensation(request, service, user, config, str(exc), 422)
    return redirect(
        request,
        "/me/dispensation",
        f"Your request for {made.period_key} was sent to the membership secretary.",
    )
