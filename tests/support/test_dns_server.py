"""The local DNS server fixture answers as a real server would, over UDP and TCP."""

from __future__ import annotations

import time

import dkim
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import pytest

from tests.support.dns_server import DkimKey, LocalDNS, publish_example_com

MAIL = (
    b"From: Jane <jane@example.com>\r\nTo: cpd@localhost\r\nSubject: CPD\r\n"
    b"Message-ID: <1@example.com>\r\n\r\n3 hours of CPD on 2 May.\r\n"
)


def _ask(server: LocalDNS, name: str, qtype: str, tcp: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, qtype)
    host, port = server.address
    if tcp:
        return dns.query.tcp(query, host, port=port, timeout=2)
    return dns.query.udp(query, host, port=port, timeout=2)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_txt_records_answer_over_udp_and_tcp(local_dns: LocalDNS, tcp: bool) -> None:
    local_dns.zone.txt("example.com", "v=spf1 ip4:127.0.0.1 -all")
    reply = _ask(local_dns, "EXAMPLE.com", "TXT", tcp=tcp)
    assert reply.rcode() == dns.rcode.NOERROR
    assert [b"".join(r.strings) for r in reply.answer[0]] == [b"v=spf1 ip4:127.0.0.1 -all"]
    assert local_dns.questions[-1] == ("example.com.", "TXT", "tcp" if tcp else "udp")


def test_long_texts_are_split_into_255_byte_strings(local_dns: LocalDNS, dkim_key: DkimKey) -> None:
    dkim_key.publish(local_dns.zone, "example.com")
    reply = _ask(local_dns, "sel._domainkey.example.com", "TXT")
    strings = reply.answer[0][0].strings
    assert len(strings) > 1 and all(len(s) <= 255 for s in strings)
    assert b"".join(strings).decode() == dkim_key.txt_record


def test_nxdomain_nodata_and_changes_while_running(local_dns: LocalDNS) -> None:
    assert _ask(local_dns, "example.com", "TXT").rcode() == dns.rcode.NXDOMAIN
    local_dns.zone.set("example.com", "A", "127.0.0.1")
    reply = _ask(local_dns, "example.com", "TXT")
    assert reply.rcode() == dns.rcode.NOERROR and not reply.answer
    assert reply.flags & dns.flags.AA
    local_dns.zone.set("example.com", "MX", (5, "mx.example.com"))
    mx = _ask(local_dns, "example.com", "MX").answer[0][0]
    assert (mx.preference, mx.exchange.to_text()) == (5, "mx.example.com.")
    local_dns.zone.remove("example.com")
    assert _ask(local_dns, "example.com", "A").rcode() == dns.rcode.NXDOMAIN


def test_dropped_names_time_out_and_servfail_is_answered(local_dns: LocalDNS) -> None:
    local_dns.zone.txt("slow.example", "x")
    local_dns.zone.drop("slow.example")
    started = time.monotonic()
    with pytest.raises(dns.exception.Timeout):
        dns.query.udp(
            dns.message.make_query("slow.example", "TXT"),
            "127.0.0.1",
            port=local_dns.port,
            timeout=0.5,
        )
    assert time.monotonic() - started < 2
    local_dns.zone.servfail("broken.example")
    assert _ask(local_dns, "broken.example", "TXT").rcode() == dns.rcode.SERVFAIL


def test_a_dnspython_resolver_pointed_at_it_resolves(local_dns: LocalDNS) -> None:
    local_dns.zone.set("mx.example.com", "A", "127.0.0.1")
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = local_dns.port
    answer = resolver.resolve("mx.example.com", "A", lifetime=2)
    assert [r.address for r in answer] == ["127.0.0.1"]


def test_the_dkim_key_signs_mail_that_verifies_against_the_published_key(
    mail_zone: LocalDNS, dkim_key: DkimKey, other_dkim_key: DkimKey
) -> None:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = mail_zone.port

    def txt(name: bytes, timeout: int = 5) -> bytes | None:
        answer = resolver.resolve(name.decode(), "TXT", lifetime=2)
        return b"".join(answer[0].strings)

    signed = dkim_key.sign(MAIL, "example.com")
    assert signed.startswith(b"DKIM-Signature:")
    assert dkim.verify(signed, dnsfunc=txt)
    assert not dkim.verify(signed.replace(b"3 hours", b"30 hours"), dnsfunc=txt)
    assert not dkim.verify(other_dkim_key.sign(MAIL, "example.com"), dnsfunc=txt)


def test_publish_example_com_has_spf_dkim_and_dmarc(local_dns: LocalDNS, dkim_key: DkimKey) -> None:
    publish_example_com(local_dns.zone, dkim_key)
    dmarc = _ask(local_dns, "_dmarc.example.com", "TXT", tcp=True).answer[0][0]
    assert b"".join(dmarc.strings) == b"v=DMARC1; p=reject"
    assert _ask(local_dns, "mx.example.com", "A").answer[0][0].address == "127.0.0.1"
