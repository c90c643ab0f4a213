"""The member's claims in the portal: ``/me/claims`` (history with statuses, points and
decline reasons), a claim's own page, and ``/me/claims/new`` (text, files, date) which makes
a draft by the API's path, shows the proposal with its rule, takes corrections and submits.

Every form also works without JavaScript (a plain POST answered by a 303); a mistake is
shown on the page with a 4xx, never a 500.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from cpd.claims import portal_claims, web_claims
from cpd.claims.intake import ClaimError
from cpd.claims.web_access import NotFound, WebUser
from cpd.web.config import WebConfig
from cpd.web.deps import Changing, Config, Service, User
from cpd.web.routers.portal_common import check_form_csrf, form_values, page, redirect
from cpd.web.schemas import ClaimStatus
from cpd.web.uploads import ALLOWED_TYPES, UploadRefused, read_claim_form

router = APIRouter(prefix="/me/claims")


@router.get("", response_class=HTMLResponse)
async def history(
    request: Request,
    service: Service,
    user: User,
    config: Config,
    status: Annotated[ClaimStatus | None, Query()] = None,
) -> HTMLResponse:
    """The member's claims, newest first, optionally of one status (htmx swaps the table)."""
    claims = await run_in_threadpool(
        web_claims.visible_claims, service, user, status, user.membership_no, 500, 0
    )
    name = "_claims_table.html" if request.headers.get("HX-Request") else "claims.html"
    return page(
        request,
        name,
        user,
        config,
        "claims",
        {"claims": claims, "status": status, "statuses": web_claims.STATUSES},
    )


def _new_form(
    request: Request,
    user: WebUser,
    config: WebConfig,
    error: str | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "new_claim.html",
        user,
        config,
        "new",
        {
            "error": error,
            "values": values or {},
            "accept": ",".join(ALLOWED_TYPES),
            "limit_mb": config.max_upload_bytes // 2**20,
            "max_files": config.max_upload_files,
        },
        status_code,
    )


@router.get("/new", response_class=HTMLResponse)
async def new_form(request: Request, user: User, config: Config) -> HTMLResponse:
    """The claim form: what you did (text), evidence files, the date."""
    return _new_form(request, user, config)


@router.post("/new", response_model=None)
async def new_claim(request: Request, service: Service, user: User, config: Config) -> Response:
    """Make a draft from the form (the API's path: the same checks, the same intake), then
    show it with its proposal; a mistake comes back on the form."""
    try:
        upload = await read_claim_form(request, config)
    except UploadRefused as exc:  # nothing is stored: no token needed to be told why
        return _new_form(request, user, config, exc.message, status_code=exc.status)
    check_form_csrf(request, upload.form.get("csrf"))
    values = {"text": upload.fields.text, "date": upload.fields.date}
    if not upload.fields.text.strip() and not upload.attachments:
        return _new_form(
            request, user, config, "text: tell us what you did", values, status_code=422
        )
    try:
        made = await run_in_threadpool(
            web_claims.start_claim,
            service,
            user,
            upload.fields.text,
            upload.attachments,
            upload.fields.date,
            upload.fields.reflections(),
        )
    except ClaimError as exc:
        return _new_form(request, user, config, str(exc), values, status_code=422)
    return redirect(request, f"/me/claims/{made['id']}", f"Claim #{made['id']} drafted.")


def _claim_page(
    request: Request,
    user: WebUser,
    config: WebConfig,
    claim: dict[str, Any],
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "claim.html",
        user,
        config,
        "claims",
        {"c": claim, "form": portal_claims.draft_form(claim["scheme"]), "error": error},
        status_code,
    )


@router.get("/{claim_id}", response_class=HTMLResponse)
async def claim_page(
    claim_id: int, request: Request, service: Service, user: User, config: Config
) -> HTMLResponse:
    """One of the member's claims: what was understood, the proposal and its rule, and (a
    draft) the corrections and Submit; 404 for anyone else's claim."""
    claim = await run_in_threadpool(portal_claims.own_claim, service, user, claim_id)
    return _claim_page(request, user, config, claim)


async def _after(
    request: Request,
    service: Service,
    user: WebUser,
    config: WebConfig,
    claim_id: int,
    work: Any,
    *args: Any,
) -> Response:
    """Run a change; 303 back to the claim, or the claim page with the member's message."""
    try:
        notice = await run_in_threadpool(work, service, user, claim_id, *args)
    except NotFound:
        raise
    except ClaimError as exc:
        claim = await run_in_threadpool(portal_claims.own_claim, service, user, claim_id)
        return _claim_page(request, user, config, claim, str(exc), 422)
    return redirect(request, f"/me/claims/{claim_id}", notice)


def _change(service: Service, user: WebUser, claim_id: int, values: dict[str, str]) -> str:
    view = portal_claims.change_draft(service, user, claim_id, values)
    return "Nothing was changed." if view is None else f"Claim #{claim_id} updated."


def _submit(service: Service, user: WebUser, claim_id: int) -> str:
    portal_claims.submit(service, user, claim_id)
    return f"Claim #{claim_id} submitted: it will be verified soon."


def _withdraw(service: Service, user: WebUser, claim_id: int) -> str:
    view = portal_claims.withdraw(service, user, claim_id)
    return f"Claim #{claim_id} {view.status}."


@router.post("/{claim_id}/change", response_model=None)
async def change(
    claim_id: int, request: Request, service: Service, user: Changing, config: Config
) -> Response:
    """Correct a draft's kind, hours, date, test, category or reflections."""
    values = await form_values(request)
    return await _after(request, service, user, config, claim_id, _change, values)


@router.post("/{claim_id}/submit", response_model=None)
async def submit(
    claim_id: int, request: Request, service: Service, user: Changing, config: Config
) -> Response:
    """Send the draft to the secretaries (the API's submit path)."""
    return await _after(request, service, user, config, claim_id, _submit)


@router.post("/{claim_id}/withdraw", response_model=None)
async def withdraw(
    claim_id: int, request: Request, service: Service, user: Changing, config: Config
) -> Response:
    """Withdraw a pending claim, or drop a draft."""
    return await _after(request, service, user, config, claim_id, _withdraw)
