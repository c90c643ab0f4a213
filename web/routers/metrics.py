"""``GET /metrics`` for Prometheus: from loopback, or with the configured bearer token.

Behind a reverse proxy on the same host, uvicorn takes the client address from
``X-Forwarded-For`` (it trusts that header from 127.0.0.1 only), so a scraper outside still
needs the token.
"""

from __future__ import annotations

import ipaddress
import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.concurrency import run_in_threadpool

from cpd.web.deps import Config, Service
from cpd.web.metrics import registry_for

router = APIRouter()


def from_loopback(request: Request) -> bool:
    """Whether the client is this host."""
    host = request.client.host if request.client is not None else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def has_token(request: Request, token: str | None) -> bool:
    """Whether the request carries ``Authorization: Bearer <token>`` (never without one)."""
    if not token:
        return False
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(given.strip(), token)


def _registry(request: Request, service: Service) -> CollectorRegistry:
    registry = getattr(request.app.state, "metrics_registry", None)
    if not isinstance(registry, CollectorRegistry):
        registry = registry_for(service)
        request.app.state.metrics_registry = registry
    return registry


@router.get("/metrics")
async def metrics(request: Request, service: Service, config: Config) -> Response:
    """The Prometheus text exposition, read from the database now."""
    if not (from_loopback(request) or has_token(request, config.metrics_token)):
        raise HTTPException(
            403, "Metrics are served to this host, or with CPD_METRICS_TOKEN as a bearer token."
        )
    body = await run_in_threadpool(generate_latest, _registry(request, service))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
