"""aiosmtpd's SMTP protocol with bounded memory: a session cap, and DATA streamed to the spool.

aiosmtpd 1.4.6 collects a whole DATA section in memory (``smtp_DATA``) and has no cap on
sessions: eight parallel 24 MB mails took ``cpd run`` to 663 MB. :class:`BoundedSMTP`

* admits at most ``gate.limit`` sessions at once; one more gets
  ``421 4.7.0 Too many connections, try again later`` and is closed;
* when its handler spools (``handler.spool``), writes DATA line by line into the spool's
  ``tmp/`` file in chunks of ``CHUNK_BYTES`` (only the headers are kept in memory, to check
  the sender before answering), then fsyncs and renames it: the peak per session is about
  one chunk. A full disk answers ``451 4.3.1`` after reading the rest of DATA, and keeps
  nothing; the sender retries later.

Without a spool (direct storing) the original in-memory DATA is used.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from typing import Any

from aiosmtpd.smtp import SMTP

from cpd.mail_ingest.spool import Incoming

log = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024
MAX_HEADER_BYTES = 256 * 1024
"""Headers beyond this are written to the file but not checked before the ``250``."""
TOO_MANY_SESSIONS = "421 4.7.0 Too many connections, try again later"
DISK_FULL = "451 4.3.1 Insufficient system storage; please try again later"
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure storing your claim; please try again later"


class SessionGate:
    """Counts the SMTP sessions of one listener; at most ``limit`` at once (None: no cap)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.active = 0
        self.refused = 0

    def enter(self) -> bool:
        """Admit one more session (False: the cap is reached)."""
        if self.limit is not None and self.active >= self.limit:
            self.refused += 1
            return False
        self.active += 1
        return True

    def leave(self) -> None:
        """A session admitted by :meth:`enter` ended."""
        self.active = max(0, self.active - 1)


def disk_full(error: OSError) -> bool:
    """Whether ``error`` says the disk (or the quota) is full."""
    return error.errno in {errno.ENOSPC, errno.EDQUOT}


class BoundedSMTP(SMTP):
    """``SMTP`` with a session cap (``gate``) and DATA streamed to the handler's spool."""

    def __init__(self, handler: Any, *, gate: SessionGate | None = None, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.gate = gate or SessionGate(None)
        self._admitted: bool | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Count the session once (STARTTLS calls this again on the same session)."""
        if self._admitted is None:
            self._admitted = self.gate.enter()
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        """Release the session's place."""
        if self._admitted:
            self.gate.leave()
            self._admitted = False
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        if self._admitted is False:
            log.warning("refused an SMTP session from %s: too many sessions", self.session.peer)  # type: ignore[union-attr]
            await self.push(TOO_MANY_SESSIONS)
            assert self.transport is not None
            self.transport.close()
            return
        await super()._handle_client()

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command name
        """DATA into the spool's tmp file (see the module docstring)."""
        handler = self.event_handler
        if getattr(handler, "spool", None) is None:
            await super().smtp_DATA(arg)
            return
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        try:
            incoming: Incoming | None = await asyncio.to_thread(handler.begin_spooled)
            failure = None
        except OSError as exc:
            log.warning("cannot spool mail: %s", exc)
            incoming, failure = None, DISK_FULL if disk_full(exc) else TEMPORARY_FAILURE
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        status = await self._receive(incoming, failure)
        self._set_post_data_state()  # type: ignore[no-untyped-call]  # aiosmtpd is untyped
        await self.push(status)

    async def _receive(self, incoming: Incoming | None, failure: str | None) -> str:
        """Read DATA to its end, writing it to ``incoming``; the reply to send."""
        handler = self.event_handler
        prefix: bytes | None = handler.return_path(
            self.envelope.mail_from,  # type: ignore[union-attr]
            self.session,
        )
        chunk, header = bytearray(), bytearray()
        in_header = True
        size, limit = 0, self.data_size_limit
        state = "ok"  # ok | too_long | too_much
        fragments: list[bytes] = []
        try:
            while self.transport is not None:
                try:
                    line = await self._reader.readuntil(b"\r\n")
                except asyncio.CancelledError:
                    log.info("connection lost during DATA")
                    self._writer.close()
                    raise
                except asyncio.LimitOverrunError as exc:
                    state = "too_long" if state == "ok" else state
                    line = await self._reader.read(exc.consumed)
                if not fragments and line == b".\r\n":
                    break
                size += len(line)
                if state == "ok" and limit and size > limit:
                    state = "too_much"
                fragments.append(line)
                if not line.endswith(b"\r\n"):
                    continue
                whole = b"".join(fragments)
                fragments.clear()
                if state != "ok" or failure is not None:
                    continue
                if len(whole) > self.line_length_limit:
                    state = "too_long"
                    continue
                if whole.startswith(b"."):
                    whole = whole[1:]
                if prefix is not None:  # the envelope (and sender): always the product's own
                    chunk += prefix
                    header += prefix
                    prefix = None
                if in_header:
                    if len(header) < MAX_HEADER_BYTES:
                        header += whole
                    in_header = whole != b"\r\n"
                chunk += whole
                if len(chunk) >= CHUNK_BYTES:
                    failure = await self._write(incoming, chunk)
                    chunk = bytearray()
            if state == "too_long":
                return "500 Line too long (see RFC5321 4.5.3.1.6)"
            if state == "too_much":
                return "552 Error: Too much mail data"
            if failure is None and chunk:
                failure = await self._write(incoming, chunk)
            if failure is not None:
                return failure
            assert incoming is not None
            status: str = await handler.finish_spooled(incoming, bytes(header))
            incoming = None  # committed or discarded by the handler
            return status
        finally:
            if incoming is not None:
                await asyncio.to_thread(incoming.discard)

    @staticmethod
    async def _write(incoming: Incoming | None, chunk: bytearray) -> str | None:
        """Append a chunk in a worker thread; the failure reply, or None."""
        assert incoming is not None
        try:
            await asyncio.to_thread(incoming.write, bytes(chunk))
        except OSError as exc:
            log.warning("cannot spool mail: %s", exc)
            return DISK_FULL if disk_full(exc) else TEMPORARY_FAILURE
        return None
