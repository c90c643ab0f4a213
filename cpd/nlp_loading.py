"""Waiting for ``cpd run``'s NLP pipeline (``cpd.nlp.lazy.LazyExtractor``) before the bot
handles updates."""

from __future__ import annotations

import asyncio

from cpd.claims.service import ClaimsService


async def nlp_loaded(service: ClaimsService, stopping: asyncio.Event) -> bool:
    """Wait until the service's NLP pipeline is loaded (True), or until stopping (False).

    The bot handles an update only after this: every attempt at an update counts toward
    giving it up, and a crash loop during the load must not use those attempts up.
    """
    wait = getattr(service.extractor, "wait_loaded", None)
    if wait is None:
        return True
    loaded = asyncio.ensure_future(asyncio.to_thread(wait))
    stop = asyncio.ensure_future(stopping.wait())
    await asyncio.wait({loaded, stop}, return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    if not loaded.done():
        return False
    loaded.result()
    return True
