"""Message-IDs of the mail the product sends about a claim, and finding the claim a reply answers.

Every mail about a claim gets a Message-ID minted here when it is queued: its local part is
``cpd-{claim_id}.{random}`` (128 random bits), stored in the outbox row's payload (the mail
sender writes it as ``<local@its domain>``) and recorded for the claim in its own table
(``claim_mail_id``, kept for the claim's life, unlike delivered outbox rows, which retention
purges; not in the claim's NLP result). A reply is matched by ``In-Reply-To`` and then
``References`` (read by the mail channel, ``cpd.mail_ingest.thread_refs``): the claim id in
the local part only says where to look, and the whole local part must be one the product
recorded for that claim. A reference the product never minted (a guessed or forged one, or one
of a claim's ids with another random part) matches nothing. The domain is not compared: it is
the sender's configured ``CPD_MAIL_FROM`` domain, which may change, and adds no secret.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

from cpd.claims.intake import MailThread
from cpd.storage import Session, claims_repo, mail_threads, models

MAX_IDS = 100
"""Message-IDs kept per claim (the newest); a claim gets a handful in its life."""
LOCAL_PATTERN = r"cpd-\d{1,10}\.[0-9a-f]{32}"
"""The shape of a local part :func:`mint` makes (the mail channel finds them in headers)."""
_LOCAL = re.compile(r"cpd-(\d{1,10})\.([0-9a-f]{32})")
MAX_CLAIM_ID = 2**31 - 1


def mint(session: Session, claim: models.Claim) -> str:
    """A new Message-ID local part for a mail about ``claim``, recorded for the claim (in the
    caller's transaction)."""
    claim_id = claims_repo.id_of(claim)
    local = f"cpd-{claim_id}.{secrets.token_hex(16)}"
    mail_threads.add_local_part(session, claim_id, local, MAX_IDS)
    return local


def remember_origin(session: Session, claim: models.Claim, thread: MailThread) -> None:
    """Record the member's mail a claim came from (its answers are threaded under it)."""
    mail_threads.set_origin(session, claims_repo.id_of(claim), thread.message_id, thread.references)


def origin(session: Session, claim: models.Claim) -> MailThread | None:
    """The member's mail a claim came from (Message-ID and References), if it came by mail."""
    found = mail_threads.origin(session, claims_repo.id_of(claim))
    return None if found is None else MailThread(message_id=found[0], references=found[1])


def is_local(value: str) -> bool:
    """Whether ``value`` has the shape of a local part :func:`mint` makes."""
    return _LOCAL.fullmatch(value) is not None


def replied_claim(session: Session, answers: Sequence[str]) -> models.Claim | None:
    """The claim whose mail this one answers (``answers``: the local parts of the product's
    Message-IDs it refers to, as the mail channel read them; see the module docstring), or
    None."""
    for local in answers:
        match = _LOCAL.fullmatch(local)
        if match is None or int(match.group(1)) > MAX_CLAIM_ID:
            continue
        claim_id = int(match.group(1))
        if mail_threads.is_local_part_of(session, claim_id, local):
            return claims_repo.get(session, claim_id)
    return None
