"""A local authoritative DNS server for sender-verification tests (dnslib on 127.0.0.1).

:class:`LocalDNS` serves a :class:`Zone` over UDP and TCP on one free port of 127.0.0.1. The
zone is a plain dict of ``(name, type) -> values`` that a test may change while the server
runs (``zone.txt("example.com", "v=spf1 ip4:127.0.0.1 -all")``, ``zone.remove(...)``). A name
with no record of any type answers NXDOMAIN; a name with records of other types answers
NOERROR with no answers. ``zone.drop(name)`` makes the server swallow queries for a name (a
lookup that times out) and ``zone.servfail(name)`` answers SERVFAIL.

:class:`DkimKey` is an RSA 2048 key made with ``cryptography``: ``key.txt_record`` is what to
publish at ``<selector>._domainkey.<domain>`` and ``key.sign(raw)`` signs a mail with
``dkim.sign``.

Fixtures (imported by tests/conftest.py): ``local_dns`` (a started server with an empty zone,
stopped after the test), ``dkim_key`` and ``other_dkim_key`` (made once per session) and
``mail_zone``: ``local_dns`` with example.com published as the verification tests expect.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dnslib import AAAA, MX, QTYPE, RCODE, RR, TXT, A, DNSError, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

TTL = 60
TXT_CHUNK = 255
"""A TXT character-string holds at most 255 bytes; longer texts are split as DNS requires."""


def _name(name: str) -> str:
    return name.lower().rstrip(".") + "."


class Zone:
    """The records the server answers with; thread-safe, changeable while it runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], list[Any]] = {}
        self._dropped: set[str] = set()
        self._servfail: set[str] = set()

    def set(self, name: str, qtype: str, *values: Any) -> None:
        """Replace the records of one type at a name (``set(n, "A", "127.0.0.1")``)."""
        with self._lock:
            self._records[(_name(name), qtype.upper())] = list(values)

    def txt(self, name: str, *texts: str) -> None:
        """Publish TXT records at a name (each text one record)."""
        self.set(name, "TXT", *texts)

    def remove(self, name: str, qtype: str | None = None) -> None:
        """Remove one type (or every type) at a name; dropping/SERVFAIL marks go too."""
        key = _name(name)
        with self._lock:
            for record in [r for r in self._records if r[0] == key]:
                if qtype is None or record[1] == qtype.upper():
                    del self._records[record]
            if qtype is None:
                self._dropped.discard(key)
                self._servfail.discard(key)

    def clear(self) -> None:
        """Remove everything."""
        with self._lock:
            self._records.clear()
            self._dropped.clear()
            self._servfail.clear()

    def drop(self, name: str) -> None:
        """Queries for this name get no answer at all (the client times out)."""
        with self._lock:
            self._dropped.add(_name(name))

    def servfail(self, name: str) -> None:
        """Queries for this name are answered SERVFAIL."""
        with self._lock:
            self._servfail.add(_name(name))

    def lookup(self, name: str, qtype: str) -> tuple[str, list[Any]]:
        """``("drop"|"servfail"|"nxdomain"|"ok", values)`` for one question."""
        key = _name(name)
        with self._lock:
            if key in self._dropped:
                return "drop", []
            if key in self._servfail:
                return "servfail", []
            if not any(record[0] == key for record in self._records):
                return "nxdomain", []
            return "ok", list(self._records.get((key, qtype), []))


def _rdata(qtype: str, value: Any) -> Any:
    if qtype == "TXT":
        data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        chunks = [data[i : i + TXT_CHUNK] for i in range(0, len(data), TXT_CHUNK)] or [b""]
        return TXT(chunks)
    if qtype == "A":
        return A(value)
    if qtype == "AAAA":
        return AAAA(value)
    if qtype == "MX":
        preference, exchange = value if isinstance(value, tuple) else (10, value)
        return MX(exchange, preference)
    raise ValueError(f"the local DNS server does not serve {qtype} records")


class ZoneResolver(BaseResolver):
    """Answers from a :class:`Zone` and records every question asked."""

    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.questions: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        """The reply to one request (raises DNSError to send nothing)."""
        qname = str(request.q.qname)
        qtype = QTYPE[request.q.qtype]
        with self._lock:
            self.questions.append((_name(qname), qtype, handler.protocol))
        outcome, values = self.zone.lookup(qname, qtype)
        if outcome == "drop":
            raise DNSError(f"dropping the query for {qname}")
        reply = request.reply()
        reply.header.aa = 1
        if outcome == "servfail":
            reply.header.rcode = RCODE.SERVFAIL
        elif outcome == "nxdomain":
            reply.header.rcode = RCODE.NXDOMAIN
        for value in values:
            reply.add_answer(
                RR(request.q.qname, getattr(QTYPE, qtype), rdata=_rdata(qtype, value), ttl=TTL)
            )
        return reply


class _QuietLogger(DNSLogger):
    def __init__(self) -> None:
        super().__init__(log="-recv,-send,-request,-reply,-truncated,-error,-data", prefix=False)


class LocalDNS:
    """A DNS server on 127.0.0.1 answering from ``zone`` over UDP and TCP on one port."""

    def __init__(self, zone: Zone | None = None) -> None:
        self.zone = zone or Zone()
        self.resolver = ZoneResolver(self.zone)
        self._servers: list[DNSServer] = []
        self.port = 0

    @property
    def address(self) -> tuple[str, int]:
        """``("127.0.0.1", port)``: what ``dns_servers=`` takes."""
        return ("127.0.0.1", self.port)

    @property
    def questions(self) -> list[tuple[str, str, str]]:
        """Every ``(name., type, "udp"|"tcp")`` asked so far."""
        return list(self.resolver.questions)

    def start(self) -> LocalDNS:
        """Bind UDP on a free port, then TCP on the same port (retrying if it is taken)."""
        for _ in range(20):
            udp = DNSServer(self.resolver, address="127.0.0.1", port=0, logger=_QuietLogger())
            port = udp.server.server_address[1]
            try:
                tcp = DNSServer(
                    self.resolver, address="127.0.0.1", port=port, tcp=True, logger=_QuietLogger()
                )
            except OSError:
                udp.server.server_close()
                continue
            self._servers = [udp, tcp]
            self.port = port
            for server in self._servers:
                thread = threading.Thread(
                    target=server.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
                )
                thread.start()
            return self
        raise RuntimeError("no free port for both UDP and TCP on 127.0.0.1")

    def stop(self) -> None:
        """Stop both servers and close their sockets."""
        for server in self._servers:
            server.stop()
            server.server.server_close()
        self._servers = []

    def __enter__(self) -> LocalDNS:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def silent_udp_port() -> Iterator[tuple[str, int]]:
    """A bound UDP socket on 127.0.0.1 that reads nothing and answers nothing."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()
    finally:
        sock.close()


def closed_port() -> tuple[str, int]:
    """A 127.0.0.1 port nothing listens on (UDP or TCP) at the time of the call."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()


@dataclass(frozen=True)
class DkimKey:
    """An RSA key pair for DKIM: PEM private key and the base64 DER public key."""

    private_pem: bytes
    public_b64: str

    @classmethod
    def generate(cls, bits: int = 2048) -> DkimKey:
        """A new RSA key (2048 bits unless told)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        public_der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(private_pem, base64.b64encode(public_der).decode("ascii"))

    @property
    def txt_record(self) -> str:
        """The ``v=DKIM1; k=rsa; p=...`` text to publish."""
        return f"v=DKIM1; k=rsa; p={self.public_b64}"

    def publish(self, zone: Zone, domain: str, selector: str = "sel") -> None:
        """Put the public key at ``<selector>._domainkey.<domain>``."""
        zone.txt(f"{selector}._domainkey.{domain}", self.txt_record)

    def sign(self, raw: bytes, domain: str, selector: str = "sel") -> bytes:
        """``raw`` with a DKIM-Signature header prepended (relaxed/relaxed, rsa-sha256)."""
        signature = dkim.sign(
            raw,
            selector.encode("ascii"),
            domain.encode("ascii"),
            self.private_pem,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
        )
        return signature + raw


def publish_example_com(zone: Zone, key: DkimKey) -> None:
    """example.com as the tests expect: SPF for 127.0.0.1, DKIM at ``sel``, DMARC reject."""
    zone.txt("example.com", "v=spf1 ip4:127.0.0.1 -all")
    zone.set("example.com", "MX", (10, "mx.example.com"))
    zone.set("mx.example.com", "A", "127.0.0.1")
    key.publish(zone, "example.com")
    zone.txt("_dmarc.example.com", "v=DMARC1; p=reject")


@pytest.fixture
def local_dns() -> Iterator[LocalDNS]:
    """A started local DNS server with an empty zone (stopped after the test)."""
    with LocalDNS() as server:
        yield server


@pytest.fixture(scope="session")
def dkim_key() -> DkimKey:
    """The tests' own DKIM key (RSA 2048), made once per session."""
    return DkimKey.generate()


@pytest.fixture(scope="session")
def other_dkim_key() -> DkimKey:
    """A second key, for signatures the published key must not verify."""
    return DkimKey.generate()


@pytest.fixture
def mail_zone(local_dns: LocalDNS, dkim_key: DkimKey) -> LocalDNS:
    """``local_dns`` publishing example.com (see :func:`publish_example_com`)."""
    publish_example_com(local_dns.zone, dkim_key)
    return local_dns
