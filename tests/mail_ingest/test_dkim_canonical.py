"""The fast DKIM canonicalization gives dkimpy's bytes, and signatures verify as before."""

from __future__ import annotations

import dkim
from hypothesis import given, settings
from hypothesis import strategies as st

from cpd.mail_ingest import dkim_canonical
from tests.support.dns_server import DkimKey

# Bodies made of the bytes that matter to canonicalization, in any order.
PIECES = st.sampled_from([b" ", b"\t", b"\r\n", b"\n", b"\r", b"a", b"Zz", b"  ", b"=\r\n"])
BODIES = st.lists(PIECES, max_size=60).map(b"".join)
HEADER_LINES = st.lists(
    st.sampled_from([b"From: a@example.com", b"Subject: x", b"\tfolded", b" more", b"X-A:1"]),
    max_size=6,
)
LINE_ENDS = st.sampled_from([b"\r\n", b"\n"])


@settings(max_examples=400, deadline=None)
@given(BODIES)
def test_helpers_match_dkimpy_byte_for_byte(body: bytes) -> None:
    """Whatever the body, the fast helpers return what dkimpy's regexes return."""
    originals = dkim_canonical.originals()
    strip = originals["strip_trailing_whitespace"]
    compress = originals["compress_whitespace"]
    assert dkim_canonical.strip_trailing_whitespace(body) == strip(body)
    assert dkim_canonical.compress_whitespace(body) == compress(body)


@settings(max_examples=400, deadline=None)
@given(HEADER_LINES, st.lists(LINE_ENDS, min_size=8, max_size=8), BODIES, st.booleans())
def test_split_matches_dkimpy_parse(
    lines: list[bytes], ends: list[bytes], body: bytes, blank: bool
) -> None:
    """Headers and body are split as dkimpy's own parse splits them, any line ends."""
    raw = b"".join(line + ends[n % len(ends)] for n, line in enumerate(lines))
    if blank:
        raw += ends[-1] + body
    try:
        expected = dkim.rfc822_parse(raw)
    except (dkim.MessageFormatError, IndexError):  # IndexError: a folded first line
        return  # a header dkimpy refuses: it refuses it the same way from the header alone
    header, split_body = dkim_canonical.split_message(raw)
    assert split_body == expected[1]
    assert dkim.rfc822_parse(header)[0] == expected[0]


def test_a_mail_that_starts_with_a_blank_line_has_no_headers() -> None:
    """An empty first line ends the headers at once (as in dkimpy)."""
    assert dkim_canonical.split_message(b"\r\nbody\nline") == (b"", b"body\r\nline")
    assert dkim_canonical.split_message(b"\nbody") == (b"", b"body")
    assert dkim_canonical.split_message(b"A: b\r\n") == (b"A: b\r\n", b"")


def _mail(body: bytes) -> bytes:
    return (
        b"From: Jane <jane@example.com>\r\nTo: claims@example.com\r\nSubject: CPD\r\n"
        b"Message-ID: <x@example.com>\r\n\r\n" + body
    )


def _dns_for(key: DkimKey):  # type: ignore[no-untyped-def]
    def txt(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"sel._domainkey.example.com."
        return key.txt_record.encode("ascii")

    return txt


def _verifies(signer: dkim.DKIM, key: DkimKey) -> bool:
    try:
        return bool(signer.verify(dnsfunc=_dns_for(key)))
    except dkim.ValidationError:  # e.g. the body hash does not match
        return False


BODY_CASES = [
    b"Course, 3 hours  \r\n\twith tabs\t \r\nand  double  spaces\r\n\r\n\r\n",
    b"plain base64-like\r\nQUJDREVGR0g=\r\n",
    b"bare LF line ends \nmixed\r\n  \n",
    b"",
]


def test_signatures_verify_and_tampering_fails_with_the_fast_path() -> None:
    """Relaxed and simple signatures, over bodies that do and do not need changes, verify
    through :func:`verifier`; a changed body fails it, as with dkimpy's own parse."""
    key = DkimKey.generate(1024)
    for body in BODY_CASES:
        for canon in (b"relaxed/relaxed", b"simple/simple", b"relaxed/simple"):
            raw = _mail(body)
            signature = dkim.sign(
                raw,
                b"sel",
                b"example.com",
                key.private_pem,
                canonicalize=tuple(canon.split(b"/")),  # type: ignore[arg-type]
                include_headers=[b"from", b"to", b"subject"],
            )
            signed = signature + raw
            assert _verifies(dkim_canonical.verifier(signed, minkey=1024), key), (body, canon)
            assert _verifies(dkim.DKIM(signed, minkey=1024), key)
            tampered = signed + b"one more line\r\n"
            assert not _verifies(dkim_canonical.verifier(tampered, minkey=1024), key)
            assert not _verifies(dkim.DKIM(tampered, minkey=1024), key)
