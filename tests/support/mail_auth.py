"""Sender verification switched off, for tests of today's intake (CPD_MAIL_AUTH=off).

Those tests send from 127.0.0.1 as ``jane@example.com`` with no DNS: verified, they would be
held as ``none``. Each one that wants the old behaviour says so with :data:`AUTH_OFF` (or
the ``CPD_MAIL_AUTH=off`` it stands for in a ``cpd run`` environment).
"""

from cpd.mail_ingest.sender_auth import MailAuthConfig

AUTH_OFF = MailAuthConfig(mode="off")
"""Believe ``From:`` (the contract's ``off``: tests and development only)."""

AUTH_OFF_ENV = {"CPD_MAIL_AUTH": "off"}
"""The same for a ``cpd run`` subprocess."""

MANY_CLAIMS_ENV = {"CPD_MAIL_CLAIMS_PER_HOUR": "100000"}
"""For runs where one member sends more than the default 20 claims by mail an hour on purpose
(load and fault tests): the cap against loops would otherwise stop them, as it should."""
