"""The three checks behind a verdict: SPF (pyspf), DKIM (dkimpy) and the DMARC record.

Each check asks DNS only through the :class:`~cpd.mail_ingest.sender_dns.Lookups` of the
verification, so lookups are bounded, cached and go to ``CPD_DNS_SERVERS``. pyspf has no
resolver parameter: it calls its module-level ``DNSLookup``. :func:`check_spf` therefore
installs, once, a dispatcher there that answers from the ``Lookups`` set for the current
thread/context and falls back to pyspf's own lookup otherwise (other users of pyspf in the
process are unaffected).
"""

from __future__ import annotations

import contextvars
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import dkim
import spf
from publicsuffixlist import PublicSuffixList

from cpd.mail_ingest import dkim_canonical
from cpd.mail_ingest.sender_dns import DnsTempError, Lookups
from cpd.mail_ingest.sender_identity import header_section

MAX_SIGNATURES = 5
"""DKIM signatures beyond the topmost five are not checked (each costs a lookup)."""
DKIM_MIN_KEY_BITS = 1024

_psl = PublicSuffixList()  # the list bundled with the package: nothing is fetched


def organisational_domain(domain: str) -> str:
    """The registrable domain (``mail.example.co.uk`` -> ``example.co.uk``), by the PSL."""
    return _psl.privatesuffix(domain.lower()) or domain.lower()


def aligned(identifier: str, from_domain: str, mode: str) -> bool:
    """DMARC alignment: strict (``s``) needs the same domain, relaxed the same org domain."""
    identifier, from_domain = identifier.lower().rstrip("."), from_domain.lower()
    if mode == "s":
        return identifier == from_domain
    return organisational_domain(identifier) == organisational_domain(from_domain)


# -- SPF -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpfResult:
    """``result`` is pyspf's: pass, fail, softfail, neutral, none, temperror, permerror."""

    result: str
    domain: str
    identity: str  # "mailfrom" or "helo"


_spf_lookups: contextvars.ContextVar[Lookups | None] = contextvars.ContextVar(
    "cpd_spf_lookups", default=None
)
_pyspf_lookup: Callable[..., Any] | None = None
_install_lock = threading.Lock()


def _spf_dns(name: str, qtype: str, strict: Any = True, timeout: Any = 20) -> list[Any]:
    lookups = _spf_lookups.get()
    if lookups is None:
        assert _pyspf_lookup is not None
        return list(_pyspf_lookup(name, qtype, strict, timeout))
    try:
        records = lookups.query(name, qtype) if qtype != "SPF" else []
    except DnsTempError as exc:
        raise spf.TempError(f"DNS {exc}") from None
    answers: list[Any] = []
    rdata: Any  # dnspython's rdata classes by type (A, MX, PTR, TXT): read by attribute
    for rdata in records:
        if qtype in {"A", "AAAA"}:
            answers.append(((name, qtype), rdata.address))
        elif qtype == "MX":
            exchange = rdata.exchange.to_text(omit_final_dot=True)
            answers.append(((name, qtype), (rdata.preference, exchange)))
        elif qtype == "PTR":
            target = rdata.target.to_text(omit_final_dot=True)
            answers.append(((name, qtype), target))
        elif qtype == "TXT":
            answers.append(((name, qtype), list(rdata.strings)))
    return answers


def _install_spf_dispatch() -> None:
    global _pyspf_lookup
    with _install_lock:
        if _pyspf_lookup is None and spf.DNSLookup is not _spf_dns:
            _pyspf_lookup = spf.DNSLookup
            spf.DNSLookup = _spf_dns


def check_spf(lookups: Lookups, client_ip: str, helo: str | None, mail_from: str) -> SpfResult:
    """SPF for the client address and the envelope sender (HELO when the sender is null)."""
    _install_spf_dispatch()
    sender = mail_from.strip().strip("<>")
    helo_name = (helo or "").strip()
    if sender:
        domain, identity = sender.rpartition("@")[2].lower(), "mailfrom"
    else:
        domain, identity = helo_name.lower(), "helo"
    if not domain:
        return SpfResult("none", "", identity)
    token = _spf_lookups.set(lookups)
    try:
        query = spf.query(
            i=client_ip, s=sender, h=helo_name or domain, timeout=lookups.timeout, querytime=0
        )
        result, _code, _explanation = query.check()
    except (ValueError, spf.TempError):
        result = "temperror"
    finally:
        _spf_lookups.reset(token)
    return SpfResult(str(result).lower(), domain, identity)


# -- DKIM ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DkimResult:
    """One signature: ``result`` is pass, fail, permerror, temperror or neutral (``l=``)."""

    result: str
    domain: str
    selector: str


def dkim_signatures(raw: bytes) -> list[tuple[int, str]]:
    """``(index, d= domain)`` of each DKIM-Signature (the topmost ``MAX_SIGNATURES``).

    A signature whose tags cannot be read has the domain "". Only the header section is
    read (dkimpy would split the whole body into lines just to list the signatures).
    """
    try:
        signer = dkim.DKIM(header_section(raw), minkey=DKIM_MIN_KEY_BITS)
    except dkim.DKIMException:
        return []
    count = sum(1 for name, _ in signer.headers if name.lower() == b"dkim-signature")
    found = []
    for index in range(min(count, MAX_SIGNATURES)):
        try:
            prepared = signer.verify_headerprep(index)
            domain = prepared[0][b"d"].decode("ascii", "replace").lower() if prepared else ""
        except (dkim.DKIMException, KeyError, ValueError, IndexError, TypeError):
            domain = ""
        found.append((index, domain))
    return found


def check_dkim(lookups: Lookups, raw: bytes, indexes: Iterable[int]) -> list[DkimResult]:
    """The signatures at ``indexes`` (from :func:`dkim_signatures`), each verified on its own."""
    return [_one_signature(lookups, raw, index) for index in indexes]


def _one_signature(lookups: Lookups, raw: bytes, index: int) -> DkimResult:
    signer = dkim_canonical.verifier(
        raw, minkey=DKIM_MIN_KEY_BITS, timeout=int(lookups.timeout) or 1
    )
    failures: list[str] = []

    def txt(name: bytes, timeout: int = 5) -> bytes | None:
        try:
            texts = lookups.txt(name.decode("ascii", "replace"))
        except DnsTempError as exc:
            failures.append(str(exc))
            raise
        keys = [t for t in texts if t.replace(" ", "").startswith("v=DKIM1")] or texts
        return keys[0].encode("utf-8") if len(keys) == 1 else None

    domain = selector = ""
    try:
        prepared = signer.verify_headerprep(index)
        if prepared:
            fields = prepared[0]
            domain = fields[b"d"].decode("ascii", "replace").lower()
            selector = fields[b"s"].decode("ascii", "replace")
            if b"l" in fields:
                return DkimResult("neutral", domain, selector)
        ok = signer.verify(idx=index, dnsfunc=txt)
    except DnsTempError:
        return DkimResult("temperror", domain, selector)
    except dkim.ValidationError:
        return DkimResult("fail", domain, selector)  # e.g. the body hash does not match
    except (dkim.DKIMException, KeyError, ValueError, IndexError, TypeError):
        return DkimResult("permerror", domain, selector)
    if failures:
        return DkimResult("temperror", domain, selector)
    return DkimResult("pass" if ok else "fail", domain, selector)


# -- DMARC ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DmarcPolicy:
    """The DMARC record that applies to the From domain (``at`` is where it was found)."""

    policy: str  # none | quarantine | reject (sp already applied for a subdomain)
    adkim: str
    aspf: str
    at: str


class DmarcTempError(Exception):
    """The DMARC record could not be fetched."""


_TAG = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def _tags(text: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in text.split(";"):
        match = _TAG.match(part)
        if match:
            tags.setdefault(match.group(1).lower(), match.group(2))
    return tags


def _record_at(lookups: Lookups, domain: str) -> dict[str, str] | None:
    try:
        texts = lookups.txt(f"_dmarc.{domain}")
    except DnsTempError as exc:
        raise DmarcTempError(str(exc)) from None
    records = [t for t in texts if re.match(r"^v\s*=\s*DMARC1\s*(;|$)", t)]
    return _tags(records[0]) if len(records) == 1 else None  # several records: none applies


def dmarc_policy(lookups: Lookups, from_domain: str) -> DmarcPolicy | None:
    """The policy for ``from_domain`` (falling back to its org domain), None when there is none.

    Raises :class:`DmarcTempError` when a lookup failed, so no record is never assumed from a
    timeout.
    """
    tags = _record_at(lookups, from_domain)
    at = from_domain
    organisational = organisational_domain(from_domain)
    if tags is None and organisational != from_domain:
        tags, at = _record_at(lookups, organisational), organisational
    if tags is None:
        return None
    policy = tags.get("p", "").lower()
    if policy not in {"none", "quarantine", "reject"}:
        if "rua" not in tags:
            return None
        policy = "none"  # RFC 7489 6.6.3: an invalid p= with a report address is p=none
    if at != from_domain and tags.get("sp", "").lower() in {"none", "quarantine", "reject"}:
        policy = tags["sp"].lower()
    adkim = "s" if tags.get("adkim", "r").lower() == "s" else "r"
    aspf = "s" if tags.get("aspf", "r").lower() == "s" else "r"
    return DmarcPolicy(policy, adkim, aspf, at)
