"""Claims from an IMAP mailbox: fetch, hand to the claims service, then file away.

One worker thread runs IMAPClient (a blocking library). For each message in the folder it
downloads the message without marking it read (``BODY.PEEK[]``), calls
``service.receive_mail(intake, ["imap:<uidvalidity>:<uid>"])``, and only after that returned
(the claim or the reply is committed) adds ``\\Seen`` and moves the message to the processed
folder. A crash in between leaves the message in place; the next pass hands it over again and
the service recognises it by its Message-ID or its UIDVALIDITY/UID key: exactly one claim.

With ``since`` (``CPD_IMAP_SINCE``) only mail whose INTERNALDATE is at or after that moment
is handled: the search asks for ``SINCE`` the day before (SINCE is a date in the server's
time zone) and the INTERNALDATE of each hit is compared exactly; older mail is left where it
is, unread and unmoved. Without it every message in the folder is claimed.

Between passes it waits in IDLE when the server offers it (re-issued every few minutes),
otherwise it polls. When the server goes away it reconnects with exponential backoff.
The password is never logged: the account prints as ``imap://user@host:port/FOLDER``.

Several instances: with a ``lock`` (``ClaimsService.instances.lock("imap")``) one instance
polls at a time; the others try the lock every ``lock_retry`` seconds and take over when the
holder dies (its database session ends, and the lock with it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from imapclient import IMAPClient

from cpd.claims.instances import Lock
from cpd.claims.intake import MAX_ATTACHMENTS, MailOutcome
from cpd.claims.service import ClaimsService
from cpd.mail_ingest.envelope import Envelope
from cpd.mail_ingest.identify import checked_intake
from cpd.mail_ingest.imap_account import ImapAccount, ImapUrlError, parse_imap_url
from cpd.mail_ingest.parse import MalformedMail, parse_mail
from cpd.mail_ingest.sender_auth import MailAuthConfig
from cpd.mail_ingest.worker import run_in_thread

log = logging.getLogger(__name__)
__all__ = ["ImapAccount", "ImapPoller", "ImapUrlError", "parse_imap_url", "return_path_of"]

SEEN = b"\\Seen"
FLAGGED = b"\\Flagged"
DELETED = b"\\Deleted"
FETCH_BODY = b"BODY[]"
HEALTHY_SESSION = 60.0
"""A session that lasted this long (seconds) resets the reconnect backoff."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ImapPoller:
    """Polls one IMAP folder for claim mail; ``await run()`` until cancelled.

    Waits in IDLE (renewed every ``idle_renew`` seconds) when the server offers it and
    ``use_idle`` is set, else polls every ``poll_interval`` seconds. After a failure it
    reconnects after ``backoff_initial`` seconds, doubling up to ``backoff_max``; the backoff
    starts over once a session has lasted a minute.
    """

    def __init__(
        self,
        service: ClaimsService,
        account: ImapAccount,
        *,
        poll_interval: float = 60.0,
        idle_renew: float = 120.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 300.0,
        timeout: float = 60.0,
        stop_check: float = 0.5,
        use_idle: bool = True,
        clock: Callable[[], dt.datetime] = _utcnow,
        since: dt.datetime | None = None,
        auth: MailAuthConfig | None = None,
        max_attachments: int = MAX_ATTACHMENTS,
        lock: Lock | None = None,
        lock_retry: float = 10.0,
    ) -> None:
        self.service = service
        self.lock, self.lock_retry = lock, lock_retry  # several instances: one polls at a time
        self.auth = auth or MailAuthConfig()
        self.max_attachments = max_attachments
        self.account = account
        self.poll_interval = poll_interval
        self.idle_renew = idle_renew
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.stop_check = stop_check
        self.use_idle = use_idle
        self.clock = clock
        self.since = _aware(since)
        self._stopping = threading.Event()
        self._done: set[tuple[int, int]] = set()
        self._refused: set[tuple[int, int]] = set()
        self._older: set[tuple[int, int]] = set()
        """Messages received before ``since``: left in place, never fetched again."""
        self.connections = 0
        """How many times a session was established (for tests and logs)."""
        self.handled = 0
        """How many messages were handed to the service and filed away."""

    # -- asyncio face ----------------------------------------------------------------------

    async def run(self) -> None:
        """Poll in a worker thread until cancelled; cancelling waits for the thread to finish
        the message in hand, so nothing is half done."""
        await run_in_thread(self.run_blocking, self.stop, "imap-poller")

    def stop(self) -> None:
        """Ask the worker to stop at the next safe point (within ``stop_check`` seconds)."""
        self._stopping.set()

    # -- the worker thread -----------------------------------------------------------------

    def run_blocking(self) -> None:
        """Sessions until stopped; after a failure, wait with exponential backoff (capped)."""
        delay, waiting = self.backoff_initial, False
        while not self._stopping.is_set():
            if self.lock is not None and not self.lock.try_acquire():
                if not waiting:
                    log.info(
                        "IMAP %s: another instance polls; taking over if it stops", self.account
                    )
                waiting = True
                self._stopping.wait(self.lock_retry)
                continue
            waiting = False
            started = time.monotonic()
            try:
                self.session()
            except Exception as exc:  # the server went away, refused us, or the database did
                if self._stopping.is_set():
                    break
                if time.monotonic() - started >= HEALTHY_SESSION:
                    delay = self.backoff_initial  # it worked for a while: start over
                log.warning(
                    "IMAP %s: %s: %s; retrying in %.1f s",
                    self.account,
                    type(exc).__name__,
                    _redact(str(exc), self.account.password),
                    delay,
                )
                self._stopping.wait(delay)
                delay = min(delay * 2, self.backoff_max)
        if self.lock is not None:
            self.lock.release()

    def session(self) -> None:
        """One connection: log in, then handle new mail and wait for more until stopped."""
        account = self.account
        client = IMAPClient(account.host, port=account.port, ssl=account.ssl, timeout=self.timeout)
        client.normalise_times = False
        try:
            client.login(account.username, account.password)
            self.connections += 1
            capabilities = set(client.capabilities())
            can_idle = self.use_idle and b"IDLE" in capabilities
            self._ensure_folder(client, account.processed_folder)
            selected = client.select_folder(account.folder)
            uidvalidity = int(selected[b"UIDVALIDITY"])
            log.info(
                "IMAP %s: connected (UIDVALIDITY %s, %s)",
                account,
                uidvalidity,
                "IDLE" if can_idle else f"polling every {self.poll_interval:g} s",
            )
            while not self._stopping.is_set():
                if self.lock is not None and not self.lock.try_acquire():
                    log.warning("IMAP %s: lost the polling lock; another instance polls", account)
                    break
                # Search again until a search finds nothing new: news of mail that arrived
                # while we fetched and moved came with those commands' answers, not in IDLE.
                while self.handle_new(client, uidvalidity, capabilities):
                    pass
                if self._stopping.is_set():
                    break
                if can_idle:
                    self._idle(client)
                else:
                    self._stopping.wait(self.poll_interval)
                    client.noop()
        finally:
            try:
                client.logout()
            except Exception:
                with contextlib.suppress(Exception):
                    client.shutdown()

    def handle_new(self, client: IMAPClient, uidvalidity: int, capabilities: set[bytes]) -> int:
        """Hand every message in the folder not handled yet to the service; how many."""
        criteria: list[Any] = ["NOT", "DELETED"]
        if self.since is not None:
            criteria += ["SINCE", self.since.astimezone(dt.UTC).date() - dt.timedelta(days=1)]
        uids = sorted(client.search(criteria))
        present = {(uidvalidity, uid) for uid in uids}
        self._done &= present  # what was filed away is gone: forget it
        self._refused &= present
        self._older &= present
        self._skip_older(client, uidvalidity, uids)
        count = 0
        for uid in uids:
            if self._stopping.is_set():
                break
            key = (uidvalidity, uid)
            if key in self._done or key in self._refused or key in self._older:
                continue
            if self.handle_one(client, uidvalidity, uid, capabilities):
                count += 1
        return count

    def _skip_older(self, client: IMAPClient, uidvalidity: int, uids: list[int]) -> None:
        """Note the messages among ``uids`` received before ``since`` (one FETCH)."""
        if self.since is None:
            return
        known = self._done | self._refused | self._older
        unknown = [uid for uid in uids if (uidvalidity, uid) not in known]
        if not unknown:
            return
        older = 0
        for uid, data in client.fetch(unknown, [b"INTERNALDATE"]).items():
            received = _aware(data.get(b"INTERNALDATE"))
            if received is not None and received < self.since:
                self._older.add((uidvalidity, uid))
                older += 1
        if older:
            log.info(
                "IMAP %s: %d message(s) received before %s left in place (CPD_IMAP_SINCE)",
                self.account,
                older,
                self.since.isoformat(),
            )

    def handle_one(
        self, client: IMAPClient, uidvalidity: int, uid: int, capabilities: set[bytes]
    ) -> bool:
        """Fetch, store, then flag and file one message; False when it was not handled."""
        fetched = client.fetch([uid], [b"BODY.PEEK[]", b"INTERNALDATE"]).get(uid)
        if not fetched or FETCH_BODY not in fetched:
            return False  # expunged meanwhile
        raw = bytes(fetched[FETCH_BODY])
        received_at = _aware(fetched.get(b"INTERNALDATE")) or self.clock()
        try:
            outcome = self.store(raw, received_at, f"imap:{uidvalidity}:{uid}")
        except MalformedMail as exc:
            log.warning(
                "IMAP %s: message UID %s is not readable mail (%s); flagged and left in place",
                self.account,
                uid,
                exc,
            )
            self._refused.add((uidvalidity, uid))
            client.add_flags([uid], [FLAGGED])
            return False
        log.info(
            "IMAP %s: UID %s: %s%s%s",
            self.account,
            uid,
            outcome.outcome,
            f" (claim #{outcome.claim.id})" if outcome.claim else "",
            " (duplicate)" if outcome.duplicate else "",
        )
        self._file_away(client, uid, capabilities)
        self._done.add((uidvalidity, uid))
        self.handled += 1
        return True

    def store(self, raw: bytes, received_at: dt.datetime, key: str) -> MailOutcome:
        """Parse ``raw`` and hand it to the claims service with its IMAP key."""
        # no SMTP session here: DKIM and DMARC without SPF in verify mode, or the mailbox
        # provider's Authentication-Results in header mode; the envelope sender is the
        # Return-Path the final delivery wrote
        envelope = Envelope(None, None, return_path_of(raw))
        intake = checked_intake(
            self.auth,
            parse_mail(raw),
            raw,
            received_at,
            envelope,
            smtp=False,
            max_attachments=self.max_attachments,
        )
        return self.service.receive_mail(intake, [key])

    def _file_away(self, client: IMAPClient, uid: int, capabilities: set[bytes]) -> None:
        client.add_flags([uid], [SEEN])
        target = self.account.processed_folder
        if b"MOVE" in capabilities:
            client.move([uid], target)
            return
        client.copy([uid], target)
        client.add_flags([uid], [DELETED])
        if b"UIDPLUS" in capabilities:
            client.expunge([uid])
        else:
            client.expunge()

    def _ensure_folder(self, client: IMAPClient, name: str) -> None:
        if not client.folder_exists(name):
            client.create_folder(name)
            log.info("IMAP %s: created folder %s", self.account, name)

    def _idle(self, client: IMAPClient) -> None:
        """Wait in IDLE until the server reports something, the renewal is due, or we stop."""
        client.idle()
        deadline = time.monotonic() + self.idle_renew
        empty_wakeups = 0
        while not self._stopping.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            responses = client.idle_check(timeout=self.stop_check)
            if any(_is_bye(r) for r in responses):
                raise ConnectionError("the IMAP server closed the connection (BYE)")
            if any(_is_news(r) for r in responses):
                break
            # idle_check returns at once with nothing when the socket is at EOF
            quick = not responses and time.monotonic() - started < self.stop_check / 4
            empty_wakeups = empty_wakeups + 1 if quick else 0
            if empty_wakeups >= 3:
                raise ConnectionError("the IMAP server closed the connection")
        client.idle_done()


def _is_news(response: Sequence[Any]) -> bool:
    """An untagged response that may mean new mail (EXISTS / RECENT)."""
    return len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT")


def _is_bye(response: Sequence[Any]) -> bool:
    """An untagged BYE: the server is closing the connection."""
    return len(response) >= 1 and response[0] == b"BYE"


def _aware(moment: Any) -> dt.datetime | None:
    if not isinstance(moment, dt.datetime):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def return_path_of(raw: bytes) -> str | None:
    """The address of the topmost ``Return-Path`` ("" for ``<>``; None when there is none)."""
    head = raw[: raw.find(b"\r\n\r\n") if b"\r\n\r\n" in raw else 64 * 1024]
    for line in head.splitlines():
        if line[:12].lower() == b"return-path:":
            value = line[12:].decode("utf-8", "replace").strip()
            return value.strip("<>").strip()
    return None
