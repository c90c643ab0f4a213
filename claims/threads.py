"""Message-IDs of the mail the product sends about a claim, and finding the claim a reply answers.

Every mail about a claim gets a Message-ID minted here when it is queued: its local part is
``cpd-{claim_id}.{random}`` (128 random bits), stored in the outbox row's payload (the mail
sender writes it as ``<local@its domain>``) and recorded on the claim itself
(``extracted["mail_ids"]``, kept for the claim's life, unlike delivered outbox rows, which
retention purges). A reply is matched by ``In-Reply-To`` and then ``References`` (read by
the mail channel, ``cpd.mail_ingest.thread_refs``): the claim id
in the local part only says where to look, and the whole local part must be one the product
recorded for that claim. A reference the product never minted (a guessed or forged one, or one
of a claim's ids with another random part) matches nothing. The domain is not compared: it is
the sender's configured ``CPD_MAIL_FROM`` domain, which may change, and adds no secret.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any

from cpd.storage import Session, claims_repo, models

MAIL_IDS = "mail_ids"
"""The key in ``Claim.extracted`` that holds the claim's outbound Message-ID local parts."""
MAX_IDS = 100
"""Message-IDs kept per claim (the newest); a claim gets a handful in its life."""
LOCAL_PATTERN = r"cpd-\d{1,10}\.[0-9a-f]{32}"
"""The shape of a local part :func:`mint` makes (the mail channel finds them in headers)."""
_LOCAL = re.compile(r"cpd-(\d{1,10})\.([0-9a-f]{32})")
MAX_CLAIM_ID = 2**31 - 1


def mint(claim: models.Claim) -> str:
    """A new Message-ID local part for a mail about ``claim``, recorded on the claim (in the
    caller's transaction)."""
    local = f"cpd-{claim.id}.{secrets.token_hex(16)}"
    extracted = dict(claim.extracted or {})
    extracted[MAIL_IDS] = [*extracted.get(MAIL_IDS, []), local][-MAX_IDS:]
    claim.extracted = extracted
    return local


def keep_ids(previous: dict[str, Any] | None) -> dict[str, Any]:
    """The thread ids of ``previous`` extracted data, to carry over when it is rewritten."""
    ids = (previous or {}).get(MAIL_IDS)
    return {MAIL_IDS: list(ids)} if ids else {}


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
        claim = claims_repo.get(session, int(match.group(1)))
        if claim is not None and local in (claim.extracted or {}).get(MAIL_IDS, []):
            return claim
    return None
