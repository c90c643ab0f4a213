"""Did the ``From:`` domain send this mail? One verdict: pass, fail or none (CONTRACTS.md).

:func:`verify` has three modes (``CPD_MAIL_AUTH``):

- ``verify``: the product checks SPF on the client address and envelope sender (skipped when
  ``client_ip`` is None, as for mail fetched by IMAP), every DKIM signature, and DMARC
  alignment of the ``From:`` domain with its published policy. ``Authentication-Results``
  headers in the mail are never read.
- ``header``: only the topmost ``Authentication-Results`` header counts, and only when its
  authserv-id is the trusted one (``CPD_MAIL_AUTHSERV_ID``). A receiving server prepends its
  header above everything the sender wrote, so any lower header, with whatever id, may be the
  sender's own; and when the topmost header is another server's, the trusted server did not
  stamp this mail and nothing is believed.
- ``off``: pass, with the reason "verification off".

Verdicts: **pass** when DMARC passes, i.e. SPF or DKIM passes for a domain aligned with the
``From:`` domain; **fail** when the domain publishes ``p=quarantine`` or ``p=reject`` and
nothing aligned passed, or SPF fails (``-all``) with no aligned DKIM pass; **none** when
nothing could be verified: no records, ``p=none``, or lookups that failed or timed out. A
DNS failure that could have hidden an aligned pass gives none, never fail.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from typing import Literal

import authres

from cpd.mail_ingest.sender_checks import (
    DkimResult,
    DmarcPolicy,
    DmarcTempError,
    SpfResult,
    aligned,
    check_dkim,
    check_spf,
    dkim_signatures,
    dmarc_policy,
)
from cpd.mail_ingest.sender_dns import DEFAULT_LIFETIME, DEFAULT_TIMEOUT, AnswerCache, Lookups
from cpd.mail_ingest.sender_identity import (
    Refusal,
    author_of,
    header_section,
    normalise_domain,
)

Verdict = Literal["pass", "fail", "none"]
Mode = Literal["verify", "header", "off"]
MODES: tuple[Mode, ...] = ("verify", "header", "off")


@dataclass(frozen=True, slots=True)
class Verification:
    """The verdict on who sent a mail, the ``From:`` domain it is about, and why."""

    verdict: Verdict
    domain: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MailAuthConfig:
    """How mail senders are verified (built by the app from the ``CPD_MAIL_AUTH*`` settings)."""

    mode: Mode = "verify"
    authserv_id: str | None = None
    dns_servers: tuple[tuple[str, int], ...] | None = None
    timeout: float = DEFAULT_TIMEOUT
    lifetime: float = DEFAULT_LIFETIME
    cache: AnswerCache | None = field(default_factory=AnswerCache, compare=False, repr=False)
    """DNS answers kept across this configuration's verifications (None: none kept)."""

    def verify(
        self,
        raw: bytes,
        *,
        client_ip: str | None,
        helo: str | None,
        mail_from: str | None,
        mode: Mode | None = None,
    ) -> Verification:
        """:func:`verify` with this configuration (``mode`` overrides, e.g. for IMAP)."""
        return verify(
            raw,
            client_ip=client_ip,
            helo=helo,
            mail_from=mail_from,
            mode=mode or self.mode,
            authserv_id=self.authserv_id,
            dns_servers=list(self.dns_servers) if self.dns_servers else None,
            timeout=self.timeout,
            lifetime=self.lifetime,
            cache=self.cache,
        )


def verify(
    raw: bytes,
    *,
    client_ip: str | None,
    helo: str | None,
    mail_from: str | None,
    mode: Mode,
    authserv_id: str | None,
    dns_servers: Sequence[tuple[str, int]] | None,
    timeout: float = DEFAULT_TIMEOUT,
    lifetime: float = DEFAULT_LIFETIME,
    cache: AnswerCache | None = None,
) -> Verification:
    """The verdict for one raw mail (blocking: at most about ``lifetime`` s of DNS; answers
    in ``cache`` are not asked again)."""
    author = author_of(raw)
    if mode == "off":
        domain = "" if isinstance(author, Refusal) else author.domain
        return Verification("pass", domain, ("verification off",))
    if isinstance(author, Refusal):
        return Verification("fail", "", (f"from=refused ({author.reason})",))
    if mode == "header":
        return _from_header(raw, author.domain, authserv_id)
    if mode != "verify":
        raise ValueError(f"unknown verification mode {mode!r}")
    lookups = Lookups(dns_servers, timeout=timeout, lifetime=lifetime, shared=cache)
    # The From domain's own records first, then what can align with it, then the rest: a
    # slow name a sender controls (an envelope or d= domain) cannot spend the budget first.
    try:
        record: DmarcPolicy | None | Literal["temperror"] = dmarc_policy(lookups, author.domain)
    except DmarcTempError:
        record = "temperror"
    adkim = record.adkim if isinstance(record, DmarcPolicy) else "r"
    signatures = dkim_signatures(raw)
    near = [i for i, d in signatures if d and aligned(d, author.domain, adkim)]
    results = dict(zip(near, check_dkim(lookups, raw, near), strict=True))
    spf_result = None
    if client_ip is not None:
        spf_result = check_spf(lookups, client_ip, helo, mail_from or "")
    far = [i for i, _ in signatures if i not in results]
    results.update(zip(far, check_dkim(lookups, raw, far), strict=True))
    dkim_results = [results[i] for i, _ in signatures]
    return decide(
        author.domain, spf_result, dkim_results, record, spf_checked=client_ip is not None
    )


def decide(
    from_domain: str,
    spf_result: SpfResult | None,
    dkim_results: Sequence[DkimResult],
    record: DmarcPolicy | None | Literal["temperror"],
    *,
    spf_checked: bool = True,
) -> Verification:
    """The verdict from the checks' results (see the module docstring)."""
    reasons: list[str] = []
    adkim = aspf = "r"
    if isinstance(record, DmarcPolicy):
        adkim, aspf = record.adkim, record.aspf
    if spf_result is not None:
        reasons.append(f"spf={spf_result.result} smtp.{spf_result.identity}={spf_result.domain}")
    elif not spf_checked:
        reasons.append("spf=none (not checked: no client address)")
    reasons += [f"dkim={d.result} header.d={d.domain or '?'}" for d in dkim_results]
    if not dkim_results:
        reasons.append("dkim=none")
    spf_aligned = spf_result is not None and aligned(spf_result.domain, from_domain, aspf)
    dkim_aligned = [d for d in dkim_results if d.domain and aligned(d.domain, from_domain, adkim)]
    passed = (spf_aligned and spf_result is not None and spf_result.result == "pass") or any(
        d.result == "pass" for d in dkim_aligned
    )
    dkim_unknown = any(d.result == "temperror" for d in dkim_aligned)
    spf_unknown = spf_aligned and spf_result is not None and spf_result.result == "temperror"
    spf_failed = spf_result is not None and spf_result.result == "fail"

    def verdict(value: Verdict, *more: str) -> Verification:
        return Verification(value, from_domain, tuple(reasons + list(more)))

    if record == "temperror":
        dmarc = "dmarc=temperror"
    elif record is None:
        dmarc = "dmarc=none"
    else:
        dmarc_result = "pass" if passed else "fail"
        dmarc = f"dmarc={dmarc_result} p={record.policy} header.from={from_domain}"
    if passed:
        return verdict("pass", dmarc)
    if isinstance(record, DmarcPolicy) and record.policy in {"quarantine", "reject"}:
        if dkim_unknown or spf_unknown:
            return verdict("none", f"dmarc=temperror p={record.policy} header.from={from_domain}")
        return verdict("fail", dmarc)
    if spf_failed and not dkim_unknown:
        return verdict("fail", dmarc)
    return verdict("none", dmarc)


# -- header mode ---------------------------------------------------------------------------

_AUTHSERV_ID = re.compile(r"^\s*(?:\([^()]*\)\s*)*([^\s;()]+)")


def _from_header(raw: bytes, from_domain: str, authserv_id: str | None) -> Verification:
    if not authserv_id:
        return Verification("none", from_domain, ("header: no trusted authserv-id configured",))
    message = BytesHeaderParser(policy=policy.compat32).parsebytes(header_section(raw))
    values = _header_values(message, "Authentication-Results")
    if not values:
        return Verification("none", from_domain, ("header: no Authentication-Results",))
    top = values[0]
    found = _AUTHSERV_ID.match(top)
    top_id = found.group(1) if found else ""
    if top_id.lower() != authserv_id.lower():
        return Verification(
            "none",
            from_domain,
            (f"header: topmost Authentication-Results is from {top_id or '?'}, not {authserv_id}",),
        )
    try:
        parsed = authres.AuthenticationResultsHeader.parse_value(top)
    except Exception as exc:  # authres raises its own SyntaxError and others on junk
        return Verification(
            "none", from_domain, (f"header: unreadable Authentication-Results: {exc}",)
        )
    return _decide_from_results(from_domain, authserv_id, list(parsed.results), top)


def _header_values(message: Message, name: str) -> list[str]:
    values = []
    for key, value in message.raw_items():
        if key.strip().lower() == name.lower():
            text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            values.append(" ".join(text.split()))
    return values


def _property(result: object, ptype: str, name: str) -> str | None:
    for prop in getattr(result, "properties", ()):
        if prop.type.lower() == ptype and prop.name.lower() == name and prop.value:
            return str(prop.value)
    return None


def _domain_of(value: str | None) -> str:
    if not value:
        return ""
    return normalise_domain(value.rpartition("@")[2]) or ""


def _decide_from_results(
    from_domain: str, authserv_id: str, results: list[object], text: str
) -> Verification:
    by_method: dict[str, list[object]] = {}
    for result in results:
        by_method.setdefault(str(getattr(result, "method", "")).lower(), []).append(result)
    prefix = f"header: {authserv_id}"
    for result in by_method.get("dmarc", [])[:1]:
        value = str(getattr(result, "result", "")).lower()
        header_from = _domain_of(_property(result, "header", "from"))
        if header_from and header_from != from_domain:
            continue  # about another From domain: not this mail's
        published = _property(result, "policy", "published-domain-policy") or ""
        # authres drops comments; Gmail writes the policy in one: "dmarc=fail (p=NONE ...)"
        commented = re.search(r"\bdmarc\s*=\s*fail\s*\([^()]*\bp=none\b", text, re.I)
        policy_none = published.lower() == "none" or commented is not None
        reason = f"{prefix} dmarc={value} header.from={from_domain}"
        if value == "pass":
            return Verification("pass", from_domain, (reason,))
        if value == "fail" and not policy_none:
            return Verification("fail", from_domain, (reason,))
    spf_result = None
    for result in by_method.get("spf", [])[:1]:
        mailfrom = _property(result, "smtp", "mailfrom")
        helo = _property(result, "smtp", "helo")
        domain = _domain_of(mailfrom) or _domain_of(helo)
        identity = "mailfrom" if _domain_of(mailfrom) else "helo"
        spf_result = SpfResult(str(getattr(result, "result", "none")).lower(), domain, identity)
    dkim_results = []
    for result in by_method.get("dkim", []):
        domain = _domain_of(_property(result, "header", "d") or _property(result, "header", "i"))
        dkim_results.append(DkimResult(str(getattr(result, "result", "none")).lower(), domain, ""))
    decided = decide(from_domain, spf_result, dkim_results, None, spf_checked=True)
    return Verification(
        decided.verdict, from_domain, tuple(f"{prefix} {r}" for r in decided.reasons)
    )
