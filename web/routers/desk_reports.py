"""Standings for a period (``/desk/standings`` and its CSV), the audit log (``/desk/audit``)
and period end with audit sampling (``/desk/period-end``: a preview, then a confirm)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from cpd.claims import desk_period_end, desk_reports
from cpd.claims.intake import ClaimError, NotAllowed
from cpd.web.deps import Service
from cpd.web.desk_forms import AuditDrawForm, AuditParams, PeriodEndParams, StandingsParams
from cpd.web.errors import validation_response
from cpd.web.routers.desk_common import Secretary, SecretaryChanging, flash, render

router = APIRouter(prefix="/desk")


def _scheme_and_period(
    service: Service, params: StandingsParams
) -> tuple[str, int, list[desk_reports.PeriodChoice]]:
    schemes = desk_reports.scheme_ids()
    scheme = params.scheme if params.scheme in schemes else desk_reports.default_scheme(service)
    choices = desk_reports.period_choices(scheme, service.today())
    keys = [c.key for c in choices]
    period = params.period if params.period in keys else keys[0]
    return scheme, period, choices


@router.get("/standings")
async def standings(
    request: Request,
    service: Service,
    user: Secretary,
    params: Annotated[StandingsParams, Query()],
) -> Response:
    """Every member's standing for a scheme and period (a picker; the CSV beside it)."""
    scheme, period, choices = await run_in_threadpool(_scheme_and_period, service, params)
    rows = await run_in_threadpool(desk_reports.standings, service, user, scheme, period)
    context = {
        "rows": rows,
        "scheme": scheme,
        "period": period,
        "schemes": desk_reports.scheme_ids(),
        "choices": choices,
    }
    return render(request, user, "desk/standings.html", context, active="standings")


@router.get("/standings.csv")
async def standings_csv(
    service: Service, user: Secretary, params: Annotated[StandingsParams, Query()]
) -> Response:
    """The standings page as CSV."""
    scheme, period, _ = await run_in_threadpool(_scheme_and_period, service, params)
    rows = await run_in_threadpool(desk_reports.standings, service, user, scheme, period)
    return Response(
        desk_reports.standings_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="standings-{scheme}-{period}.csv"'},
    )


@router.get("/audit")
async def audit(
    request: Request, service: Service, user: Secretary, params: Annotated[AuditParams, Query()]
) -> Response:
    """The audit log, newest first, by member and action."""
    page = await run_in_threadpool(
        desk_reports.audit_log, service, user, params.member, params.action, params.page
    )
    context = {"page": page, "params": params}
    return render(request, user, "desk/audit.html", context, active="audit")


@router.get("/period-end")
async def period_end(
    request: Request,
    service: Service,
    user: Secretary,
    params: Annotated[PeriodEndParams, Query()],
) -> Response:
    """The period-end and audit forms, and a preview of what either would queue."""
    yesterday = service.today() - dt.timedelta(days=1)
    context: dict[str, object] = {
        "closing_day": params.closing_day or yesterday,
        "yesterday": yesterday,
        "schemes": desk_period_end.audited_schemes(),
        "this_year": service.today().year,
    }
    status = 200
    try:
        if params.closing_day is not None:
            context["report"] = await run_in_threadpool(
                desk_period_end.preview_period_end, service, user, params.closing_day
            )
        if params.scheme and params.cycle:
            fraction = params.fraction or desk_period_end.default_fraction(params.scheme)
            sample = await run_in_threadpool(
                desk_period_end.preview_audit, service, user, params.scheme, params.cycle, fraction
            )
            context["sample"] = sample
            context["notices"] = desk_period_end.notices(service, sample)
    except NotAllowed:
        raise
    except ClaimError as refused:
        context["error"] = str(refused)
        status = 422
    context["params"] = params
    return render(request, user, "desk/period_end.html", context, status, active="period-end")


@router.post("/period-end")
async def close_periods(request: Request, service: Service, user: SecretaryChanging) -> Response:
    """Queue the period-end notices the preview showed."""
    form = await request.form()
    try:
        day = dt.date.fromisoformat(str(form.get("closing_day") or ""))
    except ValueError:
        flash(request, "error", "closing_day: give a date (YYYY-MM-DD).")
        return RedirectResponse("/desk/period-end", status_code=303)
    try:
        report = await run_in_threadpool(desk_period_end.close_periods, service, user, day)
    except NotAllowed:
        raise
    except ClaimError as refused:
        flash(request, "error", str(refused))
        return RedirectResponse("/desk/period-end", status_code=303)
    flash(
        request,
        "notice",
        f"Periods closing on {day}: {len(report.notices)} notice(s) queued "
        f"({len(report.told) - len(report.notices)} member(s) had been told already).",
        [f"{n} by {c}" for n, c, _ in report.notices],
    )
    return RedirectResponse("/desk/period-end", status_code=303)


@router.post("/period-end/audit")
async def draw_audit(request: Request, service: Service, user: SecretaryChanging) -> Response:
    """Draw the audit sample the preview showed, with its seed, and mail those selected."""
    form = await request.form()
    try:
        fields = AuditDrawForm.model_validate({k: v for k, v in form.items() if isinstance(v, str)})
    except ValidationError as exc:
        return validation_response(exc.errors())
    expected = [n for n in (fields.expected or "").split(",") if n]
    try:
        sample = await run_in_threadpool(
            desk_period_end.draw_audit,
            service,
            user,
            fields.scheme,
            fields.cycle,
            fields.fraction,
            fields.seed,
            expected,
        )
    except NotAllowed:
        raise
    except ClaimError as refused:
        flash(request, "error", str(refused))
        return RedirectResponse("/desk/period-end", status_code=303)
    if sample.status == "existing":
        text = f"Cycle {sample.cycle} already had a sample: nothing queued."
    else:
        text = (
            f"Audit {sample.scheme} {sample.cycle}: {len(sample.new)} selected, "
            f"{sample.queued} mail(s) queued (seed {sample.seed})."
        )
    flash(request, "notice", text, sample.new)
    return RedirectResponse("/desk/period-end", status_code=303)
