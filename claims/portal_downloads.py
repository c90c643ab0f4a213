"""The member's downloads: the PDF and CSV record (the content ``cpd export`` and the bot's
/export give) and the evidence zip (:mod:`cpd.claims.evidence_zip`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cpd.claims import evidence_zip as evidence_zip_file
from cpd.claims.intake import ClaimError
from cpd.claims.workflows import Workflows
from cpd.storage import reading
from cpd.storage.queries import member_by_number

if TYPE_CHECKING:
    from cpd.claims.service import ClaimsService
    from cpd.claims.web_access import WebUser

FORMATS = ("pdf", "csv")
PERIODS = ("current", "all")


def record(service: ClaimsService, user: WebUser, fmt: str, period: str = "current") -> bytes:
    """The signed-in member's own record as PDF or CSV bytes (ClaimError for an unknown
    format or period)."""
    if fmt not in FORMATS:
        raise ClaimError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if period not in PERIODS:
        raise ClaimError(f"period: {period!r} is not one of {', '.join(PERIODS)}")
    return Workflows(service).export(user.sender, fmt, period)


def evidence_zip(service: ClaimsService, user: WebUser, directory: Path | None = None) -> Path:
    """A zip of the signed-in member's own evidence files, written to a new temporary file
    (the caller deletes it once sent). Files are copied in chunks, never read whole."""
    with reading(service.engine) as session:
        member = member_by_number(session, user.membership_no)
    if member is None:
        raise ClaimError("I don't know you yet.")
    return evidence_zip_file.write(service.engine, member, directory)
