"""``POST /telegram``: Telegram's updates by webhook (``CPD_TELEGRAM_WEBHOOK_URL``).

The request must carry ``X-Telegram-Bot-Api-Secret-Token`` equal to
``CPD_TELEGRAM_WEBHOOK_SECRET`` (compared in constant time; 403 otherwise, nothing stored).
The body must be one Bot API ``Update``: a JSON object with an integer ``update_id`` (400
otherwise). The update is stored in the Telegram inbox and only then answered 200, so an update
Telegram sees confirmed is never lost; the same update delivered twice, to this instance or to
another, is one inbox row (``update_id`` is unique) and so one claim. Whichever instance
dispatches the inbox handles it.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from cpd.web.config import WebConfig
from cpd.web.deps import Service, get_config

log = logging.getLogger(__name__)
router = APIRouter()
MAX_UPDATE_BYTES = 1024 * 1024
"""An update is a few KB (files are fetched by id); anything larger is refused."""


def _update(body: bytes) -> dict[str, Any] | None:
    """The update in ``body``, or None when it is not one."""
    try:
        update = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(update, dict):
        return None
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
        return None
    return update


@router.post("/telegram")
async def telegram_update(
    request: Request,
    service: Service,
    config: Annotated[WebConfig, Depends(get_config)],
    token: Annotated[str | None, Header(alias="X-Telegram-Bot-Api-Secret-Token")] = None,
) -> JSONResponse:
    """Store one update from Telegram, then confirm it."""
    expected = config.telegram_webhook_secret or ""
    if not expected or not secrets.compare_digest((token or "").encode(), expected.encode()):
        return JSONResponse({"ok": False, "error": "forbidden"}, 403)
    body = await request.body()
    update = _update(body) if len(body) <= MAX_UPDATE_BYTES else None
    if update is None:
        return JSONResponse({"ok": False, "error": "not a Telegram update"}, 400)
    try:
        await run_in_threadpool(service.store_telegram_updates, [update])
    except Exception as exc:  # not stored: Telegram must send it again
        log.warning("Telegram update %s not stored: %s", update["update_id"], exc)
        return JSONResponse({"ok": False, "error": "not stored, send it again"}, 503)
    return JSONResponse({"ok": True})
