"""The register (``/desk/members``) and a member's record (``/desk/members/{no}``)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from cpd.claims import desk_register
from cpd.web.deps import Service
from cpd.web.desk_forms import RegisterParams
from cpd.web.routers.desk_common import Secretary, is_htmx, render

router = APIRouter(prefix="/desk/members")


def _qs(params: RegisterParams, page: int) -> str:
    values = {"scheme": params.scheme, "only": params.only, "q": params.q, "page": page}
    return urlencode({k: v for k, v in values.items() if v not in (None, 1)})


@router.get("")
async def register(
    request: Request, service: Service, user: Secretary, params: Annotated[RegisterParams, Query()]
) -> Response:
    """Every member with their standing this period; filters "behind" and "no claim"."""
    page = await run_in_threadpool(
        desk_register.register, service, user, params.scheme, params.only, params.q, params.page
    )
    context = {
        "page": page,
        "params": params,
        "prev_qs": _qs(params, page.page - 1) if page.page > 1 else None,
        "next_qs": _qs(params, page.page + 1) if page.page < page.pages else None,
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "register-table":
        return render(request, user, "desk/_register_table.html", context, active="members")
    return render(request, user, "desk/members.html", context, active="members")


@router.get("/{membership_no}")
async def record(
    request: Request, membership_no: str, service: Service, user: Secretary
) -> Response:
    """One member's record: the chart, their standing, their claims."""
    member = await run_in_threadpool(desk_register.member_record, service, user, membership_no[:64])
    return render(request, user, "desk/member.html", {"member": member}, active="members")
