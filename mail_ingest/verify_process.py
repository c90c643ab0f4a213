"""Sender verification (``CPD_MAIL_AUTH=verify``) in a child process, off the parent's GIL.

DKIM hashing, header canonicalisation and SPF evaluation cost a few milliseconds of Python a
mail; in `cpd run` they competed for one GIL with the SMTP loop and the storing thread. A
:class:`VerifierProcess` runs :func:`~cpd.mail_ingest.sender_auth.verify` in one child
(:func:`cpd.mail_ingest.verify_child.serve` in a fresh interpreter, never a fork of the
threaded parent), which keeps its own :class:`~cpd.mail_ingest.sender_dns.AnswerCache`.
Only plain values cross a pair of pipes: a JSON line of arguments and the raw bytes in, a
JSON verdict out (no pickle: the child reads mail from strangers).

:meth:`VerifierProcess.request` sends a mail at once and answers later, so the caller parses
it meanwhile. What can go wrong, and what happens:

- the child died (killed, crashed), cannot be written to or did not start: a new one is
  started and the mail is sent again, once; if that fails too, the mail is verified in the
  calling thread, and so is all mail for the next minute (:data:`FALLBACK_SECONDS`);
- the child does not answer within ``timeout`` (DNS is bounded by ``lifetime``, so this is a
  hang): it is killed and replaced, and the verdict is **none** with the reason, never pass
  (the clock starts once the child is ready: a child's start-up never counts);
- the parent dies (even by SIGKILL): the child reads end-of-file and exits; a child stuck
  elsewhere notices within a second that its parent changed and exits;
- :meth:`VerifierProcess.close` (the spool worker stopping): the child is told by end of
  input, given two seconds, then killed; later requests are verified in the calling thread.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from cpd.mail_ingest.sender_auth import MailAuthConfig, Verification
from cpd.mail_ingest.sender_identity import Refusal, author_of
from cpd.mail_ingest.verify_child import FRAME, PIPE_SIZE

log = logging.getLogger(__name__)

HANG_MARGIN = 5.0
"""Seconds a verification may take beyond its DNS ``lifetime`` before the child is a hang."""
CLOSE_GRACE = 2.0
STARTUP_TIMEOUT = 30.0
"""Seconds a new child may take to import its modules and say it is ready."""
FALLBACK_SECONDS = 60.0
"""After two children failed one mail, mail is verified in the calling thread this long."""
_F_SETPIPE_SZ = 1031
_BOOT = (
    "import json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
    "from cpd.mail_ingest.verify_child import serve; serve(int(sys.argv[2]))"
)


class ChildGone(Exception):
    """The child died, closed its pipe or could not be started."""


class ChildHung(Exception):
    """The child did not answer in time."""


@dataclass
class _Child:
    process: subprocess.Popen[bytes]
    to_child: int
    from_child: int
    ready: bool = False

    def wait_ready(self) -> None:
        """Wait for the child's first frame, sent once it has imported what it needs."""
        if self.ready:
            return
        try:
            answer = self.receive(time.monotonic() + STARTUP_TIMEOUT)
        except ChildHung:
            raise ChildGone(f"not ready within {STARTUP_TIMEOUT:.0f} s") from None
        if answer != {"ready": True}:
            raise ChildGone("no ready signal")
        self.ready = True

    def send(self, header: bytes, raw: bytes, deadline: float) -> None:
        for part in (FRAME.pack(len(header)), header, FRAME.pack(len(raw)), raw):
            _write_all(self.to_child, part, deadline)

    def receive(self, deadline: float) -> dict[str, Any]:
        size = FRAME.unpack(_read_exactly(self.from_child, FRAME.size, deadline))[0]
        answer = json.loads(_read_exactly(self.from_child, size, deadline))
        if not isinstance(answer, dict):
            raise ChildGone("unreadable answer")
        return answer

    def kill(self) -> None:
        for fd in (self.to_child, self.from_child):
            if fd >= 0:
                with suppress(OSError):
                    os.close(fd)
        self.to_child = self.from_child = -1
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
            log.error("verifier process %d did not exit after SIGKILL", self.process.pid)


class Pending:
    """A verification under way in the child; :meth:`result` waits for it."""

    def __init__(self, owner: VerifierProcess, raw: bytes, args: dict[str, str | None]) -> None:
        self._owner = owner
        self._raw = raw
        self._args = args
        self._header = json.dumps({**args, **owner.settings}).encode()
        self._deadline = time.monotonic() + owner.timeout
        self._sent: _Child | None = None
        self._result: Verification | None = None
        self._send()

    def _send(self) -> None:
        child = self._owner._child_or_none()
        if child is None:
            return
        try:
            child.wait_ready()  # the time to start does not count against the mail
            self._deadline = time.monotonic() + self._owner.timeout
            child.send(self._header, self._raw, self._deadline)
            self._sent = child
        except ChildGone:
            self._owner._replace(child, "died")
        except ChildHung:
            self._owner._replace(child, "hung")
            self._result = self._owner._timed_out(self._raw)

    def result(self) -> Verification:
        """The verdict: the child's, or the thread's when no child could, or none on a hang."""
        if self._result is not None:
            return self._result
        for attempt in range(2):
            if self._sent is None and attempt > 0:
                self._send()
            if self._result is not None:
                return self._result
            child = self._sent
            self._sent = None
            if child is None:
                continue
            try:
                self._result = _verification(child.receive(self._deadline))
                return self._result
            except ChildGone:
                self._owner._replace(child, "died")
                continue
            except ChildHung:
                self._owner._replace(child, "hung")
                self._result = self._owner._timed_out(self._raw)
                return self._result
        self._result = self._owner._in_thread(self._raw, self._args)
        return self._result


class VerifierProcess:
    """One child process that verifies mail senders for ``auth`` (its mode is ``verify``).

    Thread-safe: requests are answered one at a time. ``timeout`` defaults to the DNS
    ``lifetime`` plus :data:`HANG_MARGIN`.
    """

    def __init__(
        self, auth: MailAuthConfig, *, timeout: float | None = None, executable: str | None = None
    ) -> None:
        self.auth = auth
        self.executable = executable or sys.executable
        """The Python interpreter the child runs (the parent's own)."""
        self.timeout = timeout if timeout is not None else auth.lifetime + HANG_MARGIN
        self.restarts = 0
        """How many children were replaced (died or hung)."""
        self.in_thread = 0
        """How many mails were verified in the calling thread (no child could)."""
        self.settings: dict[str, Any] = {
            "mode": "verify",
            "authserv_id": auth.authserv_id,
            "dns_servers": [list(s) for s in auth.dns_servers] if auth.dns_servers else None,
            "timeout": auth.timeout,
            "lifetime": auth.lifetime,
        }
        """What every request tells the child besides the mail (plain JSON values)."""
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self._closed = False
        self._spawn_after = 0.0  # monotonic time before which no child is started

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before the first or after closing)."""
        child = self._child
        return child.process.pid if child is not None else None

    def rss_bytes(self) -> int | None:
        """The child's resident memory (Linux /proc), None without a running child."""
        pid = self.pid
        if pid is None:
            return None
        try:
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def start(self) -> None:
        """Start the child now (it is started on the first request otherwise)."""
        with self._lock:
            self._child_or_none()

    @contextmanager
    def request(
        self, raw: bytes, *, client_ip: str | None, helo: str | None, mail_from: str | None
    ) -> Iterator[Pending]:
        """Send ``raw`` to be verified at once; ``.result()`` inside the block waits for it.

        Requests are serialised: the block holds the child, so keep it short (a parse).
        """
        args = {"client_ip": client_ip, "helo": helo, "mail_from": mail_from}
        with self._lock:
            pending = Pending(self, raw, args)
            try:
                yield pending
            except BaseException:
                with suppress(Exception):  # the block's own error is the one to see
                    pending.result()  # an answer left in the pipe would be the next mail's
                raise
            pending.result()

    def verify(
        self, raw: bytes, *, client_ip: str | None, helo: str | None, mail_from: str | None
    ) -> Verification:
        """The verdict for one mail (blocking)."""
        with self.request(raw, client_ip=client_ip, helo=helo, mail_from=mail_from) as pending:
            return pending.result()

    def close(self) -> None:
        """Stop the child (end of input, then SIGKILL after a grace); no child is started again."""
        with self._lock:
            self._closed = True
            child, self._child = self._child, None
        if child is None:
            return
        with suppress(OSError):
            os.close(child.to_child)
        child.to_child = -1  # end of input: the child's loop returns
        try:
            child.process.wait(timeout=CLOSE_GRACE)
        except subprocess.TimeoutExpired:
            log.warning("verifier process %d did not stop; killed", child.process.pid)
        child.kill()

    # -- for Pending (the lock is held) -----------------------------------------------------

    def _child_or_none(self) -> _Child | None:
        if self._child is not None and self._child.process.poll() is None:
            return self._child
        if self._child is not None:
            self._replace(self._child, "died")
        if self._closed or time.monotonic() < self._spawn_after:
            return None
        try:
            self._child = _spawn(self.executable)
        except OSError as exc:
            log.error("cannot start the verifier process (%s); verifying in-process", exc)
            return None
        log.info("sender verification runs in process %d", self._child.process.pid)
        return self._child

    def _replace(self, child: _Child, why: str) -> None:
        status = child.process.poll()
        log.warning(
            "verifier process %d %s%s; starting another",
            child.process.pid,
            why,
            f" (exit status {status})" if status is not None else "",
        )
        child.kill()
        self.restarts += 1
        if self._child is child:
            self._child = None

    def _timed_out(self, raw: bytes) -> Verification:
        author = author_of(raw)
        domain = "" if isinstance(author, Refusal) else author.domain
        return Verification(
            "none", domain, (f"verification did not finish within {self.timeout:.0f} s",)
        )

    def _in_thread(self, raw: bytes, args: dict[str, str | None]) -> Verification:
        if not self._closed and self._spawn_after <= time.monotonic():
            log.error(
                "no verifier process could verify a mail; verifying in-process for %.0f s",
                FALLBACK_SECONDS,
            )
            self._spawn_after = time.monotonic() + FALLBACK_SECONDS
        self.in_thread += 1
        return self.auth.verify(
            raw, client_ip=args["client_ip"], helo=args["helo"], mail_from=args["mail_from"]
        )


def _spawn(executable: str) -> _Child:
    """A new child on two pipes sized to hold a mail (OSError when it cannot start)."""
    process = subprocess.Popen(
        [executable, "-c", _BOOT, json.dumps(sys.path), str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,  # the child's warnings go to the parent's log stream
        close_fds=True,
    )
    assert process.stdin is not None and process.stdout is not None
    to_child, from_child = os.dup(process.stdin.fileno()), os.dup(process.stdout.fileno())
    process.stdin.close()
    process.stdout.close()
    for fd in (to_child, from_child):
        os.set_blocking(fd, False)
        try:
            import fcntl

            fcntl.fcntl(fd, _F_SETPIPE_SZ, PIPE_SIZE)
        except (ImportError, OSError):  # not Linux, or above pipe-max-size: smaller writes
            pass
    return _Child(process, to_child, from_child)


def _write_all(fd: int, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            written = 0
        except OSError as exc:  # EPIPE: the child is gone
            raise ChildGone(str(exc)) from None
        view = view[written:]
        if view and not select.select([], [fd], [], max(0.0, deadline - time.monotonic()))[1]:
            raise ChildHung


def _read_exactly(fd: int, size: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left:
        if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            raise ChildHung
        try:
            chunk = os.read(fd, left)
        except BlockingIOError:
            continue
        except OSError as exc:
            raise ChildGone(str(exc)) from None
        if not chunk:
            raise ChildGone("end of output")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _verification(answer: dict[str, Any]) -> Verification:
    """The child's answer as a Verification (an error it reports is raised here)."""
    if "error" in answer:
        raise RuntimeError(f"verification failed in the verifier process: {answer['error']}")
    verdict = answer.get("verdict")
    if verdict not in ("pass", "fail", "none"):
        raise ChildGone(f"unknown verdict {verdict!r}")
    return Verification(verdict, str(answer["domain"]), tuple(map(str, answer["reasons"])))
