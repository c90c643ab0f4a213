"""The verifier process's side of :mod:`cpd.mail_ingest.verify_process`: a loop on two pipes.

Started as ``python -c`` by the parent with the parent's ``sys.path`` and pid. Each request
is two frames (a 4-byte big-endian length, then the bytes): a JSON object of
:func:`~cpd.mail_ingest.sender_auth.verify`'s keyword arguments, then the raw mail; each
answer is one frame of JSON, the verdict or ``{"error": ...}``; the first frame the child
writes, once its imports are done, is ``{"ready": true}``. DNS answers are kept in this
process's own :class:`~cpd.mail_ingest.sender_dns.AnswerCache` across mails.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import threading
import time
from typing import Any

FRAME = struct.Struct("!I")
PIPE_SIZE = 1 << 20
"""Bytes the pipes are asked to hold (F_SETPIPE_SZ): a whole mail, so sending it never waits."""


def serve(parent: int) -> None:
    """The child's loop: verify each mail read from stdin, answer on stdout, until end of input.

    Each request is two frames (a 4-byte length, then the bytes): a JSON object of
    :func:`~cpd.mail_ingest.sender_auth.verify`'s keyword arguments, then the raw mail.
    """
    from cpd.mail_ingest.sender_auth import verify
    from cpd.mail_ingest.sender_dns import AnswerCache

    # Ctrl-C, or a service manager's SIGTERM, reach the whole group: the parent stops first
    # and ends this loop by closing its input (and it cannot outlive the parent, see below)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    reader, writer = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # a stray print must not corrupt the answers
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    cache = AnswerCache()
    _answer(writer, {"ready": True})
    while True:
        try:
            header = json.loads(_read_blocking(reader))
            raw = _read_blocking(reader)
        except EOFError:
            return
        servers = header.pop("dns_servers", None)
        try:
            found = verify(
                raw,
                cache=cache,
                dns_servers=[(str(h), int(p)) for h, p in servers] if servers else None,
                **header,
            )
            answer: dict[str, Any] = {
                "verdict": found.verdict,
                "domain": found.domain,
                "reasons": list(found.reasons),
            }
        except Exception as exc:  # reported to the parent, which raises it for this mail
            answer = {"error": f"{type(exc).__name__}: {exc}"[:1000]}
        try:
            _answer(writer, answer)
        except OSError:  # the parent is gone
            return


def _answer(fd: int, answer: dict[str, Any]) -> None:
    data = json.dumps(answer).encode()
    frame = FRAME.pack(len(data)) + data
    while frame:
        frame = frame[os.write(fd, frame) :]


def _read_blocking(fd: int) -> bytes:
    size = FRAME.unpack(_read_fully(fd, FRAME.size))[0]
    return _read_fully(fd, size)


def _read_fully(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, PIPE_SIZE))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _watch_parent(parent: int) -> None:
    """Exit when the parent is gone, even while a verification is stuck."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)
