"""Sender verification against a real local DNS server (dnslib) and the tests' own DKIM key."""

from __future__ import annotations

import time
from collections import Counter

import dkim
import pytest

from cpd.mail_ingest.sender_auth import MailAuthConfig, Mode, Verification, verify
from tests.support.dns_server import DkimKey, LocalDNS, closed_port, silent_udp_port

MAIL = (
    b"From: Jane Surveyor <jane@example.com>\r\nTo: cpd@localhost\r\nSubject: CPD\r\n"
    b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n\r\n"
    b"3 hours of CPD on 2 May: a site visit.\r\n"
)
TRUSTED = "mx.trusted.example"


def _from(address: str, raw: bytes = MAIL) -> bytes:
    return raw.replace(b"Jane Surveyor <jane@example.com>", address.encode())


def _check(
    server: LocalDNS | tuple[str, int],
    raw: bytes,
    *,
    client_ip: str | None = None,
    mail_from: str | None = None,
    helo: str | None = "mx.example.com",
    mode: Mode = "verify",
    authserv_id: str | None = None,
) -> Verification:
    address = server.address if isinstance(server, LocalDNS) else server
    return verify(
        raw,
        client_ip=client_ip,
        helo=helo,
        mail_from=mail_from,
        mode=mode,
        authserv_id=authserv_id,
        dns_servers=[address],
    )


# -- DKIM and DMARC ------------------------------------------------------------------------


def test_an_aligned_dkim_signature_passes(mail_zone: LocalDNS, dkim_key: DkimKey) -> None:
    result = _check(mail_zone, dkim_key.sign(MAIL, "example.com"))
    assert result.verdict == "pass" and result.domain == "example.com"
    assert "dkim=pass header.d=example.com" in result.reasons
    assert "dmarc=pass p=reject header.from=example.com" in result.reasons
    assert "spf=none (not checked: no client address)" in result.reasons


def test_a_subdomain_signature_aligns_relaxed_but_not_strict(
    mail_zone: LocalDNS, dkim_key: DkimKey
) -> None:
    dkim_key.publish(mail_zone.zone, "mail.example.com")
    signed = dkim_key.sign(MAIL, "mail.example.com")
    assert _check(mail_zone, signed).verdict == "pass"
    mail_zone.zone.txt("_dmarc.example.com", "v=DMARC1; p=reject; adkim=s")
    result = _check(mail_zone, signed)
    assert result.verdict == "fail"
    assert "dkim=pass header.d=mail.example.com" in result.reasons


def test_a_broken_signature_fails(mail_zone: LocalDNS, dkim_key: DkimKey) -> None:
    signed = dkim_key.sign(MAIL, "example.com").replace(b"3 hours", b"30 hours")
    result = _check(mail_zone, signed)
    assert result.verdict == "fail"
    assert "dkim=fail header.d=example.com" in result.reasons
    assert "dmarc=fail p=reject header.from=example.com" in result.reasons


def test_a_signature_by_another_key_fails(mail_zone: LocalDNS, other_dkim_key: DkimKey) -> None:
    result = _check(mail_zone, other_dkim_key.sign(MAIL, "example.com"))
    assert result.verdict == "fail" and "dkim=fail header.d=example.com" in result.reasons


def test_an_unaligned_signature_fails(mail_zone: LocalDNS, other_dkim_key: DkimKey) -> None:
    other_dkim_key.publish(mail_zone.zone, "other.org")
    result = _check(mail_zone, other_dkim_key.sign(MAIL, "other.org"))
    assert result.verdict == "fail"
    assert "dkim=pass header.d=other.org" in result.reasons  # valid, but not Jane's domain
    assert "dmarc=fail p=reject header.from=example.com" in result.reasons


def test_a_missing_signature_against_p_reject_fails(mail_zone: LocalDNS) -> None:
    result = _check(mail_zone, MAIL)
    assert result.verdict == "fail"
    assert result.reasons[-2:] == ("dkim=none", "dmarc=fail p=reject header.from=example.com")


def test_one_good_aligned_signature_among_bad_ones_passes(
    mail_zone: LocalDNS, dkim_key: DkimKey, other_dkim_key: DkimKey
) -> None:
    signed = other_dkim_key.sign(dkim_key.sign(MAIL, "example.com"), "example.com")
    result = _check(mail_zone, signed)
    assert result.verdict == "pass"
    assert [r for r in result.reasons if r.startswith("dkim=")] == [
        "dkim=fail header.d=example.com",
        "dkim=pass header.d=example.com",
    ]


def test_a_body_length_limited_signature_does_not_count(
    mail_zone: LocalDNS, dkim_key: DkimKey
) -> None:
    signature = dkim.sign(MAIL, b"sel", b"example.com", dkim_key.private_pem, length=True)
    result = _check(mail_zone, signature + MAIL + b"Appended by anyone: 40 hours.\r\n")
    assert result.verdict == "fail" and "dkim=neutral header.d=example.com" in result.reasons


def test_a_subdomain_from_uses_the_org_record_and_its_sp(mail_zone: LocalDNS) -> None:
    mail_zone.zone.txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=none")
    result = _check(mail_zone, _from("jane@lab.example.com"))
    assert result.verdict == "none" and result.domain == "lab.example.com"
    assert "dmarc=fail p=none header.from=lab.example.com" in result.reasons
    mail_zone.zone.txt("_dmarc.example.com", "v=DMARC1; p=none; sp=quarantine")
    assert _check(mail_zone, _from("jane@lab.example.com")).verdict == "fail"
    assert _check(mail_zone, MAIL).verdict == "none"  # p=none for example.com itself


# -- SPF -----------------------------------------------------------------------------------


def test_spf_pass_from_a_listed_address_passes(mail_zone: LocalDNS) -> None:
    result = _check(mail_zone, MAIL, client_ip="127.0.0.1", mail_from="jane@example.com")
    assert result.verdict == "pass"
    assert "spf=pass smtp.mailfrom=example.com" in result.reasons


def test_spf_fail_from_an_unlisted_address_without_dkim_fails(mail_zone: LocalDNS) -> None:
    result = _check(mail_zone, MAIL, client_ip="127.0.0.2", mail_from="jane@example.com")
    assert result.verdict == "fail" and "spf=fail smtp.mailfrom=example.com" in result.reasons
    mail_zone.zone.remove("_dmarc.example.com")  # no DMARC at all: SPF -all alone decides
    result = _check(mail_zone, MAIL, client_ip="127.0.0.2", mail_from="jane@example.com")
    assert result.verdict == "fail" and "dmarc=none" in result.reasons


def test_spf_fail_with_an_aligned_dkim_pass_passes(mail_zone: LocalDNS, dkim_key: DkimKey) -> None:
    signed = dkim_key.sign(MAIL, "example.com")  # e.g. forwarded by a list or alias
    result = _check(mail_zone, signed, client_ip="127.0.0.2", mail_from="jane@example.com")
    assert result.verdict == "pass" and "spf=fail smtp.mailfrom=example.com" in result.reasons


def test_an_attackers_own_spf_pass_does_not_align(mail_zone: LocalDNS) -> None:
    mail_zone.zone.txt("attacker.net", "v=spf1 ip4:127.0.0.2 -all")
    result = _check(
        mail_zone, MAIL, client_ip="127.0.0.2", mail_from="evil@attacker.net", helo="attacker.net"
    )
    assert result.verdict == "fail"
    assert "spf=pass smtp.mailfrom=attacker.net" in result.reasons


def test_a_null_envelope_sender_is_checked_on_the_helo_name(mail_zone: LocalDNS) -> None:
    mail_zone.zone.txt("attacker.net", "v=spf1 ip4:127.0.0.2 -all")
    result = _check(mail_zone, MAIL, client_ip="127.0.0.2", mail_from="", helo="attacker.net")
    assert result.verdict == "fail" and "spf=pass smtp.helo=attacker.net" in result.reasons
    mail_zone.zone.remove("_dmarc.example.com")
    result = _check(mail_zone, MAIL, client_ip="127.0.0.3", mail_from="<>", helo="attacker.net")
    assert result.verdict == "fail" and "spf=fail smtp.helo=attacker.net" in result.reasons


def test_spf_softfail_and_mx_mechanisms(mail_zone: LocalDNS) -> None:
    mail_zone.zone.remove("_dmarc.example.com")
    mail_zone.zone.txt("example.com", "v=spf1 mx ~all")
    assert _check(mail_zone, MAIL, client_ip="127.0.0.1", mail_from="j@example.com").verdict == (
        "pass"
    )
    result = _check(mail_zone, MAIL, client_ip="127.0.0.9", mail_from="j@example.com")
    assert result.verdict == "none" and "spf=softfail smtp.mailfrom=example.com" in result.reasons


# -- nothing verifiable --------------------------------------------------------------------


def test_a_domain_with_no_records_gives_none(mail_zone: LocalDNS) -> None:
    raw = _from("Sam <sam@norecords.example>")
    result = _check(mail_zone, raw, client_ip="127.0.0.1", mail_from="sam@norecords.example")
    assert result == Verification(
        "none",
        "norecords.example",
        ("spf=none smtp.mailfrom=norecords.example", "dkim=none", "dmarc=none"),
    )


def test_a_dns_server_that_does_not_answer_gives_none_quickly(dkim_key: DkimKey) -> None:
    signed = dkim_key.sign(MAIL, "example.com")
    with silent_udp_port() as silent:
        for address in (closed_port(), silent):
            started = time.monotonic()
            result = _check(address, signed, client_ip="127.0.0.2", mail_from="jane@example.com")
            elapsed = time.monotonic() - started
            assert result.verdict == "none", result
            assert "dmarc=temperror" in result.reasons
            assert "dkim=temperror header.d=example.com" in result.reasons
            assert elapsed < 3, elapsed  # one 2 s timeout, then the rest fail at once


def test_a_key_lookup_that_times_out_is_never_a_fail(
    mail_zone: LocalDNS, dkim_key: DkimKey
) -> None:
    mail_zone.zone.drop("sel._domainkey.example.com")
    signed = dkim_key.sign(MAIL, "example.com")
    started = time.monotonic()
    result = _check(mail_zone, signed, client_ip="127.0.0.2", mail_from="jane@example.com")
    assert result.verdict == "none", result  # SPF fails, but the signature could not be read
    assert "dkim=temperror header.d=example.com" in result.reasons
    assert time.monotonic() - started < 4
    mail_zone.zone.servfail("_dmarc.example.com")
    assert _check(mail_zone, signed).verdict == "none"


def test_each_name_is_asked_once_per_verification(mail_zone: LocalDNS, dkim_key: DkimKey) -> None:
    signed = dkim_key.sign(dkim_key.sign(MAIL, "example.com"), "example.com")
    mail_zone.zone.txt("example.com", "v=spf1 a mx include:example.com -all")
    before = len(mail_zone.questions)
    _check(mail_zone, signed, client_ip="127.0.0.1", mail_from="jane@example.com")
    asked = Counter((name, qtype) for name, qtype, _ in mail_zone.questions[before:])
    assert asked and max(asked.values()) == 1, asked


# -- Authentication-Results ----------------------------------------------------------------


def _with_ar(*values: str, raw: bytes = MAIL) -> bytes:
    return b"".join(f"Authentication-Results: {v}\r\n".encode() for v in values) + raw


FORGED_PASS = f"{TRUSTED}; spf=pass smtp.mailfrom=jane@example.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com"  # noqa: E501


def test_verify_mode_never_believes_authentication_results(mail_zone: LocalDNS) -> None:
    result = _check(mail_zone, _with_ar(FORGED_PASS), authserv_id=TRUSTED)
    assert result.verdict == "fail"
    assert not any(TRUSTED in reason for reason in result.reasons)


@pytest.mark.parametrize(
    ("value", "verdict"),
    [
        (f"{TRUSTED}; dmarc=pass header.from=example.com", "pass"),
        (f"{TRUSTED} 1; dkim=pass header.i=@example.com header.s=sel", "pass"),
        (f"{TRUSTED}; spf=pass smtp.mailfrom=jane@example.com", "pass"),
        (f"{TRUSTED}; dmarc=fail (p=REJECT) header.from=example.com", "fail"),
        (f"{TRUSTED}; dmarc=fail policy.published-domain-policy=reject", "fail"),
        (f"{TRUSTED}; spf=fail smtp.mailfrom=jane@example.com", "fail"),
        (f"{TRUSTED}; dmarc=fail (p=NONE sp=NONE dis=NONE) header.from=example.com", "none"),
        (f"{TRUSTED}; dkim=pass header.d=other.org; dmarc=none", "none"),
        (f"{TRUSTED}; dmarc=pass header.from=attacker.net", "none"),
        (f"{TRUSTED}; none", "none"),
        (f"{TRUSTED}; dkim=temperror header.d=example.com; spf=fail smtp.mailfrom=x@e.org", "none"),
        (f"{TRUSTED}; this is ; not = results", "none"),
        ("(comment) " + f"{TRUSTED.upper()}; dmarc=pass header.from=example.com", "pass"),
    ],
)
def test_header_mode_reads_the_trusted_topmost_header(value: str, verdict: str) -> None:
    result = _check(closed_port(), _with_ar(value), mode="header", authserv_id=TRUSTED)
    assert result.verdict == verdict, result
    assert result.domain == "example.com"


def test_header_mode_ignores_a_forged_header_below_the_real_one() -> None:
    real = f"{TRUSTED}; spf=fail smtp.mailfrom=evil@attacker.net; dkim=none; dmarc=fail header.from=example.com"  # noqa: E501
    result = _check(closed_port(), _with_ar(real, FORGED_PASS), mode="header", authserv_id=TRUSTED)
    assert result.verdict == "fail", result
    result = _check(
        closed_port(),
        _with_ar(f"{TRUSTED}; none", FORGED_PASS),
        mode="header",
        authserv_id=TRUSTED,
    )
    assert result.verdict == "none", result


def test_header_mode_believes_nothing_when_another_server_is_on_top() -> None:
    raw = _with_ar("mx.other.example; spf=none", FORGED_PASS)
    result = _check(closed_port(), raw, mode="header", authserv_id=TRUSTED)
    assert result.verdict == "none"
    assert result.reasons == (
        f"header: topmost Authentication-Results is from mx.other.example, not {TRUSTED}",
    )


def test_header_mode_without_headers_or_id_gives_none() -> None:
    assert _check(closed_port(), MAIL, mode="header", authserv_id=TRUSTED).verdict == "none"
    result = _check(closed_port(), _with_ar(FORGED_PASS), mode="header", authserv_id=None)
    assert result.verdict == "none" and "no trusted authserv-id" in result.reasons[0]


# -- the rest ------------------------------------------------------------------------------


def test_a_mail_with_no_single_author_fails_in_every_checking_mode() -> None:
    raw = b"From: jane@example.com\r\n" + _from("evil@attacker.net")
    for mode in ("verify", "header"):
        result = _check(closed_port(), raw, mode=mode, authserv_id=TRUSTED)  # type: ignore[arg-type]
        assert result == Verification("fail", "", ("from=refused (2 From headers)",))


def test_off_believes_the_from_header() -> None:
    result = _check(closed_port(), MAIL, mode="off")
    assert result == Verification("pass", "example.com", ("verification off",))


def test_the_config_value_verifies_and_lets_imap_skip_spf(
    mail_zone: LocalDNS, dkim_key: DkimKey
) -> None:
    config = MailAuthConfig(mode="header", authserv_id=TRUSTED, dns_servers=(mail_zone.address,))
    signed = dkim_key.sign(MAIL, "example.com")
    kwargs = {"client_ip": None, "helo": None, "mail_from": None}
    assert config.verify(signed, **kwargs).verdict == "none"  # no AR header: nothing believed
    result = config.verify(signed, mode="verify", **kwargs)  # DKIM + DMARC without SPF
    assert result.verdict == "pass" and result.reasons[0].startswith("spf=none (not checked")


def test_verifications_in_parallel_threads_use_their_own_resolvers(
    mail_zone: LocalDNS, dkim_key: DkimKey
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    dead = closed_port()

    def one(number: int) -> str:
        server = mail_zone if number % 2 else dead
        return _check(server, MAIL, client_ip="127.0.0.1", mail_from="jane@example.com").verdict

    with ThreadPoolExecutor(4) as pool:
        verdicts = list(pool.map(one, range(8)))
    assert verdicts == ["none", "pass"] * 4
