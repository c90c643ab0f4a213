"""The verifier process: real children, killed, stopped and orphaned for real.

Every mail is checked against the local dnslib server publishing example.com (SPF for
127.0.0.1, the tests' DKIM key, DMARC ``p=reject``), so a verdict from the child can be
compared with :func:`~cpd.mail_ingest.sender_auth.verify` in the test's own thread.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cpd.mail_ingest.identify import SenderTrace
from cpd.mail_ingest.sender_auth import MailAuthConfig, verify
from cpd.mail_ingest.verify_process import VerifierProcess
from tests.mail_verdicts.support import mail
from tests.support.dns_server import DkimKey, LocalDNS
from tests.support.processes import alive, children_of, wait_gone


def _trace(client_ip: str | None = "127.0.0.1") -> SenderTrace:
    return SenderTrace(client_ip=client_ip, helo="mx.example.com", mail_from="jane@example.com")


TRACE = _trace()


@pytest.fixture
def verifier(mail_zone: LocalDNS) -> Iterator[VerifierProcess]:
    process = VerifierProcess(MailAuthConfig(mode="verify", dns_servers=(mail_zone.address,)))
    try:
        yield process
    finally:
        process.close()


def _signed(key: DkimKey, text: str = "Course on hull surveys, 3 hours") -> bytes:
    return key.sign(mail(text), "example.com")


def _running(verifier: VerifierProcess) -> int:
    """The pid of the verifier's child, once it has answered a mail (it is ready)."""
    assert verifier.verify(mail(sender="nora@plain.example"), **TRACE).verdict == "none"
    pid = verifier.pid
    assert pid is not None and alive(pid)
    return pid


def test_the_child_gives_the_verdicts_verify_gives_in_process(
    verifier: VerifierProcess, mail_zone: LocalDNS, dkim_key: DkimKey, other_dkim_key: DkimKey
) -> None:
    cases = [
        (_signed(dkim_key), TRACE),  # pass: aligned DKIM and SPF
        (_signed(dkim_key).replace(b"3 hours", b"30 hours"), _trace("192.0.2.9")),
        (other_dkim_key.sign(mail(), "example.com"), _trace(None)),  # fail
        (mail(sender="nora@plain.example"), TRACE),  # none: no records
        (mail(sender="Jane <jane@example.com>, eve@attacker.net"), TRACE),  # refused From
    ]
    for raw, trace in cases:
        alone = verify(
            raw, mode="verify", authserv_id=None, dns_servers=[mail_zone.address], **trace
        )
        assert verifier.verify(raw, **trace) == alone
    assert [c.verdict for c in (verifier.verify(r, **t) for r, t in cases)] == [
        "pass",
        "fail",
        "fail",
        "none",
        "fail",
    ]
    assert verifier.restarts == 0 and verifier.in_thread == 0
    rss = verifier.rss_bytes()
    assert rss is not None and 5e6 < rss < 150e6


def test_a_killed_child_is_replaced_and_the_next_mail_still_passes(
    verifier: VerifierProcess, dkim_key: DkimKey
) -> None:
    first = _running(verifier)
    os.kill(first, signal.SIGKILL)
    wait_gone(first)
    result = verifier.verify(_signed(dkim_key), **TRACE)
    assert result.verdict == "pass"
    assert verifier.pid not in (None, first)
    assert verifier.restarts == 1 and verifier.in_thread == 0


def test_a_child_killed_with_the_mail_in_hand_is_replaced_and_the_mail_sent_again(
    verifier: VerifierProcess, dkim_key: DkimKey
) -> None:
    first = _running(verifier)
    os.kill(first, signal.SIGSTOP)  # it will hold the mail without answering
    answers: list[str] = []
    asking = threading.Thread(
        target=lambda: answers.append(verifier.verify(_signed(dkim_key), **TRACE).verdict)
    )
    asking.start()
    time.sleep(0.5)
    assert answers == []
    os.kill(first, signal.SIGKILL)
    asking.join(timeout=20)
    assert answers == ["pass"]
    assert verifier.restarts == 1 and verifier.in_thread == 0 and verifier.pid != first


def test_a_hung_child_gives_none_never_pass_and_is_replaced(
    mail_zone: LocalDNS, dkim_key: DkimKey
) -> None:
    auth = MailAuthConfig(mode="verify", dns_servers=(mail_zone.address,))
    verifier = VerifierProcess(auth, timeout=1.0)
    try:
        first = _running(verifier)
        os.kill(first, signal.SIGSTOP)
        started = time.monotonic()
        result = verifier.verify(_signed(dkim_key), **TRACE)
        assert time.monotonic() - started < 3
        assert result.verdict == "none" and result.domain == "example.com"
        assert result.reasons == ("verification did not finish within 1 s",)
        wait_gone(first)  # killed, not left stopped
        assert verifier.verify(_signed(dkim_key), **TRACE).verdict == "pass"
        assert verifier.restarts == 1 and verifier.pid != first
    finally:
        verifier.close()


def test_children_that_die_at_once_leave_the_mail_to_the_calling_thread(
    mail_zone: LocalDNS, dkim_key: DkimKey
) -> None:
    auth = MailAuthConfig(mode="verify", dns_servers=(mail_zone.address,))
    verifier = VerifierProcess(auth, executable="/bin/false")  # exits before reading a byte
    try:
        assert verifier.verify(_signed(dkim_key), **TRACE).verdict == "pass"
        assert verifier.in_thread == 1 and verifier.restarts == 2
        # for a minute no child is tried again: the next mail goes straight to the thread
        assert verifier.verify(_signed(dkim_key), **TRACE).verdict == "pass"
        assert verifier.in_thread == 2 and verifier.restarts == 2
    finally:
        verifier.close()


def test_closing_stops_the_child_and_later_mail_is_verified_in_the_thread(
    verifier: VerifierProcess, dkim_key: DkimKey
) -> None:
    pid = _running(verifier)
    verifier.close()
    assert not alive(pid) and verifier.pid is None
    assert verifier.verify(_signed(dkim_key), **TRACE).verdict == "pass"
    assert verifier.in_thread == 1 and verifier.pid is None  # no child started after close


PARENT = """
import socket, sys, threading, time
from cpd.mail_ingest.sender_auth import MailAuthConfig
from cpd.mail_ingest.verify_process import VerifierProcess
silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a DNS server that never answers
silent.bind(("127.0.0.1", 0))
auth = MailAuthConfig(mode="verify", dns_servers=(silent.getsockname(),), timeout=60, lifetime=60)
verifier = VerifierProcess(auth, timeout=120)
two_authors = b"From: a@example.com, b@example.com\\r\\n\\r\\nx\\r\\n"  # refused: no DNS asked
assert verifier.verify(two_authors, client_ip=None, helo=None, mail_from=None).verdict == "fail"
if sys.argv[1] == "busy":  # the child waits on DNS for a minute
    raw = b"From: jane@example.com\\r\\nSubject: x\\r\\n\\r\\nbody\\r\\n"
    threading.Thread(target=verifier.verify, args=(raw,), kwargs=dict(
        client_ip="127.0.0.1", helo="mx", mail_from="jane@example.com"), daemon=True).start()
    time.sleep(1.0)
print(verifier.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("state", ["idle", "busy"])
def test_a_sigkilled_parent_leaves_no_verifier_behind(tmp_path: Path, state: str) -> None:
    """Idle, the child reads end of input; busy (a minute of DNS to wait), it sees within a
    second or two that its parent is gone."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT, state], stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert children_of(parent.pid).keys() == {child}
        parent.kill()
        parent.wait(timeout=10)
        wait_gone(child, timeout=4)
    finally:
        if parent.poll() is None:
            parent.kill()


def test_an_error_while_the_mail_is_parsed_leaves_no_answer_for_the_next_mail(
    verifier: VerifierProcess, dkim_key: DkimKey
) -> None:
    signed = _signed(dkim_key)
    with pytest.raises(ValueError, match="unreadable"), verifier.request(signed, **TRACE):
        raise ValueError("unreadable")  # as parse_mail's MalformedMail would
    # the pass above was read and dropped: the next answer is this mail's own
    assert verifier.verify(mail(sender="nora@plain.example"), **TRACE).verdict == "none"
    assert verifier.verify(_signed(dkim_key), **TRACE).verdict == "pass"
