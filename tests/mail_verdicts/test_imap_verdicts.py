"""The IMAP poller verifies without SPF (no SMTP session): DKIM and DMARC in ``verify`` mode,
the provider's ``Authentication-Results`` in ``header`` mode (a real pymap server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cpd.mail_ingest.imap_poller import ImapPoller, parse_imap_url
from cpd.mail_ingest.sender_auth import MailAuthConfig
from tests.mail_ingest.support_servers import PymapServer, pymap_available, wait_until
from tests.mail_ingest.test_imap_poller import Running
from tests.mail_verdicts.support import JANE, Desk, desk_for, mail, signed
from tests.support.dns_server import DkimKey, LocalDNS

pytestmark = pytest.mark.skipif(not pymap_available(), reason="pymap is not installed")


@pytest.fixture
def imap(tmp_path: Path) -> Iterator[PymapServer]:
    with PymapServer.running(tmp_path / "imap") as server:
        yield server


@pytest.fixture
def desk(sqlite_engine: Engine, tmp_path: Path, mail_zone: LocalDNS) -> Iterator[Desk]:
    yield from desk_for(sqlite_engine, tmp_path, mail_zone)


@pytest.mark.parametrize("mode", ["verify", "header"])
def test_imap_mail_is_verified_without_spf(
    desk: Desk, imap: PymapServer, mail_zone: LocalDNS, dkim_key: DkimKey, mode: str
) -> None:
    results = (
        "Authentication-Results: mx.provider.test; dkim=pass header.d=example.com; "
        "dmarc=pass header.from=example.com\r\n"
    )
    genuine = signed(dkim_key, mail("Course on hull surveys, 3 hours"))
    forged = mail("Course on nothing, 30 hours")  # unsigned: fails p=reject
    if mode == "header":
        genuine = results.encode() + genuine  # what the provider stamped on top
        forged = mail("Course on nothing, 30 hours", extra=results.replace("mx.", "evil."))
    imap.append(genuine, forged)
    auth = MailAuthConfig(
        mode=mode,  # type: ignore[arg-type]
        authserv_id="mx.provider.test",
        dns_servers=(mail_zone.address,),
    )
    poller = ImapPoller(
        desk.service, parse_imap_url(imap.url), backoff_initial=0.2, stop_check=0.2, auth=auth
    )
    running = Running(poller)
    try:
        wait_until(lambda: imap.count("Processed") == 2, what="both messages filed")
    finally:
        running.stop()
    claims = [(c[1], c[2], c[3]) for c in desk.claims()]
    if mode == "verify":  # the unsigned forgery fails DMARC: nothing filed
        assert claims == [(JANE, "pending", "pass")]
        assert len(desk.audit("mail.impersonation")) == 1
    else:  # another server's results on top: nothing is believed, the forgery is held
        assert claims == [(JANE, "pending", "pass"), (JANE, "unverified", "none")]
    reasons = desk.rows("SELECT verification_reasons FROM claim ORDER BY id")[0][0]
    assert ("spf=none (not checked" in str(reasons)) == (mode == "verify")
