"""The member's portal as one router (web/app.py registers it): progress, charts and
downloads; claims; reflections and dispensations."""

from __future__ import annotations

from fastapi import APIRouter

from cpd.web.routers import portal, portal_claims, portal_requests

router = APIRouter()
for _part in (portal, portal_claims, portal_requests):
    router.include_router(_part.router)
