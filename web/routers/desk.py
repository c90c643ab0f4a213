"""The desk's queue and claims: ``/desk`` (pending claims, filters by htmx or a plain GET
form), ``/desk/claims/{id}`` and the decisions on one claim or several ticked at once.
Every decision goes through ``claims.web_claims.decide``, the API's own path."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from cpd.claims import desk_claim, desk_queue, web_claims
from cpd.claims.intake import ClaimError, NotAllowed
from cpd.claims.web_access import NotFound
from cpd.claims.web_claims import AlreadyDecided
from cpd.web.deps import Service
from cpd.web.desk_forms import DecisionForm, QueueParams
from cpd.web.errors import validation_response
from cpd.web.routers.desk_common import Secretary, SecretaryChanging, flash, is_htmx, render

router = APIRouter(prefix="/desk")


def _query_string(params: QueueParams, page: int | None = None) -> str:
    values: dict[str, Any] = {
        "scheme": params.scheme,
        "kind": params.kind,
        "channel": params.channel,
        "age": params.age,
        "q": params.q,
        "sort": None if params.sort == "oldest" else params.sort,
        "page": page if page and page > 1 else None,
    }
    return urlencode({k: v for k, v in values.items() if v is not None})


@router.get("")
async def queue(
    request: Request, service: Service, user: Secretary, params: Annotated[QueueParams, Query()]
) -> Response:
    """The pending queue, oldest first (only the table when htmx asks for it)."""
    query = desk_queue.QueueQuery(
        params.scheme, params.kind, params.channel, params.age, params.q, params.sort, params.page
    )
    page = await run_in_threadpool(desk_queue.queue, service, user, query)
    context = {
        "page": page,
        "params": params,
        "here": _query_string(params, params.page),
        "prev_qs": _query_string(params, page.page - 1) if page.page > 1 else None,
        "next_qs": _query_string(params, page.page + 1) if page.page < page.pages else None,
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "queue-table":
        return render(request, user, "desk/_queue_table.html", context, active="queue")
    return render(request, user, "desk/queue.html", context, active="queue")


async def _claim(
    request: Request,
    service: Service,
    user: Any,
    claim_id: int,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    claim = await run_in_threadpool(desk_claim.claim_page, service, user, claim_id)
    context = {"claim": claim, **extra}
    return render(request, user, "desk/claim.html", context, status_code, active="queue")


@router.get("/claims/{claim_id}")
async def claim_page(
    request: Request, claim_id: int, service: Service, user: Secretary
) -> Response:
    """One claim: evidence, fields, the proposal and its rule, history, and the decision."""
    return await _claim(request, service, user, claim_id)


@router.post("/claims/{claim_id}/decision")
async def decide(
    request: Request, claim_id: int, service: Service, user: SecretaryChanging
) -> Response:
    """Accept, accept with other points, or decline; then the claim again (a 303 for a plain
    form, the page for htmx). Decided meanwhile by someone else: the page says who and when
    (409; 200 for htmx so that it swaps the answer in)."""
    form = await request.form()
    try:
        fields = DecisionForm.model_validate({k: v for k, v in form.items() if isinstance(v, str)})
    except ValidationError as exc:
        return validation_response(exc.errors())
    action, points = fields.api_action()
    try:
        await run_in_threadpool(
            web_claims.decide, service, user, claim_id, action, points, fields.reason
        )
    except AlreadyDecided as late:
        status = 200 if is_htmx(request) else 409
        at = late.decided_at.isoformat(timespec="minutes") if late.decided_at else None
        return await _claim(
            request, service, user, claim_id, status, late={"by": late.decided_by, "at": at}
        )
    except (NotAllowed, NotFound):
        raise
    except ClaimError as refused:
        status = 200 if is_htmx(request) else 422
        return await _claim(request, service, user, claim_id, status, error=str(refused))
    flash(
        request,
        "notice",
        f"Claim #{claim_id}: {'declined' if action == 'decline' else 'accepted'}.",
    )
    if is_htmx(request):
        return await _claim(request, service, user, claim_id)
    return RedirectResponse(f"/desk/claims/{claim_id}", status_code=303)


def _back(value: object) -> str:
    text = str(value or "")
    return text if text.startswith("/desk") and "//" not in text and "\\" not in text else "/desk"


@router.post("/decisions")
async def decide_many(request: Request, service: Service, user: SecretaryChanging) -> Response:
    """The queue's bulk form: one decision for every ticked claim, each in its own
    transaction; back to the queue, which lists what was decided and what was not."""
    form = await request.form()
    back = _back(form.get("back"))
    try:
        fields = DecisionForm.model_validate(
            {k: v for k, v in form.items() if isinstance(v, str) and k != "claim_id"}
        )
        ids = [int(str(v)) for v in form.getlist("claim_id")]
    except (ValidationError, ValueError):
        flash(request, "error", "Choose what to do with the ticked claims.")
        return RedirectResponse(back, status_code=303)
    action, points = fields.api_action()
    try:
        outcome = await run_in_threadpool(
            desk_claim.decide_many, service, user, ids, action, points, fields.reason
        )
    except NotAllowed:
        raise
    except ClaimError as refused:
        flash(request, "error", str(refused))
        return RedirectResponse(back, status_code=303)
    done = "declined" if action == "decline" else "accepted"
    items = [f"#{i} {done}" for i in outcome.decided]
    items += [
        f"#{i} was already decided by {by or 'someone'} at {at}" for i, by, at in outcome.already
    ]
    items += [f"#{i} not decided: {why}" for i, why in outcome.refused]
    kind = "notice" if not outcome.already and not outcome.refused else "error"
    flash(request, kind, f"{len(outcome.decided)} of {len(ids)} claim(s) {done}.", items)
    return RedirectResponse(back, status_code=303)
