"""Bounded, cached DNS lookups for one sender verification (dnspython).

A :class:`Lookups` belongs to one ``verify`` call: it asks the configured resolvers
(``CPD_DNS_SERVERS``, else the system's), gives each question at most ``timeout`` seconds and
all of them together at most ``lifetime``, and remembers every answer and every failure, so a
name is asked once. When the very first question times out the resolvers are taken to be
unreachable and the remaining questions fail at once (a dead resolver costs one timeout, not
one per name). A name that does not exist, or has no records of the type, is an empty
answer; a timeout, SERVFAIL, an unreachable resolver or a spent budget raises
:class:`DnsTempError`, which the checks turn into ``temperror`` (never into ``fail``).

Blocking by design: verification runs in the spool worker thread, not on the event loop.

An :class:`AnswerCache` shared by many ``Lookups`` (one per :class:`MailAuthConfig`, i.e. per
process) keeps answers between verifications, as a caching resolver would: each for its
record's TTL (at most :data:`MAX_CACHE_SECONDS`), names that do not exist for
:data:`NEGATIVE_CACHE_SECONDS`; failures are never kept.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

DEFAULT_TIMEOUT = 2.0
DEFAULT_LIFETIME = 5.0
MAX_TXT_CHARS = 4096
MAX_CACHE_SECONDS = 300.0
NEGATIVE_CACHE_SECONDS = 60.0
MAX_CACHE_ENTRIES = 10_000


class AnswerCache:
    """DNS answers kept across verifications (thread-safe; bounded in size and time)."""

    def __init__(self, max_entries: int = MAX_CACHE_ENTRIES) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._answers: dict[tuple[object, ...], tuple[float, list[object]]] = {}

    def get(self, key: tuple[object, ...]) -> list[object] | None:
        """The answer kept for ``key`` while it is fresh, else None."""
        with self._lock:
            found = self._answers.get(key)
            if found is None:
                return None
            if found[0] < time.monotonic():
                del self._answers[key]
                return None
            return found[1]

    def put(self, key: tuple[object, ...], answer: list[object], ttl: float) -> None:
        """Keep ``answer`` for ``ttl`` seconds (at most :data:`MAX_CACHE_SECONDS`)."""
        ttl = min(max(ttl, 0.0), MAX_CACHE_SECONDS)
        if ttl <= 0:
            return
        with self._lock:
            if len(self._answers) >= self.max_entries:
                self._answers.clear()  # crude, bounded: a burst of names starts afresh
            self._answers[key] = (time.monotonic() + ttl, answer)


class DnsTempError(Exception):
    """A lookup gave no usable answer (timeout, SERVFAIL, no resolver, budget spent)."""


class Lookups:
    """DNS questions for one verification, bounded in time and cached."""

    def __init__(
        self,
        servers: Sequence[tuple[str, int]] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        lifetime: float = DEFAULT_LIFETIME,
        shared: AnswerCache | None = None,
    ) -> None:
        self.timeout = timeout
        self.shared = shared
        self._servers = tuple(servers or ())
        self.deadline = time.monotonic() + lifetime
        self.asked = 0
        self._cache: dict[tuple[str, str], list[object] | DnsTempError] = {}
        self._resolver: dns.resolver.Resolver | None = None
        self._setup_error: str | None = None
        self._answered = False
        self._unreachable: str | None = None
        try:
            if servers:
                resolver = dns.resolver.Resolver(configure=False)
                resolver.nameservers = [
                    dns.nameserver.Do53Nameserver(host, port) for host, port in servers
                ]
            else:
                resolver = dns.resolver.Resolver(configure=True)
            resolver.timeout = timeout
            resolver.cache = None
            self._resolver = resolver
        except (dns.exception.DNSException, OSError, ValueError) as exc:
            self._setup_error = f"no resolver: {type(exc).__name__}"

    @property
    def remaining(self) -> float:
        """Seconds left of the budget (may be negative)."""
        return self.deadline - time.monotonic()

    def query(self, name: str, qtype: str) -> list[object]:
        """The rdata of ``name``/``qtype``: [] when there are none; DnsTempError otherwise."""
        key = (name.lower().rstrip("."), qtype.upper())
        cached = self._cache.get(key)
        if cached is None and self.shared is not None:
            cached = self.shared.get((self._servers, *key))
        if cached is None:
            cached = self._ask(*key)
            self._cache[key] = cached
        if isinstance(cached, DnsTempError):
            raise cached
        return cached

    def txt(self, name: str) -> list[str]:
        """Each TXT record at ``name`` as one string (its character-strings joined)."""
        texts = []
        for rdata in self.query(name, "TXT"):
            data = b"".join(getattr(rdata, "strings", ()))[:MAX_TXT_CHARS]
            texts.append(data.decode("utf-8", "replace"))
        return texts

    def _ask(self, name: str, qtype: str) -> list[object] | DnsTempError:
        if self._resolver is None:
            return DnsTempError(self._setup_error or "no resolver")
        if self._unreachable:
            return DnsTempError(self._unreachable)
        remaining = self.remaining
        if remaining <= 0:
            return DnsTempError(f"DNS budget spent before {qtype} {name}")
        self.asked += 1
        try:
            answer = self._resolver.resolve(
                dns.name.from_text(name),
                qtype,
                lifetime=min(self.timeout, remaining),
                search=False,
                raise_on_no_answer=False,
            )
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.YXDOMAIN):
            self._answered = True
            self._keep(name, qtype, [], NEGATIVE_CACHE_SECONDS)
            return []
        except (dns.name.LabelTooLong, dns.name.NameTooLong, dns.name.EmptyLabel):
            return []  # not a name that can exist
        except dns.exception.Timeout:
            if not self._answered:  # the first question went unanswered: no resolver is there
                self._unreachable = f"DNS resolvers do not answer (timeout for {qtype} {name})"
            return DnsTempError(f"DNS timeout for {qtype} {name}")
        except dns.resolver.NoNameservers:
            return DnsTempError(f"DNS server failure for {qtype} {name}")
        except (dns.exception.DNSException, OSError, ValueError) as exc:
            return DnsTempError(f"DNS error for {qtype} {name}: {type(exc).__name__}")
        self._answered = True
        if answer.rrset is None:
            self._keep(name, qtype, [], NEGATIVE_CACHE_SECONDS)
            return []
        records = list(answer.rrset)
        self._keep(name, qtype, records, float(answer.rrset.ttl))
        return records

    def _keep(self, name: str, qtype: str, answer: list[object], ttl: float) -> None:
        if self.shared is not None:
            self.shared.put((self._servers, name, qtype), answer, ttl)
