"""Hands spooled mails to the claims service, oldest first; a poison mail never blocks the rest.

A file is deleted only after ``receive_mail`` returned, so a crash in between hands the same
mail over again, which the service recognises (idempotent on the sender and Message-ID).
Who sent each mail is verified here (:mod:`cpd.mail_ingest.identify`: DNS lookups and DKIM,
blocking): the next file, when small (:data:`READ_AHEAD_MAX_BYTES`), is read and verified in
a second thread while the one before it is stored, so verification costs little throughput.
In ``verify`` mode the verification itself runs in a child process
(:mod:`cpd.mail_ingest.verify_process`, started with the worker) while that thread parses the
mail: DKIM and SPF then use the second core instead of this process's GIL.

When storing fails, the error decides what happens (:func:`cpd.claims.failures.is_transient`):

* **an outage** (the database unreachable or locked, the disk full): nothing is counted
  against the mail; the pass stops and the worker waits with exponential backoff (0.5 s up
  to a minute) before trying again. A long outage therefore quarantines nothing. The next
  waiting mail is tried first: if it is stored, the "outage" was this mail's own (a
  PostgreSQL error of the operational class raised by this row only), and it is counted
  as below; if it fails too, it is an outage.
* **the mail itself** (a ``DataError``, an encoding error, a bug only this mail hits): the
  failure is counted in ``attempts/<name>.json`` (so it survives restarts), the mail is not
  tried again for a backoff that doubles with each attempt, and the files behind it are
  handled meanwhile. After ``max_attempts`` such failures *and* once another mail has been
  stored since its first failure (proof that it is this mail, not the database), it is moved
  to ``failed/`` with the error, logged in one line and counted in ``quarantined``. A mail
  that fails ``3 × max_attempts`` times goes there even with no other traffic to compare.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from cpd.claims.failures import is_transient
from cpd.claims.intake import MAX_ATTACHMENTS, Intake, MailOutcome
from cpd.claims.service import ClaimsService
from cpd.mail_ingest.envelope import split_envelope
from cpd.mail_ingest.identify import checked_intake, sender_trace
from cpd.mail_ingest.parse import MalformedMail, parse_mail
from cpd.mail_ingest.sender_auth import MailAuthConfig, Verification
from cpd.mail_ingest.spool import MailSpool
from cpd.mail_ingest.verify_process import VerifierProcess
from cpd.mail_ingest.worker import run_in_thread

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 5
READ_AHEAD_MAX_BYTES = 2 * 1024 * 1024
"""Only mails up to this size are read and verified ahead, while the one before is stored."""


def one_line(text: str, limit: int = 200) -> str:
    """Text safe for an SMTP reply or a log line: printable ASCII, one line, bounded."""
    clean = "".join(ch if 32 <= ord(ch) < 127 else " " for ch in text)
    clean = " ".join(clean.split())
    return clean[:limit] or "unreadable message"


class SpoolWorker:
    """Drains a :class:`MailSpool` into the claims service; ``await run()`` until cancelled."""

    def __init__(
        self,
        service: ClaimsService,
        spool: MailSpool,
        *,
        backoff_initial: float = 0.5,
        backoff_max: float = 60.0,
        idle_check: float = 5.0,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retry_initial: float = 1.0,
        retry_max: float = 300.0,
        max_attachments: int = MAX_ATTACHMENTS,
        auth: MailAuthConfig | None = None,
        verify_in_process: bool = True,
    ) -> None:
        self.service = service
        self.spool = spool
        self.auth = auth or MailAuthConfig()
        self.verifier = (
            VerifierProcess(self.auth) if verify_in_process and self.auth.mode == "verify" else None
        )
        """The child process verifying senders (``verify`` mode only; None: in this thread)."""
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.idle_check = idle_check
        self.max_attempts = max(1, max_attempts)
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.max_attachments = max_attachments
        self.handled = 0
        """How many spooled mails were handed to the service."""
        self.quarantined = 0
        """How many mails this worker moved to ``failed/``."""
        self.last_stored = 0.0
        """When (epoch seconds) a mail was last stored: failures before it were the mail's."""
        self._stopping = threading.Event()
        self._wakeup = threading.Event()
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail-verify")

    def wake(self) -> None:
        """A new file is waiting (called by the handler after each ``250``)."""
        self._wakeup.set()

    def stop(self) -> None:
        """Stop after the file in hand (a file read ahead is simply read again next time)."""
        self._stopping.set()
        self._wakeup.set()
        self._reader.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the verifier process (``run_blocking`` does when it ends)."""
        if self.verifier is not None:
            self.verifier.close()

    async def run(self) -> None:
        """Work in a thread of its own until cancelled (cancelling waits for the file in hand)."""
        await run_in_thread(self.run_blocking, self.stop, "mail-spool")

    def run_blocking(self) -> None:
        """Drain the spool, then wait to be woken (or until a mail in backoff is due)."""
        try:
            if self.verifier is not None:
                self.verifier.start()  # the first mail does not wait for it to start
            self._loop()
        finally:
            self._reader.shutdown(wait=True)  # a mail read ahead finishes with the verifier
            self.close()

    def _loop(self) -> None:
        delay = self.backoff_initial
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                self.drain()
                delay = self.backoff_initial
            except Exception as exc:
                log.warning(
                    "could not store spooled mail (%s: %s); retrying in %.1f s",
                    type(exc).__name__,
                    one_line(str(exc)),
                    delay,
                )
                self._stopping.wait(delay)
                delay = min(delay * 2, self.backoff_max)
                continue
            self._wakeup.wait(self._idle_wait())

    def _idle_wait(self) -> float:
        """Seconds until the next mail in backoff is due (at most ``idle_check``)."""
        now = time.time()
        wait = self.idle_check
        for path in self.spool.waiting():
            attempts = self.spool.attempts(path.name)
            if attempts is not None:
                wait = min(wait, max(0.05, attempts.next_try - now))
        return wait

    def drain(self) -> int:
        """Hand every waiting file that is due to the service; how many were done with.

        A mail that fails on its own is counted and skipped; an outage (a transient error of
        two mails in a row, or of the last one) is raised, so the caller backs off without
        counting it against any mail.
        """
        count = 0
        suspect: tuple[Path, Exception] | None = None  # a transient failure, not yet judged
        due = [path for path in self.spool.waiting() if self._due(path)]
        ahead: Future[Intake | None] | None = None
        for index, path in enumerate(due):
            if self._stopping.is_set():
                break
            # the next mail is read and verified (DNS, DKIM) while this one is stored
            prepared = ahead
            ahead = None
            if index + 1 < len(due) and _small(due[index + 1]):
                try:
                    ahead = self._reader.submit(self._prepare, due[index + 1])
                except RuntimeError:  # stopped meanwhile: no read-ahead
                    ahead = None
            try:
                self.handle(path, prepared)
            except Exception as exc:
                if not is_transient(exc):
                    self._failed(path, exc)
                elif suspect is None:
                    suspect = (path, exc)  # the next mail tells an outage from this mail
                else:
                    raise  # two mails in a row: the database (or disk) is away
                continue
            if suspect is not None:  # the next mail was stored: it was that mail after all
                self._failed(*suspect)
                suspect = None
            count += 1
        if suspect is not None:
            raise suspect[1]
        return count

    def _due(self, path: Path) -> bool:
        attempts = self.spool.attempts(path.name)
        return attempts is None or attempts.next_try <= time.time()  # else in backoff

    def _prepare(self, path: Path) -> Intake | None:
        """Read, parse and verify one file (None when it is gone); MalformedMail if unreadable.

        Who sent it costs blocking DNS and DKIM work, done in a worker thread; a file with no
        envelope line (spooled by an earlier release) is checked without SPF, never trusted
        more.
        """
        try:
            envelope, raw = split_envelope(path.read_bytes())
        except FileNotFoundError:
            return None
        verification: Verification | None = None
        if self.verifier is None:
            parsed = parse_mail(raw)
        else:  # the child verifies while this thread parses
            with self.verifier.request(raw, **sender_trace(envelope)) as pending:
                parsed = parse_mail(raw)
                verification = pending.result()
        return checked_intake(
            self.auth,
            parsed,
            raw,
            self.spool.received_at(path),
            envelope,
            max_attachments=self.max_attachments,
            verification=verification,
        )

    def handle(
        self, path: Path, prepared: Future[Intake | None] | None = None
    ) -> MailOutcome | None:
        """One file: parse, store, delete; a file the parser refuses is set aside.

        ``prepared`` is :meth:`_prepare` of this file already under way (read ahead).
        """
        try:
            intake = prepared.result() if prepared is not None else self._prepare(path)
        except MalformedMail as exc:
            log.warning("spooled mail %s is not readable (%s); set aside", path.name, exc)
            self.spool.reject(path)
            return None
        if intake is None:
            return None
        outcome = self.service.receive_mail(intake)
        path.unlink(missing_ok=True)
        self.spool.forget_attempts(path.name)
        self.handled += 1
        self.last_stored = time.time()
        log.info(
            "mail from %s (%s): %s%s%s",
            intake.sender.email,
            intake.verification,
            outcome.outcome,
            f" (claim #{outcome.claim.id})" if outcome.claim else "",
            " (duplicate)" if outcome.duplicate else "",
        )
        return outcome

    def _failed(self, path: Path, exc: Exception) -> None:
        """Count a failure of this mail; quarantine it once it is clearly the mail's fault."""
        error = f"{type(exc).__name__}: {one_line(str(exc), 500)}"
        before = self.spool.attempts(path.name)
        count = (before.count if before else 0) + 1
        delay = min(self.retry_initial * 2 ** (count - 1), self.retry_max)
        attempts = self.spool.record_failure(path.name, error, delay, time.time())
        others_stored = self.last_stored > attempts.first_failed
        if count >= self.max_attempts and (others_stored or count >= 3 * self.max_attempts):
            self._quarantine(path, error, count)
            return
        log.warning(
            "could not store spooled mail %s (attempt %d: %s); retrying in %.0f s, "
            "the mails behind it go on",
            path.name,
            count,
            error,
            delay,
        )

    def _quarantine(self, path: Path, error: str, count: int) -> None:
        sender, subject = _headline(path)
        self.spool.quarantine(
            path,
            {
                "error": error,
                "attempts": count,
                "sender": sender,
                "subject": subject,
                "failed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        )
        self.quarantined += 1
        log.error(
            "mail %s from %s failed %d times and was moved to %s (%s); "
            "`cpd mail retry %s` tries it again",
            path.name,
            sender,
            count,
            self.spool.failed,
            error,
            path.name.removesuffix(".eml"),
        )


def _small(path: Path) -> bool:
    """Whether a spooled file is small enough to read ahead: two big mails are never held in
    memory at once (a 24 MB mail costs about 65 MB while it is parsed)."""
    try:
        return path.stat().st_size <= READ_AHEAD_MAX_BYTES
    except OSError:
        return False


def _headline(path: Path) -> tuple[str, str]:
    """The sender and subject of a spooled mail, from its headers ("?" when unreadable)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(256 * 1024)
        end = head.find(b"\r\n\r\n")
        parsed = parse_mail(head if end < 0 else head[: end + 4])
        return parsed.sender or "?", one_line(parsed.subject, 200)
    except Exception:  # the headers themselves may be what fails
        return "?", ""
