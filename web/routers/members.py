"""``/api/members``: a member's standing now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cpd.claims import web_claims
from cpd.web.deps import Service, User

router = APIRouter(prefix="/api/members")


@router.get("/{membership_no}/standing")
def member_standing(membership_no: str, service: Service, user: User) -> dict[str, Any]:
    """The ``cpd rules evaluate`` output for the member today (a member: only their own)."""
    return web_claims.standing_json(service, user, membership_no)
