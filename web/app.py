"""The FastAPI application: routers per concern, signed session cookies, JSON errors."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from cpd.claims.service import ClaimsService
from cpd.web import errors
from cpd.web.config import SESSION_COOKIE, SESSION_SECONDS, WebConfig
from cpd.web.routers import (
    auth,
    claims,
    desk,
    desk_members,
    desk_reports,
    evidence,
    health,
    members,
    metrics,
    pages,
    telegram_webhook,
    unsubscribe,
)
from cpd.web.routers.portal_site import router as portal_router  # the member's portal

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(service: ClaimsService, config: WebConfig) -> FastAPI:
    """The web desk and portal on ``service``. Sessions are cookies signed with the config's
    key (HttpOnly, SameSite=Lax, Secure when the public URL is https)."""
    app = FastAPI(title="CPD Claims Assistant", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = service
    app.state.config = config
    app.add_middleware(
        SessionMiddleware,
        secret_key=config.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_SECONDS,
        same_site="lax",
        https_only=config.secure_cookies,
    )
    errors.install(app)
    # Vendored assets (htmx, the stylesheet): nothing is fetched from the internet.
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (health, auth, claims, members, pages, unsubscribe, metrics):
        app.include_router(module.router)
    for module in (desk, desk_members, desk_reports, evidence):
        app.include_router(module.router)
    app.include_router(portal_router)
    if config.telegram_webhook_secret:  # only when the bot takes its updates by webhook
        app.include_router(telegram_webhook.router)
    return app
